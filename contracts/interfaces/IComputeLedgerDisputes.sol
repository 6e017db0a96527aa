// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IComputeLedgerTypes} from "./IComputeLedgerTypes.sol";

/// @title Entry points of the compute ledger implemented by its delegated dispute module:
/// challenges, committee draws, votes, appeals, resolution and data-availability challenges
interface IComputeLedgerDisputes is IComputeLedgerTypes {
    function challengeItem(CommittedItem calldata item) external payable returns (uint256 disputeId);
    function challengeChainBreak(CommittedItem calldata upstream, CommittedItem calldata downstream)
        external
        payable
        returns (uint256 disputeId);
    function drawCommittee(uint256 disputeId) external;
    function vote(uint256 disputeId, bool fraud) external;
    function appeal(uint256 disputeId, bool fraud) external payable;
    function resolveDispute(uint256 disputeId) external;
    function challengeAvailability(uint64 modelId, uint64 round, uint16 stage, address worker, uint32 index)
        external
        payable
        returns (uint256 challengeId);
    function revealItem(uint256 challengeId, CommittedItem calldata item) external;
    function slashUnavailable(uint256 challengeId) external;
}
