// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {IComputeLedger} from "./interfaces/IComputeLedger.sol";
import {LedgerBase} from "./ledger/LedgerBase.sol";
import {LedgerRewards} from "./ledger/LedgerRewards.sol";

/// @title Shardholder compute ledger: stake, signed commitments, challenges, slashing and rewards
/// @notice Workers stake native ETH and post EIP-712 signed commitments of the stage work they did
/// each round; validators challenge bad items or prove hash-chain breaks, a drawn committee votes,
/// losers are slashed; finalized rounds mint the model token pro rata to accepted compute units.
/// The parts live in `contracts/ledger/` (staking, commitments, disputes, rewards).
contract ComputeLedger is IComputeLedger, LedgerRewards {
    constructor(IModelRegistry registry_) LedgerBase(registry_) {}

    /// @inheritdoc IComputeLedger
    /// @dev A never-staked account is not serving even if the model's minimum stake is 0.
    function isServingOperator(uint64 modelId, address operator) external view returns (bool) {
        return _isServing(_stakers[operator], _viewModel(modelId).minWorkerStakeWei);
    }

    /// @notice The model registry whose terms this ledger enforces.
    function registry() external view returns (IModelRegistry) {
        return _registry;
    }
}
