// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Test} from "forge-std/Test.sol";
import {ComputeLedger} from "../../ComputeLedger.sol";
import {ComputeLedgerValidatorModule} from "../../ledger/LedgerValidators.sol";
import {ComputeLedgerDisputeModule} from "../../ledger/LedgerDisputes.sol";
import {ModelRegistry} from "../../ModelRegistry.sol";
import {ModelToken} from "../../ModelToken.sol";
import {IModelRegistry} from "../../interfaces/IModelRegistry.sol";
import {IModelToken} from "../../interfaces/IModelToken.sol";
import {IComputeLedgerTypes} from "../../interfaces/IComputeLedgerTypes.sol";
import {IComputeLedgerErrors} from "../../interfaces/IComputeLedgerErrors.sol";
import {IComputeLedgerEvents} from "../../interfaces/IComputeLedgerEvents.sol";

/// @dev Real registry, real token clones, real ledger; signatures with vm.sign over a digest this
/// file computes independently from docs/PROTOCOL.md (so a ledger digest bug cannot hide).
abstract contract LedgerTestBase is Test, IComputeLedgerTypes, IComputeLedgerErrors, IComputeLedgerEvents {
    bytes32 internal constant COMMITMENT_TYPEHASH_SPEC = keccak256(
        "Commitment(uint64 modelId,uint64 round,uint16 stage,address worker,bytes32 itemsRoot,uint32 itemCount,bytes32 weightsRootBefore,bytes32 weightsRootAfter)"
    );
    bytes32 internal constant DOMAIN_TYPEHASH_SPEC =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");

    uint32 internal constant COMMIT_SEC = 100;
    uint32 internal constant CHALLENGE_SEC = 50;
    uint32 internal constant VOTE_SEC = 40;
    uint128 internal constant MIN_WORKER_STAKE = 1 ether;
    uint128 internal constant MIN_VALIDATOR_STAKE = 0.5 ether;
    uint128 internal constant TOKENS_PER_ROUND = 1000e18;
    uint16 internal constant DECAY_BPS = 500;
    uint128 internal constant CAP_TOKENS = 10_000e18;
    uint16 internal constant DESIGNER_BPS = 1000;
    uint16 internal constant VALIDATOR_BPS = 1000;
    uint32 internal constant MICROBATCHES = 8;
    uint256 internal constant N_WORKERS = 4;
    uint256 internal constant N_VALIDATORS = 5;

    ModelRegistry internal registry;
    ComputeLedger internal ledger;
    uint64 internal modelId;
    /// @dev The stage the base's validators validate (tests of other stages move them: `_moveValidators`).
    uint16 internal constant VALIDATOR_STAGE = 0;
    IModelToken internal token;
    address internal designer = makeAddr("designer");

    address[] internal workers;
    uint256[] internal signingKeys;
    address[] internal payouts;
    address[] internal validators;
    /// @dev Stage count of every model `_register` made (read without an external call, so building a
    /// leaf between `vm.prank` / `vm.expectRevert` and the call under test does not consume them).
    mapping(uint64 => uint16) internal stagesOf;

    function setUp() public virtual {
        registry = new ModelRegistry(address(new ModelToken()));
        ledger = _deployLedger(IModelRegistry(address(registry)));
        registry.bindLedger(address(ledger));
        modelId = _register(2, 8);
        token = IModelToken(registry.tokenOf(modelId));
        for (uint256 i; i < N_WORKERS; ++i) {
            address w = makeAddr(string.concat("worker", vm.toString(i)));
            uint256 key = uint256(keccak256(abi.encode("signing key", i)));
            address payout = makeAddr(string.concat("payout", vm.toString(i)));
            workers.push(w);
            signingKeys.push(key);
            payouts.push(payout);
            vm.deal(w, 10 ether);
            vm.prank(w);
            ledger.stake{value: 2 ether}(payout, vm.addr(key));
        }
        for (uint256 i; i < N_VALIDATORS; ++i) {
            address v = makeAddr(string.concat("validator", vm.toString(i)));
            validators.push(v);
            vm.deal(v, 10 ether);
            vm.startPrank(v);
            ledger.stake{value: 1 ether}(v, v);
            ledger.setValidator(modelId, VALIDATOR_STAGE, true);
            vm.stopPrank();
        }
    }

    /// @dev Moves every base validator from `VALIDATOR_STAGE` to `stage` of the base model.
    function _moveValidators(uint16 stage) internal {
        for (uint256 i; i < validators.length; ++i) {
            vm.startPrank(validators[i]);
            ledger.setValidator(modelId, VALIDATOR_STAGE, false);
            ledger.setValidator(modelId, stage, true);
            vm.stopPrank();
        }
    }

    function _deployLedger(IModelRegistry registry_) internal returns (ComputeLedger) {
        return new ComputeLedger(
            registry_, new ComputeLedgerValidatorModule(registry_), new ComputeLedgerDisputeModule(registry_)
        );
    }

    // ---------------------------------------------------------------- registry

    function _spec(uint16 stages, uint32 microbatches) internal pure returns (IModelRegistry.ModelSpec memory s) {
        bytes32[] memory roots = new bytes32[](stages);
        uint64[] memory units = new uint64[](stages);
        for (uint16 i; i < stages; ++i) {
            roots[i] = keccak256(abi.encode("initial root", i));
            units[i] = 10 * (uint64(i) + 1);
        }
        s.name = "Shard Model";
        s.symbol = "SHM";
        s.specHash = keccak256("spec");
        s.initialWeightsRoots = roots;
        s.unitsPerMicrobatch = units;
        s.microbatchesPerRound = microbatches;
        s.emission = IModelRegistry.Emission(TOKENS_PER_ROUND, DECAY_BPS, CAP_TOKENS);
        s.protocolFeeBps = 100;
        s.operatorFeeBps = 2000;
        s.designerEmissionBps = DESIGNER_BPS;
        s.validatorEmissionBps = VALIDATOR_BPS;
        s.minRequestFeeWei = 1e12;
        s.timing = IModelRegistry.Timing(COMMIT_SEC, CHALLENGE_SEC, VOTE_SEC);
        s.minWorkerStakeWei = MIN_WORKER_STAKE;
        s.minValidatorStakeWei = MIN_VALIDATOR_STAKE;
    }

    function _register(uint16 stages, uint32 microbatches) internal returns (uint64 id) {
        vm.prank(designer);
        (id,) = registry.registerModel(_spec(stages, microbatches));
        stagesOf[id] = stages;
    }

    // ---------------------------------------------------------------- time

    function _genesis(uint64 id) internal view returns (uint256) {
        return registry.model(id).genesisTime;
    }

    function _warpToCommit(uint64 id, uint64 round) internal {
        vm.warp(_genesis(id) + uint256(round) * COMMIT_SEC);
    }

    function _warpToChallenge(uint64 id, uint64 round) internal {
        vm.warp(_genesis(id) + (uint256(round) + 1) * COMMIT_SEC);
    }

    function _warpPastChallenge(uint64 id, uint64 round) internal {
        vm.warp(_genesis(id) + (uint256(round) + 1) * COMMIT_SEC + CHALLENGE_SEC);
    }

    // ---------------------------------------------------------------- items and trees

    /// @dev Honest items chain: stage s input act = act(s, i), output = act(s+1, i); same for grads.
    /// Slot `index` holds microbatch `index` (a worker holding every microbatch); no neighbours named
    /// (`_linked` names them where a test needs pipeline links).
    function _leaf(uint16 stage, uint32 index, bytes32 salt) internal pure returns (ItemLeaf memory leaf) {
        leaf.index = index;
        leaf.microbatch = index;
        leaf.inputActHash = keccak256(abi.encode("act", stage, index));
        leaf.outputActHash = keccak256(abi.encode("act", stage + 1, index, salt));
        leaf.upstreamGradHash = keccak256(abi.encode("grad", stage + 1, index));
        leaf.inputGradHash = keccak256(abi.encode("grad", stage, index));
        leaf.gradRoot = keccak256(abi.encode("gradRoot", stage, index, salt));
        if (salt == bytes32(0)) leaf.outputActHash = keccak256(abi.encode("act", stage + 1, index, bytes32(0)));
    }

    /// @dev `_leaf` with the chain intact uses salt 0 for outputs; inputs always use salt 0 too.
    function _honestLeaf(uint16 stage, uint32 index) internal pure returns (ItemLeaf memory leaf) {
        leaf = _leaf(stage, index, bytes32(0));
        leaf.inputActHash = keccak256(abi.encode("act", stage, index, bytes32(0)));
    }

    function _leafHash(ItemLeaf memory leaf) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(leaf))));
    }

    function _hashPair(bytes32 a, bytes32 b) internal pure returns (bytes32) {
        return a < b ? keccak256(abi.encode(a, b)) : keccak256(abi.encode(b, a));
    }

    /// @dev Sorted-pair tree over any number of leaf hashes in the given order (an odd node is
    /// carried up unhashed); root and proof of `index`. For a power of two, the complete tree.
    function _tree(bytes32[] memory hashes, uint256 index) internal pure returns (bytes32 root, bytes32[] memory proof) {
        bytes32[] memory level = hashes;
        bytes32[] memory path = new bytes32[](32);
        uint256 depth;
        uint256 pos = index;
        while (level.length > 1) {
            if (pos ^ 1 < level.length) {
                path[depth] = level[pos ^ 1];
                ++depth;
            }
            bytes32[] memory next = new bytes32[]((level.length + 1) / 2);
            for (uint256 j; j < next.length; ++j) {
                next[j] = 2 * j + 1 < level.length ? _hashPair(level[2 * j], level[2 * j + 1]) : level[2 * j];
            }
            level = next;
            pos >>= 1;
        }
        root = level[0];
        proof = new bytes32[](depth);
        for (uint256 d; d < depth; ++d) proof[d] = path[d];
    }

    /// @dev The leaf hashes of `leaves`, in order.
    function _hashes(ItemLeaf[] memory leaves) internal pure returns (bytes32[] memory hashes) {
        hashes = new bytes32[](leaves.length);
        for (uint256 i; i < leaves.length; ++i) hashes[i] = _leafHash(leaves[i]);
    }

    /// @dev Four honest leaves of `stage`, optionally with leaf `badIndex` replaced by `bad`.
    function _items(uint16 stage, bool replace, uint32 badIndex, ItemLeaf memory bad)
        internal
        pure
        returns (ItemLeaf[] memory leaves, bytes32[] memory hashes)
    {
        leaves = new ItemLeaf[](4);
        hashes = new bytes32[](4);
        for (uint32 i; i < 4; ++i) {
            leaves[i] = replace && i == badIndex ? bad : _honestLeaf(stage, i);
            hashes[i] = _leafHash(leaves[i]);
        }
    }

    function _itemsRoot(uint16 stage) internal pure returns (bytes32 root) {
        ItemLeaf memory none;
        (, bytes32[] memory hashes) = _items(stage, false, 0, none);
        (root,) = _tree(hashes, 0);
    }

    /// @dev `leaf` naming worker `w`'s pipeline neighbours of `stage` (see `_partner`): zero upstream
    /// at stage 0, zero downstream at the last stage of model `id` (registered by `_register`).
    function _linked(ItemLeaf memory leaf, uint64 id, uint16 stage, uint256 w) internal view returns (ItemLeaf memory) {
        leaf.upstream = stage == 0 ? address(0) : workers[_partner(w)];
        leaf.downstream = uint256(stage) + 1 == stagesOf[id] ? address(0) : workers[_partner(w)];
        return leaf;
    }

    /// @dev `_items` of worker `w`, every leaf naming `w`'s pipeline neighbours (`_linked`); `bad` is
    /// taken as given (links included).
    function _linkedItems(uint64 id, uint16 stage, uint256 w, bool replace, uint32 badIndex, ItemLeaf memory bad)
        internal
        view
        returns (ItemLeaf[] memory leaves, bytes32[] memory hashes)
    {
        leaves = new ItemLeaf[](4);
        hashes = new bytes32[](4);
        for (uint32 i; i < 4; ++i) {
            leaves[i] = replace && i == badIndex ? bad : _linked(_honestLeaf(stage, i), id, stage, w);
            hashes[i] = _leafHash(leaves[i]);
        }
    }

    /// @dev Root of `leaves` (a power-of-two number of them).
    function _rootOf(ItemLeaf[] memory leaves) internal pure returns (bytes32 root) {
        (root,) = _tree(_hashes(leaves), 0);
    }

    // ---------------------------------------------------------------- commitments and signatures

    function _commitment(uint64 id, uint64 round, uint16 stage, uint256 w, bytes32 itemsRoot, uint32 itemCount)
        internal
        view
        returns (Commitment memory c)
    {
        c = Commitment({
            modelId: id,
            round: round,
            stage: stage,
            worker: workers[w],
            itemsRoot: itemsRoot,
            itemCount: itemCount,
            weightsRootBefore: round == 0 ? registry.initialWeightsRoot(id, stage) : keccak256(abi.encode("w", stage, round)),
            weightsRootAfter: keccak256(abi.encode("w", stage, round + 1))
        });
    }

    /// @dev The tests' pipelines: worker `w` exchanges data with worker `w ^ 1` on both adjacent
    /// stages, so workers 0 and 1 (and 2 and 3) alternate along one pipeline (`_linked` leaves name them).
    function _partner(uint256 w) internal pure returns (uint256) {
        return w ^ 1;
    }

    function _domainSeparator(uint256 chainId, address verifyingContract) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(DOMAIN_TYPEHASH_SPEC, keccak256("Shardholder"), keccak256("1"), chainId, verifyingContract)
        );
    }

    function _digest(Commitment memory c, uint256 chainId, address verifyingContract) internal pure returns (bytes32) {
        bytes32 structHash = keccak256(
            abi.encode(
                COMMITMENT_TYPEHASH_SPEC,
                c.modelId,
                c.round,
                c.stage,
                c.worker,
                c.itemsRoot,
                c.itemCount,
                c.weightsRootBefore,
                c.weightsRootAfter
            )
        );
        return keccak256(abi.encodePacked(hex"1901", _domainSeparator(chainId, verifyingContract), structHash));
    }

    function _sign(uint256 key, Commitment memory c) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, _digest(c, block.chainid, address(ledger)));
        return abi.encodePacked(r, s, v);
    }

    /// @dev The 64-byte EIP-2098 form of `_sign`'s signature, `r ++ (yParity << 255 | s)`: what the SDK submits.
    function _signCompact(uint256 key, Commitment memory c) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, _digest(c, block.chainid, address(ledger)));
        return abi.encodePacked(r, (uint256(v - 27) << 255) | uint256(s));
    }

    function _submit(Commitment memory c, bytes memory signature) internal {
        Commitment[] memory cs = new Commitment[](1);
        bytes[] memory sigs = new bytes[](1);
        cs[0] = c;
        sigs[0] = signature;
        ledger.submitCommitments(cs, sigs);
    }

    /// @dev Worker `w` commits the honest 4-item tree of `stage` in the current round `round`.
    function _commit(uint64 id, uint64 round, uint16 stage, uint256 w) internal returns (Commitment memory c) {
        c = _commitment(id, round, stage, w, _itemsRoot(stage), 4);
        _submit(c, _sign(signingKeys[w], c));
    }

    /// @dev `_commit` with `_linkedItems` leaves: worker `w`'s leaves name its pipeline neighbours.
    function _commitLinked(uint64 id, uint64 round, uint16 stage, uint256 w) internal returns (Commitment memory c) {
        ItemLeaf memory none;
        (ItemLeaf[] memory leaves,) = _linkedItems(id, stage, w, false, 0, none);
        c = _commitment(id, round, stage, w, _rootOf(leaves), 4);
        _submit(c, _sign(signingKeys[w], c));
    }

    function _committedItem(Commitment memory c, ItemLeaf[] memory leaves, bytes32[] memory hashes, uint32 index)
        internal
        pure
        returns (CommittedItem memory item)
    {
        (bytes32 root, bytes32[] memory proof) = _tree(hashes, index);
        item = CommittedItem({
            modelId: c.modelId,
            round: c.round,
            stage: c.stage,
            worker: c.worker,
            itemsRoot: root,
            weightsRootBefore: c.weightsRootBefore,
            weightsRootAfter: c.weightsRootAfter,
            leaf: leaves[index],
            proof: proof
        });
    }

    // ---------------------------------------------------------------- disputes

    /// @dev Mines a block after the dispute's draw block and draws its current committee.
    function _draw(uint256 disputeId) internal {
        vm.roll(block.number + 1);
        ledger.drawCommittee(disputeId);
    }

    /// @dev Every member of the current level votes `fraud`.
    function _voteAll(uint256 disputeId, bool fraud) internal {
        PanelSeat[] memory seats = ledger.panel(disputeId, ledger.dispute(disputeId).level);
        for (uint256 i; i < seats.length; ++i) {
            vm.prank(seats[i].member);
            ledger.vote(disputeId, fraud);
        }
    }

    /// @dev Draws, lets every member vote `fraud`, waits out the appeal window and resolves.
    function _decide(uint256 disputeId, bool fraud) internal {
        _draw(disputeId);
        _voteAll(disputeId, fraud);
        vm.warp(block.timestamp + VOTE_SEC);
        ledger.resolveDispute(disputeId);
    }

    /// @dev Seals the round's seed: one call names the block, the next (a block later) seals it.
    function _sealSeed(uint64 id, uint64 round) internal returns (bytes32 seed) {
        ledger.sealRoundSeed(id, round);
        vm.roll(block.number + 1);
        seed = ledger.sealRoundSeed(id, round);
    }
}
