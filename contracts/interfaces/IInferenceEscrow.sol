// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Inference escrow: types, events and custom errors
interface IInferenceEscrow {
    /// @notice The fields of a request. Only their hash is stored; `fulfill` and `refund` take them back
    /// as calldata (they are all in the `InferenceRequested` event).
    /// @dev `pipelineKey` names the registered pipeline (the ordered stage operators) that alone may fulfil it.
    /// Never stored (only its hash is): six calldata words, hashed as they lie, so packing would gain nothing.
    // solhint-disable-next-line gas-struct-packing
    struct InferenceRequest {
        uint64 modelId;
        bytes32 pipelineKey;
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

    /// @notice A fee was escrowed for one inference of `modelId` by the pipeline `pipelineKey`.
    event InferenceRequested(
        uint256 indexed requestId,
        bytes32 indexed pipelineKey,
        address indexed requester,
        uint64 modelId,
        bytes32 inputHash,
        uint256 feeWei,
        uint64 deadline
    );
    /// @notice The fee was split: `protocolFeeWei` to the treasury, `operatorFeeWeiPerStage` to each stage
    /// served, accrued to the pipeline `pipelineKey` (the request's; its operators are in its
    /// `PipelineRegistered` event), and `holdersWei` into the model token. `fulfiller` is a member of the pipeline.
    event InferenceFulfilled(
        uint256 indexed requestId,
        bytes32 indexed pipelineKey,
        address indexed fulfiller,
        bytes32 outputHash,
        uint256 protocolFeeWei,
        uint256 operatorFeeWeiPerStage,
        uint256 holdersWei
    );
    /// @notice Every operator of `stageOperators` consented: the pipeline `pipelineKey`
    /// (`keccak256(abi.encode(modelId, stageOperators))`) may now be named by requests of `modelId`.
    event PipelineRegistered(bytes32 indexed pipelineKey, uint64 indexed modelId, address[] stageOperators);
    /// @notice `operator` is a member of the pipeline `pipelineKey` (once per distinct operator, at
    /// registration): index for an operator's discovery of the pipelines whose shares it can withdraw.
    event PipelineMemberAdded(bytes32 indexed pipelineKey, address indexed operator);
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
    /// @notice A pipeline must list exactly one operator per stage of the model.
    error InferenceEscrowStageCountMismatch(uint256 expected, uint256 got);
    error InferenceEscrowNothingToWithdraw(address account);
    error InferenceEscrowTransferFailed(address to);
    /// @notice The registry reports a token other than its deterministic CREATE2 deployment for `modelId`.
    error InferenceEscrowUnexpectedToken(uint64 modelId, address token);
    /// @notice A cumulative fee accumulator would pass 2^128 wei (unreachable with real ETH).
    error InferenceEscrowAccountingOverflow(bytes32 pipelineKey);
    /// @notice No pipeline `pipelineKey` is registered for `modelId`.
    error InferenceEscrowUnknownPipeline(uint64 modelId, bytes32 pipelineKey);
    /// @notice The pipeline `pipelineKey` is already registered.
    error InferenceEscrowPipelineExists(bytes32 pipelineKey);
    /// @notice The stage operators given to `fulfill` hash to `pipelineKey`, not to the request's pipeline.
    error InferenceEscrowPipelineMismatch(uint256 requestId, bytes32 pipelineKey);
    /// @notice `account` is not a stage operator of the pipeline `pipelineKey`.
    error InferenceEscrowNotPipelineMember(bytes32 pipelineKey, address account);
    /// @notice The consents' deadline has passed (`block.timestamp >= deadline`).
    error InferenceEscrowConsentExpired(uint64 deadline);
    /// @notice `registerPipeline` needs one consent entry per stage (empty for the caller and for repeats).
    error InferenceEscrowConsentCountMismatch(uint256 expected, uint256 got);
    /// @notice `operator`'s consent is not a valid signature (EOA or ERC-1271) of the pipeline consent.
    error InferenceEscrowInvalidConsent(address operator);
}
