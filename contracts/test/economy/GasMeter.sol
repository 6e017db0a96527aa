// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Test} from "forge-std/Test.sol";

/// @title Turns a measured call into the gas of the equivalent transaction
/// @dev Before measuring, the target and the sender are warmed (a transaction has `tx.to` and `tx.origin`
/// warm), so `gasleft` deltas hold the callee's execution plus a warm CALL (~100, plus 9000 when the
/// call carries value, which a transaction's 21000 already covers). Storage stays cold, as in a fresh
/// transaction: each gas test measures one call per storage layout.
abstract contract GasMeter is Test {
    uint256 internal constant TX_BASE = 21_000;
    uint256 internal constant WARM_CALL = 100;
    uint256 internal constant VALUE_CALL = 9_000;

    /// @dev EIP-2028 calldata price: 4 per zero byte, 16 per non-zero byte.
    function _calldataGas(bytes memory data) internal pure returns (uint256 gas) {
        for (uint256 i; i < data.length; ++i) {
            gas += data[i] == 0 ? 4 : 16;
        }
    }

    /// @dev Transaction gas of a call measured as `callGas` with `data` as calldata.
    function _txGas(bytes memory data, uint256 callGas, bool withValue) internal pure returns (uint256) {
        uint256 overhead = WARM_CALL + (withValue ? VALUE_CALL : 0);
        return TX_BASE + _calldataGas(data) + callGas - overhead;
    }

    function _warm(address target) internal view {
        // solhint-disable-next-line no-unused-vars
        target.code.length;
        target.balance;
    }
}
