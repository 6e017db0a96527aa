// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {GasMeter} from "./economy/GasMeter.sol";
import {LedgerTestBase} from "./ledger/LedgerTestBase.sol";

/// @dev Execution gas of the hot paths (calldata and the 21k base are not included; see
/// `_calldataGas` for the calldata part). Every figure is recorded in snapshots/ComputeLedger.json and checked
/// exactly by `npm test`; assertions are only the targets of docs/PROTOCOL.md.
/// Batches are measured as the ledger's own frame (`vm.lastCallGas`, see GasMeter): what a relayer's
/// transaction executes. A `gasleft()` difference around the call would also count this test contract
/// ABI-encoding the batch from memory, which no transaction pays.
contract ComputeLedgerGasTest is LedgerTestBase, GasMeter {
    uint256 internal constant N = 32;
    address[] internal gw;
    uint256[] internal gk;

    function setUp() public override {
        super.setUp();
        for (uint256 i; i < N; ++i) {
            address w = makeAddr(string.concat("gas worker", vm.toString(i)));
            uint256 key = uint256(keccak256(abi.encode("gas key", i)));
            gw.push(w);
            gk.push(key);
            vm.deal(w, 2 ether);
            vm.prank(w);
            ledger.stake{value: 1 ether}(w, vm.addr(key));
        }
    }

    function _batch(uint64 round, uint256 from, uint256 n)
        internal
        view
        returns (Commitment[] memory cs, bytes[] memory sigs)
    {
        cs = new Commitment[](n);
        sigs = new bytes[](n);
        for (uint256 i; i < n; ++i) {
            uint256 w = from + i;
            uint16 stage = uint16(w % 2);
            cs[i] = Commitment({
                modelId: modelId,
                round: round,
                stage: stage,
                worker: gw[w],
                itemsRoot: keccak256(abi.encode("root", round, w)),
                itemCount: MICROBATCHES,
                weightsRootBefore: round == 0
                    ? registry.initialWeightsRoot(modelId, stage)
                    : keccak256(abi.encode("w", stage, round)),
                weightsRootAfter: keccak256(abi.encode("w", stage, round + 1))
            });
            sigs[i] = _signWith(gk[w], cs[i]);
        }
    }

    /// @dev The 64-byte EIP-2098 form the SDK submits (`compactCommitmentSignature`).
    function _signWith(uint256 key, Commitment memory c) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, _digest(c, block.chainid, address(ledger)));
        return abi.encodePacked(r, (uint256(v - 27) << 255) | uint256(s));
    }

    /// @dev All calls of a test share one transaction: cool every touched account so each
    /// measurement pays cold access like a transaction of its own would.
    function _coolAll() internal {
        vm.cool(address(ledger));
        vm.cool(address(registry));
        vm.cool(address(token));
    }

    function _measure(Commitment[] memory cs, bytes[] memory sigs) internal returns (uint256 gasUsed) {
        _coolAll();
        ledger.submitCommitments(cs, sigs);
        gasUsed = _lastCallExecGas();
    }

    /// @dev EIP-2028 calldata cost of the call (4 gas per zero byte, 16 per nonzero byte).
    function _calldataGas(Commitment[] memory cs, bytes[] memory sigs) internal view returns (uint256) {
        return _calldataGas(abi.encodeCall(ledger.submitCommitments, (cs, sigs)));
    }

    /// @dev Rounds 0..RING_SIZE-1 fill every ring slot once and get rewarded, so round RING_SIZE reuses them.
    function _fillRing() internal returns (uint64 steadyRound) {
        steadyRound = uint64(ledger.RING_SIZE());
        for (uint64 r; r < steadyRound; ++r) {
            _warpToCommit(modelId, r);
            (Commitment[] memory cs, bytes[] memory sigs) = _batch(r, 0, N);
            ledger.submitCommitments(cs, sigs);
            _warpPastChallenge(modelId, r);
            ledger.finalizeRound(modelId, r);
            for (uint256 i; i < N; ++i) ledger.mintReward(modelId, r, gw[i]);
        }
        _warpToCommit(modelId, steadyRound);
    }

    /// @dev Per commitment: the ledger frame's execution gas, and the calldata it costs a relayer.
    function _report(string memory label, uint256 gasUsed, uint256 n, uint256 calldataGas) internal {
        _snap("ComputeLedger", string.concat("submitCommitments ", label, ", execution per commitment"), gasUsed / n);
        _snap("ComputeLedger", string.concat("submitCommitments ", label, ", calldata per commitment"), calldataGas / n);
    }

    function test_gas_submit_freshSlots() public {
        _warpToCommit(modelId, 0);
        (Commitment[] memory c1, bytes[] memory s1) = _batch(0, 0, 1);
        uint256 g1 = _measure(c1, s1);
        (Commitment[] memory c8, bytes[] memory s8) = _batch(0, 1, 8);
        uint256 g8 = _measure(c8, s8);
        (Commitment[] memory c23, bytes[] memory s23) = _batch(0, 9, 23);
        uint256 g23 = _measure(c23, s23);
        _report("fresh, single (first of the round)", g1, 1, _calldataGas(c1, s1));
        _report("fresh, batch of 8", g8, 8, _calldataGas(c8, s8));
        _report("fresh, batch of 23", g23, 23, _calldataGas(c23, s23));
    }

    function test_gas_submit_steadyStateRingReuse() public {
        uint64 r = _fillRing();
        (Commitment[] memory c32, bytes[] memory s32) = _batch(r, 0, 32);
        uint256 g32 = _measure(c32, s32);
        _report("steady, batch of 32", g32, 32, _calldataGas(c32, s32));
    }

    function test_gas_submit_steadyStateSmallBatches() public {
        uint64 r = _fillRing();
        (Commitment[] memory c1, bytes[] memory s1) = _batch(r, 0, 1);
        uint256 g1 = _measure(c1, s1);
        (Commitment[] memory c8, bytes[] memory s8) = _batch(r, 1, 8);
        uint256 g8 = _measure(c8, s8);
        _report("steady, single", g1, 1, _calldataGas(c1, s1));
        _report("steady, batch of 8", g8, 8, _calldataGas(c8, s8));
    }

    function test_gas_submit_freshBatch32() public {
        _warpToCommit(modelId, 0);
        (Commitment[] memory c32, bytes[] memory s32) = _batch(0, 0, 32);
        uint256 g32 = _measure(c32, s32);
        _report("fresh, batch of 32", g32, 32, _calldataGas(c32, s32));
    }

    /// @dev EIP-170: the ledger and its delegated validator module must each stay deployable.
    function test_size_ledgerAndValidatorModule_underEip170() public {
        uint256 ledgerBytes = address(ledger).code.length;
        uint256 moduleBytes = ledger.validatorModule().code.length;
        _snap("ComputeLedger", "runtime bytes, ComputeLedger", ledgerBytes);
        _snap("ComputeLedger", "runtime bytes, validator module", moduleBytes);
        assertLt(ledgerBytes, 24_577);
        assertLt(moduleBytes, 24_577);
    }

    function test_gas_mintReward() public {
        _warpToCommit(modelId, 0);
        (Commitment[] memory cs, bytes[] memory sigs) = _batch(0, 0, 4);
        ledger.submitCommitments(cs, sigs);
        _warpToCommit(modelId, 1);
        (cs, sigs) = _batch(1, 0, 4);
        ledger.submitCommitments(cs, sigs);
        _warpPastChallenge(modelId, 1);
        ledger.finalizeRound(modelId, 0);
        ledger.finalizeRound(modelId, 1);
        _coolAll();
        uint256 before = gasleft();
        ledger.mintReward(modelId, 0, gw[0]);
        uint256 first = before - gasleft();
        _coolAll();
        before = gasleft();
        ledger.mintReward(modelId, 1, gw[0]);
        uint256 again = before - gasleft();
        _snap("ComputeLedger", "mintReward, first mint to payout and designer", first);
        _snap("ComputeLedger", "mintReward, payout and designer already hold tokens", again);
        assertLt(again, 60_000, "mintReward above the 60k target");
    }
}
