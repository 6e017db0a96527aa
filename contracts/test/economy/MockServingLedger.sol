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
}
