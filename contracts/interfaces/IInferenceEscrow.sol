// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Inference escrow: types, events and custom errors
interface IInferenceEscrow {
    /// @notice The fields of a request. Only their hash is stored; `fulfill` and `refund` take them back
    /// as calldata (they are all in the `InferenceRequested` event).
    struct InferenceRequest {
        uint64 modelId;
        address requester;
        uint256 feeWei;
        uint64 deadline;
        bytes32 inputHash;
    }

    enum RequestState {
        None,
        Live,
        Fulfilled,
        Refunded
    }

    event InferenceRequested(
        uint256 indexed requestId,
        uint64 indexed modelId,
        address indexed requester,
        bytes32 inputHash,
        uint256 feeWei,
        uint64 deadline
    );
    /// @notice The fee was split: `protocolFeeWei` to the treasury's share, `operatorFeeWeiPerStage` to each
    /// stage's operator, both accrued to the pipeline `pipelineKey` (its stage operators are in its
    /// `PipelineOpened` event: logging a key instead of the list saves ~1k gas per fulfilment), and
    /// `holdersWei` into the model token.
    event InferenceFulfilled(
        uint256 indexed requestId,
        uint64 indexed modelId,
        address indexed fulfiller,
        bytes32 outputHash,
        uint256 protocolFeeWei,
        uint256 operatorFeeWeiPerStage,
        uint256 holdersWei,
        bytes32 pipelineKey
    );
    /// @notice First fulfilment through `stageOperators` for `modelId`: the pipeline `pipelineKey`
    /// (`keccak256(abi.encode(modelId, stageOperators))`) now accrues their per-stage and the protocol's shares.
    event PipelineOpened(bytes32 indexed pipelineKey, uint64 indexed modelId, address[] stageOperators);
    /// @notice `account`'s pipeline shares of `amountWei` moved into its withdrawable balance.
    // solhint-disable-next-line gas-indexed-events
    event BalanceSettled(address indexed account, uint256 amountWei);
    event InferenceRefunded(uint256 indexed requestId, uint64 indexed modelId, address indexed requester, uint256 feeWei);
    // solhint-disable-next-line gas-indexed-events
    event Withdrawn(address indexed account, address indexed to, uint256 amountWei);
    /// @notice The escrow copied a model's immutable fee terms from the registry.
    // solhint-disable-next-line gas-indexed-events
    event ModelTermsCached(uint64 indexed modelId, address token, uint16 stageCount, uint16 protocolFeeBps, uint16 operatorFeeBps, uint128 minRequestFeeWei);

    error InferenceEscrowZeroAddress();
    error InferenceEscrowUnknownModel(uint64 modelId);
    error InferenceEscrowFeeTooLow(uint256 feeWei, uint256 minRequestFeeWei);
    error InferenceEscrowInvalidDeadline(uint64 deadline);
    /// @notice No request has this id.
    error InferenceEscrowUnknownRequest(uint256 requestId);
    /// @notice The calldata fields do not hash to the stored request.
    error InferenceEscrowRequestMismatch(uint256 requestId);
    error InferenceEscrowAlreadyFulfilled(uint256 requestId);
    error InferenceEscrowAlreadyRefunded(uint256 requestId);
    error InferenceEscrowDeadlinePassed(uint256 requestId, uint64 deadline);
    error InferenceEscrowDeadlineNotReached(uint256 requestId, uint64 deadline);
    error InferenceEscrowNotServingOperator(uint64 modelId, address operator);
    error InferenceEscrowStageCountMismatch(uint256 expected, uint256 got);
    error InferenceEscrowNothingToWithdraw(address account);
    error InferenceEscrowTransferFailed(address to);
    /// @notice The registry reports a token other than its deterministic clone for `modelId`.
    error InferenceEscrowUnexpectedToken(uint64 modelId, address token);
    /// @notice A pipeline's cumulative earnings would pass 2^104 wei (unreachable with real ETH).
    error InferenceEscrowAccountingOverflow(bytes32 pipelineKey);
}
