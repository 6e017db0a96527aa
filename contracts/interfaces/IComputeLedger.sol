// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title The part of the compute ledger other contracts read
interface IComputeLedger {
    /// @notice True when `operator` has at least the model's minimum worker stake bonded and is not
    /// unbonding or jailed: such an operator may fulfil the model's inference requests.
    function isServingOperator(uint64 modelId, address operator) external view returns (bool);
}
