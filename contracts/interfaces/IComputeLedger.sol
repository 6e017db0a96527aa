// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title The part of the compute ledger other contracts read
interface IComputeLedger {
    /// @notice True when `operator` has at least the model's minimum worker stake bonded and is not
    /// unbonding or jailed: such an operator may fulfil the model's inference requests.
    function isServingOperator(uint64 modelId, address operator) external view returns (bool);

    /// @notice The first of `caller`, then `operators` in order, that is not a serving operator of `modelId`
    /// (`found` false when all are). One call checks a whole pipeline: the model's minimum stake is read
    /// once and the call overhead is paid once, however many stages.
    function findNonServingOperator(uint64 modelId, address caller, address[] calldata operators)
        external
        view
        returns (bool found, address operator);
}
