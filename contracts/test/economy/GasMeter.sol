// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Test, Vm} from "forge-std/Test.sol";

/// @title Turns the last call's gas into the gas of the equivalent transaction, as its receipt shows it
/// @dev `vm.lastCallGas()` holds the callee frame's own gas (what a transaction's execution costs: the
/// caller-side CALL, value and cold-account charges are covered by a transaction's 21000) and its refund
/// counter. Transaction gas = 21000 + EIP-2028 calldata + frame gas - min(refund, gas / 5) (EIP-3529).
/// Measured this way a claim matches its on-chain receipt to the unit (bench/gas.json "chain").
/// The target and the sender are warmed first (a transaction has `tx.to` and `tx.origin` warm); storage
/// stays cold, as in a fresh transaction: each gas test measures one call per storage layout.
abstract contract GasMeter is Test {
    uint256 internal constant TX_BASE = 21_000;

    /// @dev EIP-2028 calldata price: 4 per zero byte, 16 per non-zero byte.
    function _calldataGas(bytes memory data) internal pure returns (uint256 gas) {
        for (uint256 i; i < data.length; ++i) {
            gas += data[i] == 0 ? 4 : 16;
        }
    }

    /// @dev Transaction gas of the last call, made with `data` as calldata.
    function _lastTxGas(bytes memory data) internal view returns (uint256) {
        Vm.Gas memory g = vm.lastCallGas();
        uint256 used = TX_BASE + _calldataGas(data) + g.gasTotalUsed;
        uint256 refund = uint256(uint64(g.gasRefunded));
        uint256 maxRefund = used / 5;
        return used - (refund < maxRefund ? refund : maxRefund);
    }

    /// @dev Execution gas of the last call (frame only, refund not subtracted).
    function _lastCallExecGas() internal view returns (uint256) {
        return vm.lastCallGas().gasTotalUsed;
    }

    /// @dev Records `gas` under `name` in `snapshots/<group>.json`: `npm run snapshot:gas` writes the
    /// file, `npm test` (`--snapshot-check`) fails on any difference, so a regression of a few gas shows.
    function _snap(string memory group, string memory name, uint256 gas) internal {
        vm.snapshotValue(group, name, gas);
    }

    function _warm(address target) internal view {
        // solhint-disable-next-line no-unused-vars
        target.code.length;
        target.balance;
    }
}
