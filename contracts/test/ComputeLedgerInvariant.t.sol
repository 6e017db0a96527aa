// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Test} from "forge-std/Test.sol";
import {ComputeLedger} from "../ComputeLedger.sol";
import {ModelRegistry} from "../ModelRegistry.sol";
import {ModelToken} from "../ModelToken.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {IModelToken} from "../interfaces/IModelToken.sol";
import {IComputeLedgerTypes} from "../interfaces/IComputeLedgerTypes.sol";
import {CommonBase} from "forge-std/Base.sol";
import {StdCheats} from "forge-std/StdCheats.sol";
import {StdUtils} from "forge-std/StdUtils.sol";

/// @dev Drives random valid-looking actions (stakes, commitments, challenges, votes, resolutions,
/// finalizations, mints, time) across two models and keeps ghost books for the invariants.
/// Not a `Test` (the invariant runner never targets test contracts).
contract LedgerHandler is CommonBase, StdCheats, StdUtils, IComputeLedgerTypes {
    bytes32 internal constant COMMITMENT_TYPEHASH = keccak256(
        "Commitment(uint64 modelId,uint64 round,uint16 stage,address worker,bytes32 itemsRoot,uint32 itemCount,bytes32 weightsRootBefore,bytes32 weightsRootAfter)"
    );

    ComputeLedger public immutable ledger;
    ModelRegistry public immutable registry;
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
    }

    Committed[] internal _committed;

    // ghost books
    mapping(uint64 modelId => uint256) public ghostMinted;
    mapping(bytes32 key => uint256) public ghostMintCount;
    mapping(bytes32 key => bool) public ghostSlashed;
    uint256 public ghostDoubleRewards;
    uint256 public ghostMintsBeforeFinalization;
    uint256 public ghostSlashedRewards;
    uint256 public ghostBurnedWei;
    uint256 public ghostSlashes;
    mapping(bytes4 => uint256) public calls;

    constructor(ComputeLedger ledger_, ModelRegistry registry_, uint64[] memory models_) {
        ledger = ledger_;
        registry = registry_;
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
        for (uint256 i; i < 4; ++i) {
            address v = makeAddr(string.concat("h-validator", vm.toString(i)));
            validators.push(v);
            vm.deal(v, 100 ether);
            vm.startPrank(v);
            ledger.stake{value: 1 ether}(v, v);
            ledger.setValidator(true);
            vm.stopPrank();
        }
    }

    // ---------------------------------------------------------------- helpers

    function actors() external view returns (address[] memory all) {
        all = new address[](workers.length + validators.length);
        for (uint256 i; i < workers.length; ++i) all[i] = workers[i];
        for (uint256 i; i < validators.length; ++i) all[workers.length + i] = validators[i];
    }

    function _key(uint64 m, uint64 r, address w) internal pure returns (bytes32) {
        return keccak256(abi.encode(m, r, w));
    }

    function _leaf(uint64 m, uint64 r, uint16 stage, uint32 index, bool forged) internal pure returns (ItemLeaf memory l) {
        l.index = index;
        l.inputActHash = keccak256(abi.encode("act", m, r, stage, index));
        l.outputActHash = forged ? keccak256("forged") : keccak256(abi.encode("act", m, r, stage + 1, index));
        l.upstreamGradHash = keccak256(abi.encode("grad", m, r, stage + 1, index));
        l.inputGradHash = keccak256(abi.encode("grad", m, r, stage, index));
        l.gradRoot = keccak256(abi.encode("g", m, r, stage, index));
    }

    function _leafHash(ItemLeaf memory l) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(l))));
    }

    function _pair(bytes32 a, bytes32 b) internal pure returns (bytes32) {
        return a < b ? keccak256(abi.encode(a, b)) : keccak256(abi.encode(b, a));
    }

    /// @dev Two leaves: index 0 honest, index 1 forged or honest.
    function _root(uint64 m, uint64 r, uint16 stage, bool forged) internal pure returns (bytes32) {
        return _pair(_leafHash(_leaf(m, r, stage, 0, false)), _leafHash(_leaf(m, r, stage, 1, forged)));
    }

    function _before(uint64 m, uint64 r, uint16 stage) internal view returns (bytes32) {
        return r == 0 ? registry.initialWeightsRoot(m, stage) : keccak256(abi.encode(r));
    }

    function _round(uint64 m) internal view returns (uint64) {
        uint256 g = registry.model(m).genesisTime;
        if (block.timestamp < g) return 0;
        return uint64((block.timestamp - g) / registry.model(m).timing.commitWindowSec);
    }

    // ---------------------------------------------------------------- actions

    function warp(uint256 secs) external {
        calls[this.warp.selector]++;
        vm.warp(block.timestamp + bound(secs, 1, 120));
    }

    function commit(uint256 modelSeed, uint256 workerSeed, uint256 stageSeed, uint256 itemSeed, bool forged) external {
        calls[this.commit.selector]++;
        uint64 m = models[modelSeed % models.length];
        uint256 w = workerSeed % workers.length;
        uint16 stage = uint16(stageSeed % registry.model(m).stageCount);
        uint64 r = _round(m);
        Commitment memory c = Commitment({
            modelId: m,
            round: r,
            stage: stage,
            worker: workers[w],
            itemsRoot: _root(m, r, stage, forged),
            itemCount: uint32(bound(itemSeed, 1, registry.model(m).microbatchesPerRound)),
            weightsRootBefore: _before(m, r, stage),
            weightsRootAfter: keccak256(abi.encode(r + 1))
        });
        bytes32 structHash = keccak256(abi.encode(COMMITMENT_TYPEHASH, c));
        bytes32 digest = keccak256(abi.encodePacked(hex"1901", ledger.domainSeparator(), structHash));
        (uint8 v, bytes32 rr, bytes32 s) = vm.sign(_keys[w], digest);
        Commitment[] memory cs = new Commitment[](1);
        bytes[] memory sigs = new bytes[](1);
        cs[0] = c;
        sigs[0] = abi.encodePacked(rr, s, v);
        try ledger.submitCommitments(cs, sigs) {
            _committed.push(Committed(m, r, stage, w, forged));
        } catch {}
    }

    function challenge(uint256 seed, uint256 validatorSeed) external {
        calls[this.challenge.selector]++;
        if (_committed.length == 0) return;
        Committed memory k = _committed[seed % _committed.length];
        ItemLeaf memory l0 = _leaf(k.modelId, k.round, k.stage, 0, false);
        ItemLeaf memory l1 = _leaf(k.modelId, k.round, k.stage, 1, k.forged);
        bytes32[] memory proof = new bytes32[](1);
        proof[0] = _leafHash(l0);
        CommittedItem memory item = CommittedItem({
            modelId: k.modelId,
            round: k.round,
            stage: k.stage,
            worker: workers[k.worker],
            itemsRoot: _pair(_leafHash(l0), _leafHash(l1)),
            weightsRootBefore: _before(k.modelId, k.round, k.stage),
            weightsRootAfter: keccak256(abi.encode(k.round + 1)),
            leaf: l1,
            proof: proof
        });
        address v = validators[validatorSeed % validators.length];
        uint256 bond = ledger.challengeBondWei(k.modelId);
        vm.prank(v);
        try ledger.challengeItem{value: bond}(item) {} catch {}
    }

    function vote(uint256 disputeSeed, uint256 memberSeed, bool fraud) external {
        calls[this.vote.selector]++;
        uint256 n = ledger.disputeCount();
        if (n == 0) return;
        uint256 id = disputeSeed % n + 1;
        Dispute memory d = ledger.dispute(id);
        if (d.committeeSize == 0) return;
        vm.prank(d.committee[memberSeed % d.committeeSize]);
        try ledger.vote(id, fraud) {} catch {}
    }

    function resolve(uint256 disputeSeed) external {
        calls[this.resolve.selector]++;
        uint256 n = ledger.disputeCount();
        if (n == 0) return;
        uint256 id = disputeSeed % n + 1;
        uint256 deadBefore = address(0xdEaD).balance;
        try ledger.resolveDispute(id) {
            ghostBurnedWei += address(0xdEaD).balance - deadBefore;
            Dispute memory d = ledger.dispute(id);
            if (d.status == DisputeStatus.Fraud) {
                ghostSlashed[_key(d.modelId, d.round, d.accused)] = true;
                ghostSlashes++;
            }
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

    /// @dev A validator attests its first draw in a committed commitment (honest or forged leaf:
    /// lazy validators exist), if the draw hits one of the two committed leaves.
    function attest(uint256 seed, uint256 validatorSeed) external {
        calls[this.attest.selector]++;
        if (_committed.length == 0) return;
        Committed memory k = _committed[seed % _committed.length];
        address v = validators[validatorSeed % validators.length];
        try ledger.sealRoundSeed(k.modelId, k.round) {} catch {
            return;
        }
        uint32 index = ledger.sampledIndex(k.modelId, k.round, v, workers[k.worker], k.stage, 0);
        if (index > 1) return;
        ItemLeaf memory l0 = _leaf(k.modelId, k.round, k.stage, 0, false);
        ItemLeaf memory l1 = _leaf(k.modelId, k.round, k.stage, 1, k.forged);
        bytes32[] memory proof = new bytes32[](1);
        proof[0] = index == 0 ? _leafHash(l1) : _leafHash(l0);
        CommittedItem[] memory items = new CommittedItem[](1);
        items[0] = CommittedItem({
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
        uint256 n = ledger.disputeCount();
        if (n == 0) return;
        uint256 deadBefore = address(0xdEaD).balance;
        vm.prank(validators[(validatorSeed + 1) % validators.length]);
        try ledger.slashFalseAttestation(disputeSeed % n + 1, validators[validatorSeed % validators.length]) {
            ghostBurnedWei += address(0xdEaD).balance - deadBefore;
        } catch {}
    }

    function unbondAndRestake(uint256 workerSeed, uint256 stepSeed) external {
        calls[this.unbondAndRestake.selector]++;
        address w = workers[workerSeed % workers.length];
        vm.startPrank(w);
        if (stepSeed % 3 == 0) {
            try ledger.requestUnbond() {} catch {}
        } else if (stepSeed % 3 == 1) {
            vm.warp(block.timestamp + ledger.UNBONDING_DELAY_SEC());
            try ledger.withdrawStake() {} catch {}
        } else {
            try ledger.stake{value: 1 ether}(ledger.staker(w).payout == address(0) ? w : ledger.staker(w).payout, vm.addr(_keys[workerSeed % workers.length])) {} catch {}
        }
        vm.stopPrank();
    }

    function withdrawPayments(uint256 seed) external {
        calls[this.withdrawPayments.selector]++;
        address[] memory all = this.actors();
        vm.prank(all[seed % all.length]);
        try ledger.withdrawPayments() {} catch {}
    }

    function committedCount() external view returns (uint256) {
        return _committed.length;
    }
}

/// @dev DESIGN.md invariants 3 and 4, plus ETH conservation of the ledger.
contract ComputeLedgerInvariantTest is Test {
    ComputeLedger internal ledger;
    ModelRegistry internal registry;
    LedgerHandler internal handler;
    uint64[] internal models;

    function setUp() public {
        registry = new ModelRegistry(address(new ModelToken()));
        ledger = new ComputeLedger(IModelRegistry(address(registry)));
        registry.bindLedger(address(ledger));
        models.push(_register(2, 100e18, 1000, 250e18, 1500, 2000)); // tight cap: clamping happens
        models.push(_register(3, 50e18, 0, 1_000_000e18, 0, 500));
        handler = new LedgerHandler(ledger, registry, models);
        targetContract(address(handler));
    }

    function _register(uint16 stages, uint128 perRound, uint16 decayBps, uint128 cap, uint16 designerBps, uint16 validatorBps)
        internal
        returns (uint64 id)
    {
        bytes32[] memory roots = new bytes32[](stages);
        uint64[] memory units = new uint64[](stages);
        for (uint16 i; i < stages; ++i) {
            roots[i] = keccak256(abi.encode("root", i));
            units[i] = 7 * (uint64(i) + 1);
        }
        IModelRegistry.ModelSpec memory s;
        s.name = "M";
        s.symbol = "M";
        s.specHash = keccak256(abi.encode(stages));
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
        vm.prank(makeAddr("designer"));
        (id,) = registry.registerModel(s);
    }

    /// Invariant 3 (worker, designer and validator mints): supply == sum of the ledger's mints <=
    /// emission allocated by finalized rounds <= cap.
    function invariant_supplyEqualsFinalizedMints() public view {
        for (uint256 i; i < models.length; ++i) {
            uint64 m = models[i];
            IModelToken t = IModelToken(registry.tokenOf(m));
            uint256 supply = t.totalSupply();
            assertEq(supply, handler.ghostMinted(m), "supply != ledger mints");
            assertLe(supply, ledger.emissionAllocated(m), "minted more than finalized emission");
            assertLe(ledger.emissionAllocated(m), registry.model(m).emission.capTokens, "allocation past cap");
        }
    }

    /// Invariant 3: nothing is minted for a round before it is finalized.
    function invariant_nothingMintedBeforeFinalization() public view {
        assertEq(handler.ghostMintsBeforeFinalization(), 0);
    }

    /// Invariant 4: a (round, worker) reward is minted at most once.
    function invariant_commitmentRewardedAtMostOnce() public view {
        assertEq(handler.ghostDoubleRewards(), 0);
    }

    /// Invariant 4: a worker slashed in a round gets nothing for that round.
    function invariant_slashedWorkerRoundRewardIsZero() public view {
        assertEq(handler.ghostSlashedRewards(), 0);
    }

    /// ETH held == stakes + credited payments + bonds of open disputes.
    function invariant_ethConserved() public view {
        address[] memory all = handler.actors();
        uint256 owed;
        for (uint256 i; i < all.length; ++i) {
            owed += ledger.staker(all[i]).stakeWei + ledger.paymentsOf(all[i]);
        }
        uint256 n = ledger.disputeCount();
        for (uint256 id = 1; id <= n; ++id) {
            IComputeLedgerTypes.Dispute memory d = ledger.dispute(id);
            if (d.status == IComputeLedgerTypes.DisputeStatus.Open) owed += d.bondWei;
        }
        assertEq(address(ledger).balance, owed);
    }


    /// @dev The validator paths really attest and mint (some validator's draw hits a committed leaf).
    function test_handler_validatorsAttestAndMint() public {
        handler.commit(0, 0, 0, 2, false);
        handler.commit(0, 1, 0, 2, false);
        handler.commit(0, 2, 1, 2, false);
        handler.warp(100);
        for (uint256 k; k < 3; ++k) {
            for (uint256 v; v < 4; ++v) handler.attest(k, v);
        }
        assertGt(ledger.roundState(models[0], 0).attestedUnits, 0);
        handler.warp(70);
        handler.finalize(0, 0);
        uint256 before = handler.ghostMinted(models[0]);
        for (uint256 v; v < 4; ++v) handler.mintValidator(0, v);
        assertGt(handler.ghostMinted(models[0]), before);
        assertEq(IModelToken(registry.tokenOf(models[0])).totalSupply(), handler.ghostMinted(models[0]));
    }

    /// @dev The handler's paths really mint and slash (guards against a campaign that only reverts).
    function test_handler_deterministicRound_mintsAndSlashes() public {
        handler.commit(0, 0, 0, 2, false);
        handler.commit(0, 1, 1, 3, true);
        handler.warp(100); // challenge window of round 0
        handler.challenge(1, 0);
        assertEq(ledger.disputeCount(), 1);
        IComputeLedgerTypes.Dispute memory d = ledger.dispute(1);
        for (uint256 i; i < d.committeeSize; ++i) handler.vote(0, i, true);
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
    }
}
