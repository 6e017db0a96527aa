// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IComputeLedger} from "../../interfaces/IComputeLedger.sol";

/// @title Test double of the compute ledger's serving check (the real ledger is tested on its own and end to end)
contract MockServingLedger is IComputeLedger {
    mapping(uint64 modelId => mapping(address operator => bool)) private _serving;

    /// @notice Marks `operator` as serving (or not) for `modelId`.
    function setServing(uint64 modelId, address operator, bool serving) external {
        _serving[modelId][operator] = serving;
    }

    /// @inheritdoc IComputeLedger
    function isServingOperator(uint64 modelId, address operator) external view returns (bool) {
        return _serving[modelId][operator];
    }

    /// @inheritdoc IComputeLedger
    function findNonServingOperator(uint64 modelId, address caller, address[] calldata operators)
        external
        view
        returns (bool found, address operator)
    {
        if (!_serving[modelId][caller]) return (true, caller);
        for (uint256 i; i < operators.length; ++i) {
            operator = operators[i];
            if (operator != caller && !_serving[modelId][operator]) return (true, operator);
        }
        return (false, address(0));
    }
}
