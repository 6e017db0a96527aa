// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Inference escrow: types, events, custom errors and entry points (NatSpec on `InferenceEscrow`)
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

    /// @notice What one stage operator signs it computed for a fulfilled request (EIP-712
    /// `ServingCommitment(uint256 requestId,uint16 stage,bytes32 weightsRoot,bytes32 sampling,bytes32 outputsRoot,uint32 positions)`;
    /// the request id and the stage are implied by where it is passed). docs/PROTOCOL.md "Verified inference".
    struct ServingCommitment {
        /// root of the stage weights it served with
        bytes32 weightsRoot;
        /// `keccak256(abi.encode(bytes32 seed, uint32 temperatureMilli, uint32 topK))` on the stage that samples (seed:
        /// `keccak256(abi.encode(requestId, inputHash))`); zero elsewhere
        bytes32 sampling;
        /// Merkle root (OpenZeppelin standard tree) of `(uint32 position, bytes32 outputHash)` per generated position
        bytes32 outputsRoot;
        /// generated positions it served
        uint32 positions;
    }

    /// @notice One leaf of a stage's `outputsRoot` and the frame its operator signed for the same position
    /// (EIP-712 `ServingFrame(uint256 requestId,uint16 stage,uint32 position,bytes32 payloadHash)`) with another hash.
    struct ServingEquivocation {
        uint16 stage;
        uint32 position;
        bytes32 committedHash;
        bytes32[] proof;
        bytes32 signedHash;
        /// EIP-2098 compact (`r`, `vs`: 64 bytes)
        bytes signature;
    }

    /// @dev `Released`: fulfilled, the challenge window over and the operators' shares paid out.
    enum RequestState {
        None,
        Live,
        Fulfilled,
        Refunded,
        Released
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
    /// `servingRoot` is `keccak256` of the stages' `ServingCommitment` struct hashes in stage order; the
    /// operators' shares stay in escrow until `release` after `challengeableUntil` (unix seconds).
    event InferenceFulfilled(
        uint256 indexed requestId,
        bytes32 indexed pipelineKey,
        address indexed fulfiller,
        bytes32 outputHash,
        uint256 protocolFeeWei,
        uint256 operatorFeeWeiPerStage,
        uint256 holdersWei,
        bytes32 servingRoot,
        uint64 challengeableUntil
    );
    /// @notice What stage `stage` of request `requestId` served was challenged: ledger dispute `disputeId`.
    event ServingChallenged(
        uint256 indexed requestId, uint16 stage, address indexed operator, uint256 disputeId, address indexed challenger
    );
    /// @notice Stage `stage`'s operator signed a frame at `position` other than the output it committed: slashed.
    event ServingEquivocationProven(uint256 indexed requestId, uint16 stage, address indexed operator, uint32 position, address indexed prover);
    /// @notice `validator` re-executed stage `stage` of request `requestId` and found it correct.
    event ServingAudited(uint256 indexed requestId, uint16 stage, address indexed validator);
    /// @notice A serving dispute or proof over `stage` ended; when `fraud`, `refundWei` went to the requester.
    event ServingVerdict(uint256 indexed requestId, uint16 stage, bool fraud, uint256 refundWei);
    /// @notice The operators' shares of request `requestId` were paid out: `perStageWei` to each stage
    /// not proven at fault, `forfeitedWei` (the stages proven at fault) to the treasury.
    event ServingFeesReleased(uint256 indexed requestId, bytes32 indexed pipelineKey, uint256 perStageWei, uint256 forfeitedWei);
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
    /// @notice A fulfilment needs one serving commitment and one 64-byte signature per stage.
    error InferenceEscrowCommitmentCountMismatch(uint256 expected, uint256 commitments, uint256 signatures);
    /// @notice Stage `stage`'s serving commitment is not signed by its operator.
    error InferenceEscrowInvalidServingSignature(uint256 stage, address operator);
    /// @notice Request `requestId` is not fulfilled and unreleased, or the fulfilment given is not the stored one.
    error InferenceEscrowFulfilmentMismatch(uint256 requestId);
    error InferenceEscrowChallengeWindowClosed(uint256 requestId, uint64 challengeableUntil);
    error InferenceEscrowChallengeWindowOpen(uint256 requestId, uint64 challengeableUntil);
    /// @notice Fees of a request with an open serving dispute cannot be released.
    error InferenceEscrowServingDisputeOpen(uint256 requestId);
    error InferenceEscrowBadStage(uint16 stage, uint256 stageCount);
    /// @notice Stage `stage` of request `requestId` is already proven at fault.
    error InferenceEscrowServingAlreadyProven(uint256 requestId, uint16 stage);
    error InferenceEscrowInvalidOutputProof();
    error InferenceEscrowNotAnEquivocation();
    error InferenceEscrowInvalidFrameSignature();
    /// @notice Only the ledger reports serving verdicts.
    error InferenceEscrowNotLedger(address caller);

    // ---------------------------------------------------------------- entry points

    function registerPipeline(uint64 modelId, address[] calldata stageOperators, uint64 consentDeadline, bytes[] calldata consents)
        external
        returns (bytes32 key);
    function request(uint64 modelId, bytes32 pipelineKey_, bytes32 inputHash, uint64 deadline)
        external
        payable
        returns (uint256 requestId);
    function fulfill(
        uint256 requestId,
        InferenceRequest calldata req,
        bytes32 outputHash,
        ServingCommitment[] calldata commitments,
        bytes calldata signatures,
        address[] calldata stageOperators
    ) external;
    function release(
        uint256 requestId,
        InferenceRequest calldata req,
        bytes32 outputHash,
        bytes32 servingRoot,
        address[] calldata stageOperators
    ) external;
    function challengeServing(
        uint256 requestId,
        InferenceRequest calldata req,
        bytes32 outputHash,
        ServingCommitment[] calldata commitments,
        address[] calldata stageOperators,
        uint16 stage
    ) external payable returns (uint256 disputeId);
    function proveServingEquivocation(
        uint256 requestId,
        InferenceRequest calldata req,
        bytes32 outputHash,
        ServingCommitment[] calldata commitments,
        address[] calldata stageOperators,
        ServingEquivocation calldata e
    ) external;
    function attestServing(uint256 requestId, uint16 stage) external;
    function refund(uint256 requestId, InferenceRequest calldata req) external;
    function withdraw(address to, bytes32[] calldata pipelineKeys) external returns (uint256 amountWei);
    function settle(address account, bytes32[] calldata pipelineKeys) external returns (uint256 amountWei);
    function cacheModelTerms(uint64 modelId) external;

    // ---------------------------------------------------------------- views

    // solhint-disable-next-line func-name-mixedcase
    function PIPELINE_CONSENT_TYPEHASH() external view returns (bytes32);
    // solhint-disable-next-line func-name-mixedcase
    function SERVING_COMMITMENT_TYPEHASH() external view returns (bytes32);
    // solhint-disable-next-line func-name-mixedcase
    function SERVING_FRAME_TYPEHASH() external view returns (bytes32);
    // solhint-disable-next-line func-name-mixedcase
    function SERVING_AUDIT_BPS() external view returns (uint256);
    function treasury() external view returns (address);
    function requestCount() external view returns (uint256);
    function requestState(uint256 requestId) external view returns (RequestState);
    function fulfilment(uint256 requestId)
        external
        view
        returns (RequestState state, uint64 fulfilledAt, uint16 openDisputes, uint32 guiltyStages, uint256 refundOwedWei);
    function challengeWindowSec(uint64 modelId) external view returns (uint32);
    function requestHash(uint256 requestId) external view returns (bytes32);
    function hashRequest(InferenceRequest calldata req) external pure returns (bytes32);
    function balanceOf(address account) external view returns (uint256 amountWei);
    function protocolFeesOwed() external view returns (uint256);
    function pipeline(bytes32 key) external view returns (bool registered, uint64 modelId, uint256 perStageWei);
    function memberOf(bytes32 key, address account) external view returns (uint16 stagesServed, uint256 owedWei);
    function hashPipelineConsent(uint64 modelId, address[] calldata stageOperators, uint64 consentDeadline)
        external
        view
        returns (bytes32);
    function pipelineKey(uint64 modelId, address[] calldata stageOperators) external pure returns (bytes32 key);
    function tokenOf(uint64 modelId) external view returns (address);
    function splitFee(uint64 modelId, uint256 feeWei)
        external
        view
        returns (uint256 protocolFeeWei, uint256 operatorFeeWeiPerStage, uint256 holdersWei);
}
