// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Test} from "forge-std/Test.sol";
import {ComputeLedger} from "../ComputeLedger.sol";
import {ComputeLedgerValidatorModule} from "../ledger/LedgerValidators.sol";
import {ComputeLedgerDisputeModule} from "../ledger/LedgerDisputes.sol";
import {ModelRegistry} from "../ModelRegistry.sol";
import {ModelToken} from "../ModelToken.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {IModelToken} from "../interfaces/IModelToken.sol";
import {IComputeLedgerTypes} from "../interfaces/IComputeLedgerTypes.sol";
import {CommonBase} from "forge-std/Base.sol";
import {StdCheats} from "forge-std/StdCheats.sol";
import {StdUtils} from "forge-std/StdUtils.sol";

/// @dev Shared by both handlers: signing, leaves and the books of the ledger's ETH.
abstract contract HandlerBase is CommonBase, StdCheats, StdUtils, IComputeLedgerTypes {
    bytes32 internal constant COMMITMENT_TYPEHASH = keccak256(
        "Commitment(uint64 modelId,uint64 round,uint16 stage,address worker,bytes32 itemsRoot,uint32 itemCount,bytes32 weightsRootBefore,bytes32 weightsRootAfter)"
    );
    address internal constant DEAD = address(0xdEaD);

    ComputeLedger public immutable ledger;
    ModelRegistry public immutable registry;
    mapping(bytes4 => uint256) public calls;

    constructor(ComputeLedger ledger_, ModelRegistry registry_) {
        ledger = ledger_;
        registry = registry_;
    }

    function actors() public view virtual returns (address[] memory);

    function _leafHash(ItemLeaf memory l) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(l))));
    }

    function _pair(bytes32 a, bytes32 b) internal pure returns (bytes32) {
        return a < b ? keccak256(abi.encode(a, b)) : keccak256(abi.encode(b, a));
    }

    function _before(uint64 m, uint64 r, uint16 stage) internal view returns (bytes32) {
        return r == 0 ? registry.initialWeightsRoot(m, stage) : keccak256(abi.encode(r));
    }

    /// @dev Handlers' pipelines: a worker's leaves name itself as its neighbour on every inner link
    /// (allowed: one operator may run adjacent stages), zero at the pipeline's ends.
    function _link(ItemLeaf memory leaf, uint16 stage, address worker, bool last) internal pure returns (ItemLeaf memory) {
        leaf.upstream = stage == 0 ? address(0) : worker;
        leaf.downstream = last ? address(0) : worker;
        return leaf;
    }

    function _isLast(uint64 m, uint16 stage) internal view returns (bool) {
        return uint256(stage) + 1 == registry.model(m).stageCount;
    }

    function _round(uint64 m) internal view returns (uint64) {
        uint256 g = registry.model(m).genesisTime;
        if (block.timestamp < g) return 0;
        return uint64((block.timestamp - g) / registry.model(m).timing.commitWindowSec);
    }

    function _sign(uint256 key, Commitment memory c) internal view returns (bytes memory) {
        bytes32 structHash = keccak256(abi.encode(COMMITMENT_TYPEHASH, c));
        bytes32 digest = keccak256(abi.encodePacked(hex"1901", ledger.domainSeparator(), structHash));
        (uint8 v, bytes32 rr, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(rr, s, v);
    }

    function _submit(Commitment memory c, bytes memory sig) internal returns (bool ok) {
        Commitment[] memory cs = new Commitment[](1);
        bytes[] memory sigs = new bytes[](1);
        cs[0] = c;
        sigs[0] = sig;
        try ledger.submitCommitments(cs, sigs) {
            ok = true;
        } catch {}
    }

    /// @notice ETH the ledger owes: every actor's stake and credits, plus the bonds of open
    /// disputes (challenge and appeals) and open availability challenges.
    function owedWei() external view returns (uint256 owed) {
        address[] memory all = actors();
        for (uint256 i; i < all.length; ++i) {
            owed += ledger.staker(all[i]).stakeWei + ledger.paymentsOf(all[i]);
        }
        uint256 n = ledger.disputeCount();
        for (uint256 id = 1; id <= n; ++id) {
            Dispute memory d = ledger.dispute(id);
            if (d.status != DisputeStatus.Open) continue;
            owed += d.bondWei;
            for (uint8 l = 1; l <= d.level; ++l) owed += ledger.appealOf(id, l).bondWei;
        }
        n = ledger.availabilityChallengeCount();
        for (uint256 id = 1; id <= n; ++id) {
            AvailabilityChallenge memory a = ledger.availabilityChallenge(id);
            if (a.status == 1) owed += a.bondWei;
        }
    }
}

/// @dev Drives random valid-looking actions (stakes, commitments, challenges, draws, votes, appeals,
/// resolutions, availability challenges, finalizations, mints, attestations, time) across two models
/// and keeps ghost books for the invariants. Not a `Test` (the runner never targets test contracts).
contract LedgerHandler is HandlerBase {
    uint64[] public models;
    address[] public workers;
    uint256[] internal _keys;
    address[] public validators;

    struct Committed {
        uint64 modelId;
        uint64 round;
        uint16 stage;
        uint256 worker;
        bool forged;
        uint32 itemCount;
        uint64 units;
    }

    Committed[] internal _committed;

    // ghost books
    mapping(uint64 modelId => uint256) public ghostMinted;
    mapping(bytes32 key => uint256) public ghostMintCount;
    mapping(bytes32 key => bool) public ghostSlashed;
    uint256 public ghostDoubleRewards;
    uint256 public ghostMintsBeforeFinalization;
    uint256 public ghostSlashedRewards;
    uint256 public ghostSlashes;

    constructor(ComputeLedger ledger_, ModelRegistry registry_, uint64[] memory models_) HandlerBase(ledger_, registry_) {
        models = models_;
        for (uint256 i; i < 4; ++i) {
            address w = makeAddr(string.concat("h-worker", vm.toString(i)));
            uint256 key = uint256(keccak256(abi.encode("h-key", i)));
            workers.push(w);
            _keys.push(key);
            vm.deal(w, 100 ether);
            vm.prank(w);
            ledger.stake{value: 2 ether}(makeAddr(string.concat("h-payout", vm.toString(i))), vm.addr(key));
        }
        for (uint256 i; i < 5; ++i) {
            address v = makeAddr(string.concat("h-validator", vm.toString(i)));
            validators.push(v);
            vm.deal(v, 100 ether);
            vm.startPrank(v);
            ledger.stake{value: 1 ether}(v, v);
            ledger.setValidator(models_[0], 0, true);
            vm.stopPrank();
        }
    }

    // ---------------------------------------------------------------- helpers

    function actors() public view override returns (address[] memory all) {
        all = new address[](workers.length + validators.length);
        for (uint256 i; i < workers.length; ++i) all[i] = workers[i];
        for (uint256 i; i < validators.length; ++i) all[workers.length + i] = validators[i];
    }

    function _key(uint64 m, uint64 r, address w) internal pure returns (bytes32) {
        return keccak256(abi.encode(m, r, w));
    }

    /// @dev Leaf `index` (slot = microbatch) of `worker`'s commitment of (m, r, stage); `last`: the model's last stage.
    function _leaf(uint64 m, uint64 r, uint16 stage, uint32 index, bool forged, address worker, bool last)
        internal
        pure
        returns (ItemLeaf memory l)
    {
        l.index = index;
        l.microbatch = index;
        l.inputActHash = keccak256(abi.encode("act", m, r, stage, index));
        l.outputActHash = forged ? keccak256("forged") : keccak256(abi.encode("act", m, r, stage + 1, index));
        l.upstreamGradHash = keccak256(abi.encode("grad", m, r, stage + 1, index));
        l.inputGradHash = keccak256(abi.encode("grad", m, r, stage, index));
        l.gradRoot = keccak256(abi.encode("g", m, r, stage, index));
        l = _link(l, stage, worker, last);
    }

    /// @dev Two leaves: index 0 honest, index 1 forged or honest (a commitment claiming more
    /// items than that has nothing behind indices >= 2: availability challenges catch it).
    function _root(uint64 m, uint64 r, uint16 stage, bool forged, address worker) internal view returns (bytes32) {
        bool last = _isLast(m, stage);
        return _pair(
            _leafHash(_leaf(m, r, stage, 0, false, worker, last)), _leafHash(_leaf(m, r, stage, 1, forged, worker, last))
        );
    }

    /// @dev Leaf `index` (0 or 1) of a committed two-leaf tree, with its proof.
    function _item(Committed memory k, uint32 index) internal view returns (CommittedItem memory item) {
        bool last = _isLast(k.modelId, k.stage);
        ItemLeaf memory l0 = _leaf(k.modelId, k.round, k.stage, 0, false, workers[k.worker], last);
        ItemLeaf memory l1 = _leaf(k.modelId, k.round, k.stage, 1, k.forged, workers[k.worker], last);
        bytes32[] memory proof = new bytes32[](1);
        proof[0] = index == 0 ? _leafHash(l1) : _leafHash(l0);
        item = CommittedItem({
            modelId: k.modelId,
            round: k.round,
            stage: k.stage,
            worker: workers[k.worker],
            itemsRoot: _pair(_leafHash(l0), _leafHash(l1)),
            weightsRootBefore: _before(k.modelId, k.round, k.stage),
            weightsRootAfter: keccak256(abi.encode(k.round + 1)),
            leaf: index == 0 ? l0 : l1,
            proof: proof
        });
    }

    function _dispute(uint256 seed) internal view returns (uint256 id) {
        uint256 n = ledger.disputeCount();
        if (n != 0) id = seed % n + 1;
    }

    function _burnSince(uint256 deadBefore) internal view returns (uint256) {
        return DEAD.balance - deadBefore;
    }

    // ---------------------------------------------------------------- actions

    function warp(uint256 secs) external {
        calls[this.warp.selector]++;
        vm.warp(block.timestamp + bound(secs, 1, 120));
        vm.roll(block.number + 1);
    }

    function commit(uint256 modelSeed, uint256 workerSeed, uint256 stageSeed, uint256 itemSeed, bool forged) external {
        calls[this.commit.selector]++;
        uint64 m = models[modelSeed % models.length];
        uint256 w = workerSeed % workers.length;
        uint16 stage = uint16(stageSeed % registry.model(m).stageCount);
        uint64 r = _round(m);
        if (ledger.commitmentOf(m, r, stage, workers[w]).found) return; // an exact copy is skipped, not counted
        Commitment memory c = Commitment({
            modelId: m,
            round: r,
            stage: stage,
            worker: workers[w],
            itemsRoot: _root(m, r, stage, forged, workers[w]),
            itemCount: uint32(bound(itemSeed, 1, registry.model(m).microbatchesPerRound)),
            weightsRootBefore: _before(m, r, stage),
            weightsRootAfter: keccak256(abi.encode(r + 1))
        });
        if (_submit(c, _sign(_keys[w], c))) {
            uint64 units = uint64(uint256(c.itemCount) * uint256(registry.unitsPerMicrobatch(m, stage)));
            _committed.push(Committed(m, r, stage, w, forged, c.itemCount, units));
        }
    }

    /// @dev Moves `v` to validate (m, stage) when it holds another stage (a validator holds one at a
    /// time), so the fuzzer also moves validators in and out of stages with open panels.
    function _seat(address v, uint64 m, uint16 stage) internal {
        (uint64 seatModel, uint16 seatStage,) = ledger.validatorStage(v);
        bool validator = ledger.staker(v).validator;
        if (validator && seatModel == m && seatStage == stage) return;
        vm.startPrank(v);
        if (validator) ledger.setValidator(seatModel, seatStage, false);
        try ledger.setValidator(m, stage, true) {} catch {}
        vm.stopPrank();
    }

    /// @dev A validator moves to another stage of a model (out of the one it holds, into the new one).
    function moveValidator(uint256 validatorSeed, uint256 modelSeed, uint256 stageSeed) external {
        calls[this.moveValidator.selector]++;
        uint64 m = models[modelSeed % models.length];
        _seat(validators[validatorSeed % validators.length], m, uint16(stageSeed % registry.model(m).stageCount));
    }

    function challenge(uint256 seed, uint256 validatorSeed, bool honestLeaf) external {
        calls[this.challenge.selector]++;
        if (_committed.length == 0) return;
        Committed memory k = _committed[seed % _committed.length];
        address v = validators[validatorSeed % validators.length];
        _seat(v, k.modelId, k.stage);
        uint256 bond = ledger.challengeBondWei(k.modelId);
        CommittedItem memory item = _item(k, honestLeaf ? 0 : 1); // reads the registry: before the prank
        vm.prank(v);
        try ledger.challengeItem{value: bond}(item) {} catch {}
    }

    function draw(uint256 disputeSeed, uint256 blocks) external {
        calls[this.draw.selector]++;
        uint256 id = _dispute(disputeSeed);
        if (id == 0) return;
        // mostly the next block, sometimes past the 256-block horizon (deferred draw)
        vm.roll(block.number + (blocks % 8 == 0 ? 257 : 1));
        try ledger.drawCommittee(id) {} catch {}
    }

    function vote(uint256 disputeSeed, uint256 memberSeed, bool fraud) external {
        calls[this.vote.selector]++;
        uint256 id = _dispute(disputeSeed);
        if (id == 0) return;
        PanelSeat[] memory p = ledger.panel(id, ledger.dispute(id).level);
        if (p.length == 0) return;
        vm.prank(p[memberSeed % p.length].member);
        try ledger.vote(id, fraud) {} catch {}
    }

    function appeal(uint256 disputeSeed, uint256 payerSeed, bool fraud) external {
        calls[this.appeal.selector]++;
        uint256 id = _dispute(disputeSeed);
        if (id == 0) return;
        address payer = validators[payerSeed % validators.length];
        uint256 bond = ledger.appealBondWei(id);
        vm.prank(payer);
        try ledger.appeal{value: bond}(id, fraud) {} catch {}
    }

    function resolve(uint256 disputeSeed) external {
        calls[this.resolve.selector]++;
        uint256 id = _dispute(disputeSeed);
        if (id == 0) return;
        try ledger.resolveDispute(id) {
            Dispute memory d = ledger.dispute(id);
            if (d.status == DisputeStatus.Fraud) {
                ghostSlashed[_key(d.modelId, d.round, d.accused)] = true;
                ghostSlashes++;
            }
        } catch {}
    }

    function challengeAvailability(uint256 seed, uint256 validatorSeed, uint256 indexSeed) external {
        calls[this.challengeAvailability.selector]++;
        if (_committed.length == 0) return;
        Committed memory k = _committed[seed % _committed.length];
        address v = validators[validatorSeed % validators.length];
        _seat(v, k.modelId, k.stage);
        uint256 bond = ledger.availabilityBondWei(k.modelId);
        vm.prank(v);
        try ledger.challengeAvailability{value: bond}(
            k.modelId, k.round, k.stage, workers[k.worker], uint32(indexSeed % k.itemCount)
        ) {} catch {}
    }

    /// @dev The worker answers if it can (it only has leaves 0 and 1).
    function reveal(uint256 seed) external {
        calls[this.reveal.selector]++;
        uint256 n = ledger.availabilityChallengeCount();
        if (n == 0) return;
        uint256 id = seed % n + 1;
        AvailabilityChallenge memory a = ledger.availabilityChallenge(id);
        if (a.index > 1) return;
        for (uint256 i; i < _committed.length; ++i) {
            Committed memory k = _committed[i];
            if (k.modelId == a.modelId && k.round == a.round && k.stage == a.stage && workers[k.worker] == a.worker) {
                try ledger.revealItem(id, _item(k, a.index)) {} catch {}
                return;
            }
        }
    }

    function slashUnavailable(uint256 seed) external {
        calls[this.slashUnavailable.selector]++;
        uint256 n = ledger.availabilityChallengeCount();
        if (n == 0) return;
        uint256 id = seed % n + 1;
        try ledger.slashUnavailable(id) {
            AvailabilityChallenge memory a = ledger.availabilityChallenge(id);
            ghostSlashed[_key(a.modelId, a.round, a.worker)] = true;
            ghostSlashes++;
        } catch {}
    }

    /// @dev Half the time a round somebody committed to, otherwise any round up to the current one.
    function finalize(uint256 seed, uint256 roundSeed) external {
        calls[this.finalize.selector]++;
        uint64 m;
        uint64 r;
        if (_committed.length != 0 && seed % 2 == 0) {
            Committed memory k = _committed[seed % _committed.length];
            (m, r) = (k.modelId, k.round);
        } else {
            m = models[seed % models.length];
            r = uint64(roundSeed % (uint256(_round(m)) + 1));
        }
        try ledger.finalizeRound(m, r) {} catch {}
    }

    function mint(uint256 seed, uint256 workerSeed) external {
        calls[this.mint.selector]++;
        if (_committed.length == 0) return;
        Committed memory k = _committed[seed % _committed.length];
        address w = workers[workerSeed % 2 == 0 ? k.worker : workerSeed % workers.length];
        bool finalized = ledger.roundState(k.modelId, k.round).finalized;
        try ledger.mintReward(k.modelId, k.round, w) returns (uint256 wt, uint256 dt) {
            if (!finalized) ghostMintsBeforeFinalization++;
            bytes32 key = _key(k.modelId, k.round, w);
            if (ghostMintCount[key]++ != 0) ghostDoubleRewards++;
            if (ghostSlashed[key]) ghostSlashedRewards++;
            ghostMinted[k.modelId] += wt + dt;
        } catch {}
    }

    /// @dev A validator seals the round's seed (two blocks) and attests its first draw in a
    /// commitment (honest or forged leaf: lazy validators exist), if the draw hits leaf 0 or 1.
    function attest(uint256 seed, uint256 validatorSeed) external {
        calls[this.attest.selector]++;
        if (_committed.length == 0) return;
        Committed memory k = _committed[seed % _committed.length];
        address v = validators[validatorSeed % validators.length];
        _seat(v, k.modelId, k.stage);
        try ledger.sealRoundSeed(k.modelId, k.round) returns (bytes32 sealedSeed) {
            if (sealedSeed == bytes32(0)) {
                vm.roll(block.number + 1);
                ledger.sealRoundSeed(k.modelId, k.round);
            }
        } catch {
            return;
        }
        uint32 index = ledger.sampledIndex(k.modelId, k.round, v, workers[k.worker], k.stage, 0);
        if (index > 1) return;
        CommittedItem[] memory items = new CommittedItem[](1);
        items[0] = _item(k, index);
        vm.prank(v);
        try ledger.attestItems(items, new uint32[](1)) {} catch {}
    }

    function mintValidator(uint256 seed, uint256 validatorSeed) external {
        calls[this.mintValidator.selector]++;
        if (_committed.length == 0) return;
        Committed memory k = _committed[seed % _committed.length];
        address v = validators[validatorSeed % validators.length];
        bool finalized = ledger.roundState(k.modelId, k.round).finalized;
        try ledger.mintValidatorReward(k.modelId, k.round, v) returns (uint256 tokens) {
            if (!finalized) ghostMintsBeforeFinalization++;
            bytes32 key = keccak256(abi.encode("validator", k.modelId, k.round, v));
            if (ghostMintCount[key]++ != 0) ghostDoubleRewards++;
            ghostMinted[k.modelId] += tokens;
        } catch {}
    }

    function slashAttester(uint256 disputeSeed, uint256 validatorSeed) external {
        calls[this.slashAttester.selector]++;
        uint256 id = _dispute(disputeSeed);
        if (id == 0) return;
        vm.prank(validators[(validatorSeed + 1) % validators.length]);
        try ledger.slashFalseAttestation(id, validators[validatorSeed % validators.length]) {} catch {}
    }

    function unbondAndRestake(uint256 workerSeed, uint256 stepSeed) external {
        calls[this.unbondAndRestake.selector]++;
        uint256 i = workerSeed % workers.length;
        address w = workers[i];
        vm.startPrank(w);
        if (stepSeed % 3 == 0) {
            try ledger.requestUnbond() {} catch {}
        } else if (stepSeed % 3 == 1) {
            vm.warp(block.timestamp + ledger.UNBONDING_DELAY_SEC());
            try ledger.withdrawStake() {} catch {}
        } else {
            address payout = ledger.staker(w).payout == address(0) ? w : ledger.staker(w).payout;
            try ledger.stake{value: 1 ether}(payout, vm.addr(_keys[i])) {} catch {}
        }
        vm.stopPrank();
    }

    function withdrawPayments(uint256 seed) external {
        calls[this.withdrawPayments.selector]++;
        address[] memory all = actors();
        vm.prank(all[seed % all.length]);
        try ledger.withdrawPayments() {} catch {}
    }

    // ---------------------------------------------------------------- views for the invariants

    function committedCount() external view returns (uint256) {
        return _committed.length;
    }

    /// @notice For every (model, round) with a commitment and no slashed commitment: its
    /// `totalUnits` equals the units of the commitments accepted in it (each counted once).
    function unitsMismatch() external view returns (bool mismatch, uint64 m, uint64 r) {
        for (uint256 i; i < _committed.length; ++i) {
            (m, r) = (_committed[i].modelId, _committed[i].round);
            uint256 expected;
            bool anySlashed;
            for (uint256 j; j < _committed.length; ++j) {
                Committed memory k = _committed[j];
                if (k.modelId != m || k.round != r) continue;
                CommitmentRecord memory rec = ledger.commitmentOf(m, r, k.stage, workers[k.worker]);
                if (!rec.found || rec.slashed) anySlashed = true;
                expected += k.units;
            }
            if (!anySlashed && ledger.roundState(m, r).totalUnits != expected) return (true, m, r);
        }
    }
}

/// @dev The adversary of issue 11. Honest workers commit honest 4-leaf trees every round. A
/// coalition holding 20% of the validator stake challenges their leaves, demands their leaves'
/// availability, always votes fraud when seated, and escalates honest verdicts by appeal. Honest
/// validators vote honestly, but each misses a level's vote with probability 1/5. Honest parties
/// are online: before any time passes (`warp`, at most 20 s, less than an appeal window) they
/// draw undrawn committees, cast their votes, appeal wrong verdicts, answer availability demands
/// and resolve what is resolvable. Everything else (draw, vote, appeal, resolve by anyone) also
/// happens in random order through the other actions.
contract AdversarialHandler is HandlerBase {
    uint64 public immutable modelId;
    uint256 public constant HONEST_VALIDATORS = 8;
    uint256 public constant COALITION = 2;
    uint256 public constant STAKE = 2 ether;

    address[] public workers;
    uint256[] internal _keys;
    address[] public honestValidators;
    address[] public coalition;
    uint256 public coalitionStartWei;

    struct Committed {
        uint64 round;
        uint16 stage;
        uint256 worker;
    }

    Committed[] internal _committed;
    uint256 public ghostFramingAttempts;
    uint256 public ghostCaptures; // levels whose tentative verdict was fraud against an honest worker
    uint256 public ghostHonestAppeals;
    uint256 public ghostCoalitionAppeals;
    uint256 public ghostResolved;
    uint256 public ghostReveals;
    uint256 public ghostMaxLevel;
    /// honest duties that reverted (an honest party that cannot answer, draw, vote or appeal in time)
    uint256 public ghostDutyFailures;

    constructor(ComputeLedger ledger_, ModelRegistry registry_, uint64 modelId_) HandlerBase(ledger_, registry_) {
        modelId = modelId_;
        for (uint256 i; i < 3; ++i) {
            address w = makeAddr(string.concat("a-worker", vm.toString(i)));
            uint256 key = uint256(keccak256(abi.encode("a-key", i)));
            workers.push(w);
            _keys.push(key);
            vm.deal(w, 1000 ether); // pays appeal bonds; only its stake is watched
            vm.prank(w);
            ledger.stake{value: STAKE}(w, vm.addr(key));
        }
        for (uint256 i; i < HONEST_VALIDATORS; ++i) {
            address v = makeAddr(string.concat("a-honest", vm.toString(i)));
            honestValidators.push(v);
            vm.deal(v, 100 ether);
            vm.startPrank(v);
            ledger.stake{value: STAKE}(v, v);
            ledger.setValidator(modelId_, uint16(i % 2), true); // validators hold one stage: half each
            vm.stopPrank();
        }
        for (uint256 i; i < COALITION; ++i) {
            address v = makeAddr(string.concat("a-coalition", vm.toString(i)));
            coalition.push(v);
            vm.deal(v, 100 ether);
            vm.startPrank(v);
            ledger.stake{value: STAKE}(v, v);
            ledger.setValidator(modelId_, uint16(i % 2), true);
            vm.stopPrank();
        }
        coalitionStartWei = coalitionWei();
    }

    // ---------------------------------------------------------------- views

    function actors() public view override returns (address[] memory all) {
        all = new address[](workers.length + honestValidators.length + coalition.length);
        uint256 k;
        for (uint256 i; i < workers.length; ++i) all[k++] = workers[i];
        for (uint256 i; i < honestValidators.length; ++i) all[k++] = honestValidators[i];
        for (uint256 i; i < coalition.length; ++i) all[k++] = coalition[i];
    }

    /// @notice Everything the coalition owns: wallets, stakes and credits at the ledger.
    function coalitionWei() public view returns (uint256 total) {
        for (uint256 i; i < coalition.length; ++i) {
            address c = coalition[i];
            total += c.balance + ledger.staker(c).stakeWei + ledger.paymentsOf(c);
        }
    }

    function workerCount() external view returns (uint256) {
        return workers.length;
    }

    function committedCount() external view returns (uint256) {
        return _committed.length;
    }

    function committedAt(uint256 i) external view returns (uint64 round, uint16 stage, address worker) {
        Committed memory k = _committed[i];
        return (k.round, k.stage, workers[k.worker]);
    }

    function _isCoalition(address a) internal view returns (bool) {
        for (uint256 i; i < coalition.length; ++i) {
            if (coalition[i] == a) return true;
        }
        return false;
    }

    /// @dev An honest member misses the vote of a level with probability 1/5.
    function _present(uint256 id, uint8 level, address member) internal pure returns (bool) {
        return uint256(keccak256(abi.encode("present", id, level, member))) % 5 != 0;
    }

    // ---------------------------------------------------------------- honest leaves

    /// @dev Leaf `index` (slot = microbatch) of `worker`'s commitment of (r, stage); `last`: the model's last stage.
    function _leaf(uint64 r, uint16 stage, uint32 index, address worker, bool last) internal pure returns (ItemLeaf memory l) {
        l.index = index;
        l.microbatch = index;
        l.inputActHash = keccak256(abi.encode("act", r, stage, index));
        l.outputActHash = keccak256(abi.encode("act", r, stage + 1, index));
        l.upstreamGradHash = keccak256(abi.encode("grad", r, stage + 1, index));
        l.inputGradHash = keccak256(abi.encode("grad", r, stage, index));
        l.gradRoot = keccak256(abi.encode("g", r, stage, index));
        l = _link(l, stage, worker, last);
    }

    function _item(uint64 r, uint16 stage, uint256 w, uint32 index) internal view returns (CommittedItem memory item) {
        bytes32[4] memory h;
        bool last = _isLast(modelId, stage);
        for (uint32 i; i < 4; ++i) h[i] = _leafHash(_leaf(r, stage, i, workers[w], last));
        bytes32[] memory proof = new bytes32[](2);
        proof[0] = h[index ^ 1];
        proof[1] = index < 2 ? _pair(h[2], h[3]) : _pair(h[0], h[1]);
        item = CommittedItem({
            modelId: modelId,
            round: r,
            stage: stage,
            worker: workers[w],
            itemsRoot: _pair(_pair(h[0], h[1]), _pair(h[2], h[3])),
            weightsRootBefore: _before(modelId, r, stage),
            weightsRootAfter: keccak256(abi.encode(r + 1)),
            leaf: _leaf(r, stage, index, workers[w], last),
            proof: proof
        });
    }

    // ---------------------------------------------------------------- honest workers

    function commit(uint256 workerSeed, uint256 stageSeed) external {
        calls[this.commit.selector]++;
        uint256 w = workerSeed % workers.length;
        uint16 stage = uint16(stageSeed % 2);
        uint64 r = _round(modelId);
        if (ledger.commitmentOf(modelId, r, stage, workers[w]).found) return;
        CommittedItem memory item = _item(r, stage, w, 0);
        Commitment memory c = Commitment({
            modelId: modelId,
            round: r,
            stage: stage,
            worker: workers[w],
            itemsRoot: item.itemsRoot,
            itemCount: 4,
            weightsRootBefore: item.weightsRootBefore,
            weightsRootAfter: item.weightsRootAfter
        });
        if (_submit(c, _sign(_keys[w], c))) _committed.push(Committed(r, stage, w));
    }

    // ---------------------------------------------------------------- the coalition

    /// @dev A coalition member that validates `stage` (member i holds stage i % 2).
    function _coalitionOf(uint16 stage, uint256 seed) internal view returns (address) {
        return coalition[(seed % (COALITION / 2)) * 2 + stage];
    }

    function attack(uint256 seed, uint256 indexSeed, uint256 attackerSeed) external {
        calls[this.attack.selector]++;
        if (_committed.length == 0) return;
        Committed memory k = _committed[seed % _committed.length];
        address attacker = _coalitionOf(k.stage, attackerSeed);
        uint256 bond = ledger.challengeBondWei(modelId);
        if (attacker.balance < bond) return;
        CommittedItem memory item = _item(k.round, k.stage, k.worker, uint32(indexSeed % 4)); // before the prank
        vm.prank(attacker);
        try ledger.challengeItem{value: bond}(item) {
            ghostFramingAttempts++;
        } catch {}
    }

    /// @dev The coalition tries to frame an honest worker with a link receipt it signed (docs/PROTOCOL.md
    /// "Link receipts"): the worker's honest receipt of a committed round (every microbatch, with the
    /// neighbour its leaves name), used as is or re-pointed to a coalition member as the other end
    /// (the signature then belongs to another statement). Neither may slash it.
    function attackReceipt(uint256 seed, uint256 indexSeed, uint256 attackerSeed, bool repoint) external {
        calls[this.attackReceipt.selector]++;
        if (_committed.length == 0) return;
        Committed memory k = _committed[seed % _committed.length];
        CommittedItem memory item = _item(k.round, k.stage, k.worker, uint32(indexSeed % 4));
        bool upstreamSide = item.leaf.downstream != address(0);
        LinkReceipt memory receipt = LinkReceipt({
            modelId: modelId,
            round: k.round,
            stage: upstreamSide ? k.stage : k.stage - 1,
            upstream: upstreamSide ? item.worker : item.leaf.upstream,
            downstream: upstreamSide ? item.leaf.downstream : item.worker,
            microbatches: hex"ff"
        });
        bytes memory signature = _signReceipt(_keys[k.worker], receipt);
        address attacker = _coalitionOf(k.stage, attackerSeed);
        if (repoint) {
            if (upstreamSide) receipt.downstream = attacker;
            else receipt.upstream = attacker;
        }
        CommittedItem[] memory none;
        vm.prank(attacker);
        try ledger.proveLinkEquivocation(item, receipt, signature, none) {
            ghostFramingAttempts++;
        } catch {}
    }

    function _signReceipt(uint256 key, LinkReceipt memory r) internal view returns (bytes memory) {
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256(
                    "LinkReceipt(uint64 modelId,uint64 round,uint16 stage,address upstream,address downstream,bytes microbatches)"
                ),
                r.modelId,
                r.round,
                r.stage,
                r.upstream,
                r.downstream,
                keccak256(r.microbatches)
            )
        );
        (uint8 v, bytes32 rr, bytes32 s) =
            vm.sign(key, keccak256(abi.encodePacked(hex"1901", ledger.domainSeparator(), structHash)));
        return abi.encodePacked(rr, s, v);
    }

    function attackAvailability(uint256 seed, uint256 indexSeed, uint256 attackerSeed) external {
        calls[this.attackAvailability.selector]++;
        if (_committed.length == 0) return;
        Committed memory k = _committed[seed % _committed.length];
        address attacker = _coalitionOf(k.stage, attackerSeed);
        uint256 bond = ledger.availabilityBondWei(modelId);
        if (attacker.balance < bond) return;
        vm.prank(attacker);
        try ledger.challengeAvailability{value: bond}(modelId, k.round, k.stage, workers[k.worker], uint32(indexSeed % 4)) {}
            catch {}
    }

    /// @dev The coalition tries to slash on an unanswered demand (fails while workers answer in time).
    function attackSlashUnavailable(uint256 seed) external {
        calls[this.attackSlashUnavailable.selector]++;
        uint256 n = ledger.availabilityChallengeCount();
        if (n == 0) return;
        vm.prank(coalition[seed % coalition.length]);
        try ledger.slashUnavailable(seed % n + 1) {} catch {}
    }

    // ---------------------------------------------------------------- anyone, in random order

    function draw(uint256 seed, uint256 blocks) external {
        calls[this.draw.selector]++;
        uint256 n = ledger.disputeCount();
        if (n == 0) return;
        vm.roll(block.number + (blocks % 10 == 0 ? 300 : 1));
        try ledger.drawCommittee(seed % n + 1) {} catch {}
    }

    function castVotes(uint256 seed) external {
        calls[this.castVotes.selector]++;
        uint256 n = ledger.disputeCount();
        if (n == 0) return;
        _votes(seed % n + 1);
    }

    function appealStep(uint256 seed) external {
        calls[this.appealStep.selector]++;
        uint256 n = ledger.disputeCount();
        if (n == 0) return;
        _appeals(seed % n + 1);
    }

    function resolve(uint256 seed) external {
        calls[this.resolve.selector]++;
        uint256 n = ledger.disputeCount();
        if (n == 0) return;
        _resolve(seed % n + 1);
    }

    function withdraw(uint256 seed) external {
        calls[this.withdraw.selector]++;
        address[] memory all = actors();
        vm.prank(all[seed % all.length]);
        try ledger.withdrawPayments() {} catch {}
    }

    /// @dev Honest duties first, then time passes (never more than 20 s: an appeal window is 40 s).
    function warp(uint256 secs) external {
        calls[this.warp.selector]++;
        duties();
        vm.warp(block.timestamp + bound(secs, 1, 20));
        vm.roll(block.number + 1);
    }

    /// @notice What online honest parties do before time passes.
    function duties() public {
        uint256 n = ledger.availabilityChallengeCount();
        for (uint256 id = 1; id <= n; ++id) {
            AvailabilityChallenge memory a = ledger.availabilityChallenge(id);
            if (a.status != 1 || block.timestamp > a.deadline) continue;
            uint256 w;
            while (workers[w] != a.worker) ++w;
            try ledger.revealItem(id, _item(a.round, a.stage, w, a.index)) {
                ghostReveals++;
            } catch {
                ghostDutyFailures++;
            }
        }
        n = ledger.disputeCount();
        for (uint256 id = 1; id <= n; ++id) {
            if (ledger.dispute(id).status != DisputeStatus.Open) continue;
            Dispute memory d = ledger.dispute(id);
            if (d.voteDeadline == 0) {
                if (block.number <= d.drawBlock) vm.roll(d.drawBlock + 1);
                try ledger.drawCommittee(id) {}
                catch {
                    ghostDutyFailures++;
                }
                if (ledger.dispute(id).voteDeadline == 0) continue; // deferred: next pass
            }
            _votes(id);
            _appeals(id);
            _resolve(id);
        }
    }

    function _votes(uint256 id) internal {
        Dispute memory d = ledger.dispute(id);
        if (d.status != DisputeStatus.Open || d.voteDeadline == 0) return;
        if (block.timestamp > d.voteDeadline || d.appealDeadline != 0) return;
        PanelSeat[] memory p = ledger.panel(id, d.level);
        for (uint256 i; i < p.length; ++i) {
            if (p[i].vote != 0) continue;
            bool bad = _isCoalition(p[i].member);
            if (!bad && !_present(id, d.level, p[i].member)) continue;
            vm.prank(p[i].member);
            // the coalition blames the honest worker, honest members clear it
            try ledger.vote(id, bad) {}
            catch {
                ghostDutyFailures++;
            }
        }
    }

    function _appeals(uint256 id) internal {
        Dispute memory d = ledger.dispute(id);
        if (d.status != DisputeStatus.Open || d.voteDeadline == 0 || d.level >= ledger.MAX_APPEALS()) return;
        bool over = d.appealDeadline != 0 || block.timestamp > d.voteDeadline;
        if (!over) return;
        uint256 end = d.appealDeadline != 0
            ? uint256(d.appealDeadline)
            : uint256(d.voteDeadline) + registry.model(modelId).timing.voteWindowSec;
        if (block.timestamp >= end) return;
        uint256 bond = ledger.appealBondWei(id);
        if (d.fraudSeats > d.honestSeats) {
            // a wrong verdict: the accused appeals it
            ghostCaptures++;
            ghostHonestAppeals++;
            vm.prank(d.accused);
            try ledger.appeal{value: bond}(id, false) {}
            catch {
                ghostDutyFailures++;
            }
        } else {
            // the coalition escalates every honest verdict and tie it can afford
            address c = coalition[id % coalition.length];
            if (c.balance < bond) return;
            ghostCoalitionAppeals++;
            vm.prank(c);
            try ledger.appeal{value: bond}(id, true) {}
            catch {
                ghostDutyFailures++;
            }
        }
        if (d.level + 1 > ghostMaxLevel) ghostMaxLevel = d.level + 1;
    }

    function _resolve(uint256 id) internal {
        if (ledger.dispute(id).status != DisputeStatus.Open) return;
        try ledger.resolveDispute(id) {
            ghostResolved++;
        } catch {}
    }
}

/// @dev Ported invariants of the ledger (docs/PROTOCOL.md "Invariants" 3 and 4, ETH solvency, units) under random actions.
contract ComputeLedgerInvariantTest is Test {
    ComputeLedger internal ledger;
    ModelRegistry internal registry;
    LedgerHandler internal handler;
    uint64[] internal models;

    function setUp() public {
        registry = new ModelRegistry(address(new ModelToken()));
        ledger = _deployLedger(IModelRegistry(address(registry)));
        registry.bindLedger(address(ledger));
        models.push(_register(registry, 2, 100e18, 1000, 250e18, 1500, 2000)); // tight cap: clamping happens
        models.push(_register(registry, 3, 50e18, 0, 1_000_000e18, 0, 500));
        handler = new LedgerHandler(ledger, registry, models);
        targetContract(address(handler));
    }

    /// Invariant 3 (worker, designer and validator mints): supply == sum of the ledger's mints <=
    /// emission allocated by finalized rounds <= cap; nothing minted before finalization (4: at most
    /// once per commitment, and never for a slashed (round, worker)).
    function invariant_tokenAccounting() public view {
        for (uint256 i; i < models.length; ++i) {
            uint64 m = models[i];
            IModelToken t = IModelToken(registry.tokenOf(m));
            uint256 supply = t.totalSupply();
            assertEq(supply, handler.ghostMinted(m), "supply != ledger mints");
            assertLe(supply, ledger.emissionAllocated(m), "minted more than finalized emission");
            assertLe(ledger.emissionAllocated(m), registry.model(m).emission.capTokens, "allocation past cap");
        }
        assertEq(handler.ghostMintsBeforeFinalization(), 0, "minted before finalization");
        assertEq(handler.ghostDoubleRewards(), 0, "rewarded twice");
        assertEq(handler.ghostSlashedRewards(), 0, "slashed worker rewarded");
    }

    /// ETH held == stakes + credited payments + bonds of open disputes, appeals and availability challenges.
    function invariant_ethConserved() public view {
        assertEq(address(ledger).balance, handler.owedWei());
    }

    /// A round's `totalUnits` is the units of its accepted commitments, each counted once.
    function invariant_unitsAccounting() public view {
        (bool mismatch, uint64 m, uint64 r) = handler.unitsMismatch();
        assertFalse(mismatch, string.concat("units of model ", vm.toString(uint256(m)), " round ", vm.toString(uint256(r))));
    }

    /// @dev The validator paths really attest and mint (some validator's draw hits a committed leaf).
    function test_handler_validatorsAttestAndMint() public {
        handler.commit(0, 0, 0, 2, false);
        handler.commit(0, 1, 0, 2, false);
        handler.commit(0, 2, 1, 2, false);
        handler.warp(100);
        for (uint256 k; k < 3; ++k) {
            for (uint256 v; v < 5; ++v) handler.attest(k, v);
        }
        assertGt(ledger.roundState(models[0], 0).attestedUnits, 0);
        handler.warp(70);
        handler.finalize(0, 0);
        uint256 before = handler.ghostMinted(models[0]);
        for (uint256 v; v < 5; ++v) handler.mintValidator(0, v);
        assertGt(handler.ghostMinted(models[0]), before);
        assertEq(IModelToken(registry.tokenOf(models[0])).totalSupply(), handler.ghostMinted(models[0]));
    }

    /// @dev The handler's paths really draw, vote, slash and mint (guards against a campaign that only reverts).
    function test_handler_deterministicRound_mintsAndSlashes() public {
        handler.commit(0, 0, 0, 2, false);
        handler.commit(0, 1, 1, 2, true);
        for (uint256 v = 1; v < 5; ++v) handler.moveValidator(v, 0, 1); // a committee for stage 1
        handler.warp(100); // challenge window of round 0
        handler.challenge(1, 0, false);
        assertEq(ledger.disputeCount(), 1);
        handler.draw(0, 1);
        IComputeLedgerTypes.PanelSeat[] memory p = ledger.panel(1, 0);
        assertGt(p.length, 0);
        for (uint256 i; i < p.length; ++i) handler.vote(0, i, true);
        vm.warp(block.timestamp + 40); // appeal window
        handler.resolve(0);
        assertEq(handler.ghostSlashes(), 1);
        handler.warp(120);
        handler.finalize(0, 0);
        assertTrue(ledger.roundState(models[0], 0).finalized);
        handler.mint(0, 0); // worker 0 honest: minted
        handler.mint(1, 0); // worker 1 slashed: nothing
        assertGt(handler.ghostMinted(models[0]), 0);
        assertEq(IModelToken(registry.tokenOf(models[0])).totalSupply(), handler.ghostMinted(models[0]));
        assertEq(handler.ghostSlashedRewards(), 0);
        assertEq(address(ledger).balance, handler.owedWei());
    }
}

/// @dev Issue 11: "no pay without checkable work, no committee for sale, no way to frame an honest
/// miner", against a coalition with 20% of the validator stake and absent honest validators.
contract ComputeLedgerAdversarialInvariantTest is Test {
    ComputeLedger internal ledger;
    ModelRegistry internal registry;
    AdversarialHandler internal handler;

    function setUp() public {
        registry = new ModelRegistry(address(new ModelToken()));
        ledger = _deployLedger(IModelRegistry(address(registry)));
        registry.bindLedger(address(ledger));
        uint64 m = _register(registry, 2, 100e18, 0, 1_000_000e18, 1000, 1000);
        handler = new AdversarialHandler(ledger, registry, m);
        // the coalition holds at most 20% of each stage's validator stake
        uint256 coalitionStakePerStage = handler.COALITION() * handler.STAKE() / 2;
        assertLe(coalitionStakePerStage * 5, ledger.totalValidatorWeight(m, 0));
        assertLe(coalitionStakePerStage * 5, ledger.totalValidatorWeight(m, 1));
        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](11);
        selectors[0] = AdversarialHandler.commit.selector;
        selectors[1] = AdversarialHandler.attack.selector;
        selectors[2] = AdversarialHandler.attackAvailability.selector;
        selectors[3] = AdversarialHandler.attackSlashUnavailable.selector;
        selectors[4] = AdversarialHandler.draw.selector;
        selectors[5] = AdversarialHandler.castVotes.selector;
        selectors[6] = AdversarialHandler.appealStep.selector;
        selectors[7] = AdversarialHandler.resolve.selector;
        selectors[8] = AdversarialHandler.withdraw.selector;
        selectors[9] = AdversarialHandler.warp.selector;
        selectors[10] = AdversarialHandler.attackReceipt.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    /// No honest worker is ever slashed: its stake never decreases, it is never jailed, and none of
    /// its commitments is ever voided.
    function invariant_honestWorkersNeverSlashed() public view {
        for (uint256 i; i < handler.workerCount(); ++i) {
            IComputeLedgerTypes.Staker memory s = ledger.staker(handler.workers(i));
            assertEq(s.stakeWei, handler.STAKE(), "honest worker lost stake");
            assertFalse(s.jailed, "honest worker jailed");
        }
        for (uint256 i; i < handler.committedCount(); ++i) {
            (uint64 r, uint16 stage, address w) = handler.committedAt(i);
            assertFalse(ledger.commitmentOf(handler.modelId(), r, stage, w).slashed, "honest commitment voided");
        }
    }

    /// The coalition never ends with more ETH (wallets + stakes + credits) than it started with.
    function invariant_coalitionNeverProfits() public view {
        assertLe(handler.coalitionWei(), handler.coalitionStartWei(), "the coalition made money");
    }

    /// ETH solvency, and honest parties were never prevented from doing their part in time.
    function invariant_ethConservedAndDutiesPossible() public view {
        assertEq(address(ledger).balance, handler.owedWei());
        assertEq(handler.ghostDutyFailures(), 0, "an honest duty reverted");
    }

    /// @dev The game is really played: challenges open, committees are drawn through every level,
    /// wrong verdicts are appealed and everything resolves; the invariants then still hold.
    function test_adversary_playsTheWholeGame() public {
        for (uint256 w; w < 3; ++w) {
            handler.commit(w, 0);
            handler.commit(w, 1);
        }
        vm.warp(registry.model(handler.modelId()).genesisTime + 100); // round 0's challenge window
        for (uint256 k; k < 6; ++k) handler.attack(k, k, k);
        handler.attackAvailability(0, 1, 0);
        assertEq(ledger.disputeCount(), 6);
        for (uint256 t; t < 40; ++t) handler.warp(20);
        handler.duties();
        for (uint256 id = 1; id <= 6; ++id) {
            assertTrue(ledger.dispute(id).status != IComputeLedgerTypes.DisputeStatus.Open, "dispute left open");
            assertTrue(ledger.dispute(id).status != IComputeLedgerTypes.DisputeStatus.Fraud, "honest worker framed");
        }
        assertEq(handler.ghostReveals(), 1);
        assertGt(handler.ghostCoalitionAppeals(), 0);
        assertEq(handler.ghostMaxLevel(), 2);
        invariant_honestWorkersNeverSlashed();
        invariant_coalitionNeverProfits();
        invariant_ethConservedAndDutiesPossible();
    }
}

function _deployLedger(IModelRegistry registry_) returns (ComputeLedger) {
    return new ComputeLedger(
        registry_, new ComputeLedgerValidatorModule(registry_), new ComputeLedgerDisputeModule(registry_)
    );
}

function _register(
    ModelRegistry registry,
    uint16 stages,
    uint128 perRound,
    uint16 decayBps,
    uint128 cap,
    uint16 designerBps,
    uint16 validatorBps
) returns (uint64 id) {
    bytes32[] memory roots = new bytes32[](stages);
    uint64[] memory units = new uint64[](stages);
    for (uint16 i; i < stages; ++i) {
        roots[i] = keccak256(abi.encode("root", i));
        units[i] = 7 * (uint64(i) + 1);
    }
    IModelRegistry.ModelSpec memory s;
    s.name = "M";
    s.symbol = "M";
    s.specHash = keccak256(abi.encode(stages, perRound));
    s.initialWeightsRoots = roots;
    s.unitsPerMicrobatch = units;
    s.microbatchesPerRound = 4;
    s.emission = IModelRegistry.Emission(perRound, decayBps, cap);
    s.designerEmissionBps = designerBps;
    s.validatorEmissionBps = validatorBps;
    s.minRequestFeeWei = 1;
    s.timing = IModelRegistry.Timing(100, 60, 40);
    s.minWorkerStakeWei = 1 ether;
    s.minValidatorStakeWei = 0.5 ether;
    // designer address derived like makeAddr("designer")
    address designer = address(uint160(uint256(keccak256(abi.encodePacked("designer")))));
    Vm_(address(uint160(uint256(keccak256("hevm cheat code"))))).prank(designer);
    (id,) = registry.registerModel(s);
}

interface Vm_ {
    function prank(address) external;
}
