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

    /// @notice Opens a committee dispute over what `operator` served at `stage` for inference request
    /// `requestId` (docs/PROTOCOL.md "Verified inference"); the escrow only, which checked the signed
    /// serving commitment and forwards `challenger`'s bond as `msg.value`. On a fraud verdict up to
    /// `refundCapWei` of the slash goes back to the escrow for the requester.
    function openServingDispute(
        uint64 modelId,
        uint64 requestId,
        uint16 stage,
        address operator,
        address challenger,
        uint256 refundCapWei
    ) external payable returns (uint256 disputeId);

    /// @notice Slashes `operator` for a proven serving equivocation on request `requestId`; the escrow only,
    /// which checked the proof. Up to `refundCapWei` of the slash is sent back to the escrow (for the
    /// requester, through `IServingVerdicts.onServingVerdict`); `beneficiary` gets the winner's share of the rest.
    function slashServingOperator(
        uint64 modelId,
        uint64 requestId,
        uint16 stage,
        address operator,
        address beneficiary,
        uint256 refundCapWei
    ) external;
}

/// @title What the compute ledger tells the inference escrow when a serving dispute ends
interface IServingVerdicts {
    /// @notice The serving dispute (or proof) over `stage` of request `requestId` ended; `fraud` when its
    /// operator was slashed. `msg.value` is the part of the slash refunded to the requester.
    /// `closesDispute` is false for an objective proof, which opened no dispute.
    function onServingVerdict(uint256 requestId, uint16 stage, bool fraud, bool closesDispute) external payable;
}
