// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {LedgerTestBase} from "./LedgerTestBase.sol";

/// @dev The round of the replica tests. Stage replicas (docs/PROTOCOL.md "Microbatch items", "Pipeline links"): several workers of one
/// stage each train a subset of a round's microbatches and exchange each microbatch with whichever
/// neighbour replica it was routed to. A leaf's slot (`index`) is its place in the worker's tree
/// (slots `0 .. itemCount-1` in ascending microbatch order); its `microbatch` is the round's
/// microbatch; its `upstream` / `downstream` the workers it exchanged that microbatch with.
///
/// The round here: one stage-0 worker (HEAD) trains all 8 microbatches and routes each to one of two
/// stage-1 replicas, R1 (microbatches 0, 1, 4, 6) and R2 (2, 3, 5, 7): R2 holds microbatch 5 at slot 2.
abstract contract ReplicaRoundTestBase is LedgerTestBase {
    uint256 internal constant HEAD = 0;
    uint256 internal constant R1 = 1;
    uint256 internal constant R2 = 2;
    /// a second stage-0 worker (the head of another pipeline), the upstream a copier names
    uint256 internal constant OTHER_HEAD = 3;
    uint256 internal constant COPIER = 4;
    uint256 internal constant BYSTANDER = 5;
    /// R1's microbatches as a bit mask (bit m: microbatch m goes to R1, else to R2)
    uint8 internal constant ROUTES = (1 << 0) | (1 << 1) | (1 << 4) | (1 << 6);
    /// the microbatch the duplicate and chain-break tests are about (R2's slot 2)
    uint32 internal constant MB = 5;
    uint64 internal constant STAGE0_UNITS = 10;
    uint64 internal constant STAGE1_UNITS = 20;
    uint32 internal constant NONE = type(uint32).max;

    /// @dev A test asked for the slot of a microbatch the tree does not hold.
    error NotHeld(uint32 microbatch);

    Commitment internal headC;
    Commitment internal r1C;
    Commitment internal r2C;
    address internal stageOneValidator = makeAddr("stage-one validator");

    function setUp() public override {
        super.setUp();
        for (uint256 i = N_WORKERS; i < N_WORKERS + 2; ++i) {
            address w = makeAddr(string.concat("worker", vm.toString(i)));
            uint256 key = uint256(keccak256(abi.encode("signing key", i)));
            workers.push(w);
            signingKeys.push(key);
            payouts.push(makeAddr(string.concat("payout", vm.toString(i))));
            vm.deal(w, 10 ether);
            vm.prank(w);
            ledger.stake{value: 2 ether}(payouts[i], vm.addr(key));
        }
        _stakeStageOneValidator(stageOneValidator);
        _warpToCommit(modelId, 0);
    }

    /// @dev `v` stakes 1 ether and validates stage 1 (the replicated stage) of the model.
    function _stakeStageOneValidator(address v) internal {
        vm.deal(v, 10 ether);
        vm.startPrank(v);
        ledger.stake{value: 1 ether}(v, v);
        ledger.setValidator(modelId, 1, true);
        vm.stopPrank();
    }

    // ---------------------------------------------------------------- trees of any size (the base's `_tree`)

    /// @dev Worker `w` commits `leaves` (round 0, any number of them) as its tree of `stage`.
    function _commitLeaves(uint16 stage, uint256 w, ItemLeaf[] memory leaves) internal returns (Commitment memory c) {
        c = _commitment(modelId, 0, stage, w, _rootOf(leaves), uint32(leaves.length));
        _submit(c, _sign(signingKeys[w], c));
    }

    /// @dev The leaf at array position `pos` of commitment `c`'s tree `leaves`, with its proof.
    function _item(Commitment memory c, ItemLeaf[] memory leaves, uint256 pos) internal pure returns (CommittedItem memory) {
        return _committedItem(c, leaves, _hashes(leaves), uint32(pos));
    }

    // ---------------------------------------------------------------- the round's leaves

    /// @dev HEAD's 8 leaves (slot m holds microbatch m), each naming the replica `routes` sends it to.
    /// Microbatch `forgedMb`'s output does not chain (the break the chain-break tests prove); NONE: all honest.
    function _headLeaves(uint8 routes, uint32 forgedMb) internal view returns (ItemLeaf[] memory leaves) {
        leaves = new ItemLeaf[](MICROBATCHES);
        for (uint32 m; m < MICROBATCHES; ++m) {
            leaves[m] = _honestLeaf(0, m);
            leaves[m].downstream = workers[_routedTo(routes, m)];
            if (m == forgedMb) leaves[m].outputActHash = keccak256("forged");
        }
    }

    function _routedTo(uint8 routes, uint32 m) internal pure returns (uint256) {
        return (routes >> m) & 1 == 1 ? R1 : R2;
    }

    /// @dev The microbatches `routes` sends to R1 (`toR1`) or to R2, ascending.
    function _microbatchesOf(uint8 routes, bool toR1) internal pure returns (uint32[] memory mbs) {
        uint256 n;
        for (uint32 m; m < MICROBATCHES; ++m) {
            if ((_routedTo(routes, m) == R1) == toR1) ++n;
        }
        mbs = new uint32[](n);
        n = 0;
        for (uint32 m; m < MICROBATCHES; ++m) {
            if ((_routedTo(routes, m) == R1) != toR1) continue;
            mbs[n] = m;
            ++n;
        }
    }

    /// @dev A stage-1 replica's leaves of `mbs` (in this order) at slots 0, 1, ..., received from HEAD.
    function _replicaLeaves(uint32[] memory mbs) internal view returns (ItemLeaf[] memory leaves) {
        leaves = new ItemLeaf[](mbs.length);
        for (uint256 i; i < mbs.length; ++i) {
            leaves[i] = _honestLeaf(1, mbs[i]);
            leaves[i].index = uint32(i);
            leaves[i].upstream = workers[HEAD];
        }
    }

    function _r1Leaves() internal view returns (ItemLeaf[] memory) {
        return _replicaLeaves(_microbatchesOf(ROUTES, true));
    }

    function _r2Leaves() internal view returns (ItemLeaf[] memory) {
        return _replicaLeaves(_microbatchesOf(ROUTES, false));
    }

    /// @dev HEAD, R1 and R2 commit the round (HEAD's microbatch MB forged when `forged`).
    function _commitRound(bool forged) internal {
        headC = _commitLeaves(0, HEAD, _headLeaves(ROUTES, forged ? MB : NONE));
        r1C = _commitLeaves(1, R1, _r1Leaves());
        r2C = _commitLeaves(1, R2, _r2Leaves());
    }

    function _headItem(uint32 m, bool forged) internal view returns (CommittedItem memory) {
        return _item(headC, _headLeaves(ROUTES, forged ? MB : NONE), m);
    }

    function _r1Item(uint256 slot) internal view returns (CommittedItem memory) {
        return _item(r1C, _r1Leaves(), slot);
    }

    function _r2Item(uint256 slot) internal view returns (CommittedItem memory) {
        return _item(r2C, _r2Leaves(), slot);
    }

    function _mint(uint256 w) internal returns (uint256 share) {
        (uint256 workerTokens, uint256 designerTokens) = ledger.mintReward(modelId, 0, workers[w]);
        share = workerTokens + designerTokens;
    }
}
