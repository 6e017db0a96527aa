// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IComputeLedger, IServingVerdicts} from "./interfaces/IComputeLedger.sol";
import {IInferenceEscrow} from "./interfaces/IInferenceEscrow.sol";
import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {IModelToken} from "./interfaces/IModelToken.sol";

/// @dev The registry's public getter of the init code hash its model tokens are deployed with (CREATE2).
interface ITokenInitCode {
    function tokenInitCodeHash() external view returns (bytes32);
}

/// @title InferenceEscrow: paid inference requests, delivered by consenting pipelines of staked operators
/// @notice A pipeline is an ordered list of stage operators of a model. It exists only once every one of its
/// operators consented (`registerPipeline`: an EIP-712 `PipelineConsent` signature by each operator other than
/// the caller), so nobody is made a member of anything without consent. A requester escrows a fee naming one
/// registered pipeline; only a member of that pipeline can fulfil it, before the deadline, and the fee is split
/// into the protocol treasury's share, the pipeline's per-stage operator shares (pull) and the model token's
/// revenue accumulator. After the deadline an unfulfilled request can only be refunded to its requester; before
/// it the requester cannot take the fee back.
///
/// Why copying a pending fulfilment earns nothing: the operator shares go to the pipeline the requester named,
/// whoever sends the fulfilment; a non-member's copy reverts, a member's copy pays the same members the same
/// shares (the copier only pays its gas).
///
/// Gas design (fulfil is the hot path; see bench/gas.json):
/// - a request stores one slot, the hash of its fields shifted right by 8 bits (`fulfill`/`refund` take the
///   fields back as calldata); fulfilment overwrites it with `status << 248 | fulfilledAt << 208 | hash >> 48`
///   of the request, output and serving root, so challenges and the release take those back as calldata too;
///   a refund writes a marker.
/// - verified inference (docs/PROTOCOL.md "Verified inference"): every stage operator signs a
///   `ServingCommitment`, checked at fulfilment; the operators' shares stay here until `release` after the
///   model's challenge window, so a stage proven wrong (`challengeServing` + committee, or
///   `proveServingEquivocation`) forfeits its share and its slashed stake refunds the requester.
/// - operator shares are aggregated per pipeline: `pipelineKey = keccak256(abi.encode(modelId, stageOperators))`.
///   A fulfilment adds to the one pipeline slot (cumulative fee per stage, and the model's split terms),
///   however many stages; each member holds a checkpoint (the Uniswap-v3 fee-growth pattern) and is owed
///   `stagesServed * (perStage - paidPerStage)`, pulled per pipeline (`withdraw` and `settle` take the keys,
///   so every payout loop is bounded by the caller's own calldata).
/// - the protocol share is one cumulative counter beside a withdrawn counter (one slot, never zeroed, so a
///   treasury withdrawal does not make the next fulfilment pay a fresh-slot write): the treasury's share is
///   accounted without iterating pipelines.
/// - the token is the registry's deterministic CREATE2 deployment (salt = modelId, one init code hash for
///   every model): its address is computed, not read.
contract InferenceEscrow is IInferenceEscrow, IServingVerdicts, EIP712, ReentrancyGuardTransient {
    // ---------------------------------------------------------------- constants

    /// @notice EIP-712 type of an operator's consent to be a member of a pipeline (domain: name "Shardholder",
    /// version "1", this chain, this contract). `stageOperators` is hashed as `keccak256(abi.encodePacked(ops))`.
    bytes32 public constant PIPELINE_CONSENT_TYPEHASH =
        // solhint-disable-next-line gas-small-strings
        keccak256("PipelineConsent(uint64 modelId,address[] stageOperators,uint64 deadline)");
    /// @notice EIP-712 type of what a stage operator signs it served for a request (see `ServingCommitment`).
    bytes32 public constant SERVING_COMMITMENT_TYPEHASH = keccak256(
        // solhint-disable-next-line gas-small-strings
        "ServingCommitment(uint256 requestId,uint16 stage,bytes32 weightsRoot,bytes32 sampling,bytes32 outputsRoot,uint32 positions)"
    );
    /// @notice EIP-712 type of what a stage operator signs for each serving frame it sends (`payloadHash` =
    /// keccak256 of the frame payload): a signed frame that differs from its committed output is an equivocation.
    bytes32 public constant SERVING_FRAME_TYPEHASH =
        // solhint-disable-next-line gas-small-strings
        keccak256("ServingFrame(uint256 requestId,uint16 stage,uint32 position,bytes32 payloadHash)");
    /// @notice The share of fulfilled requests each stage's validators re-execute, in bps: request `id` is
    /// audited when `keccak256(abi.encode(blockhash(fulfilment block), id)) % 1e4 < SERVING_AUDIT_BPS`
    /// (unknown to the operators until the fulfilment is mined). Anyone may still challenge any request.
    uint256 public constant SERVING_AUDIT_BPS = 1000;
    uint256 private constant _BPS = 10_000;
    /// @dev A refunded request's slot; fulfilled ones are cleared. A keccak output is never 2 (or 0).
    bytes32 private constant _REFUNDED = bytes32(uint256(2));
    uint256 private constant _FLAG = 1 << 255;
    uint256 private constant _M128 = type(uint128).max;
    // model terms: _FLAG | minRequestFeeWei << 64 | operatorFeeBps << 32 | protocolFeeBps << 16 | stageCount
    uint256 private constant _MIN_FEE_SHIFT = 64;
    uint256 private constant _OP_BPS_SHIFT = 32;
    uint256 private constant _PROTO_BPS_SHIFT = 16;
    // pipeline: _FLAG | operatorFeeBps << 224 | protocolFeeBps << 208 | modelId << 128 | perStageWei (128 bits)
    // member:   _FLAG | stagesServed << 208 | paidPerStageWei (128 bits)
    // protocol: earnedWei << 128 | withdrawnWei (both cumulative)
    uint256 private constant _P_OP_BPS_SHIFT = 224;
    uint256 private constant _P_PROTO_BPS_SHIFT = 208;
    uint256 private constant _P_MODEL_SHIFT = 128;
    uint256 private constant _STAGES_SHIFT = 208;
    uint256 private constant _STAGE_ONE = 1 << _STAGES_SHIFT;
    // model terms, above the fee terms: challengeWindowSec << 192
    uint256 private constant _WINDOW_SHIFT = 192;
    // fulfilment: status << 248 | fulfilledAt << 208 | keccak256(requestHash, outputHash, servingRoot) >> 48
    uint256 private constant _STATUS_SHIFT = 248;
    uint256 private constant _FULFILLED = 1;
    uint256 private constant _RELEASED = 3;
    uint256 private constant _AT_SHIFT = 208;
    uint256 private constant _HASH_MASK = (1 << 208) - 1;
    // serving case: openDisputes << 160 | guiltyStages << 128 | refundOwedWei
    uint256 private constant _OPEN_SHIFT = 160;
    uint256 private constant _GUILTY_SHIFT = 128;

    // ---------------------------------------------------------------- storage

    /// @notice Where model terms come from.
    // solhint-disable-next-line immutable-vars-naming
    IModelRegistry public immutable registry; // public getter names are part of the ABI
    /// @notice Who may serve: `ledger.findNonServingOperator(modelId, caller, stageOperators)` checks a pipeline.
    // solhint-disable-next-line immutable-vars-naming
    IComputeLedger public immutable ledger;
    /// @notice Receives the protocol share, one counter pulled by `withdraw` (it is a pipeline member only
    /// if it consented to serve as a stage operator, like anyone else).
    // solhint-disable-next-line immutable-vars-naming
    address public immutable treasury;
    /// @dev keccak256 of the init code of the registry's model tokens (`ModelRegistry.tokenInitCodeHash`),
    /// read once here so `tokenOf` on the fulfil path only hashes the CREATE2 preimage.
    // solhint-disable-next-line immutable-vars-naming
    bytes32 private immutable _tokenInitCodeHash;

    uint256 private _requestCount;
    /// @dev `earnedWei << 128 | withdrawnWei`: the treasury's protocol fees, cumulative.
    uint256 private _protocolFees;
    /// @dev Live: hash of the request fields; fulfilled: 0; refunded: `_REFUNDED`.
    mapping(uint256 requestId => bytes32) private _requests;
    /// @dev Settled, withdrawable balances (pipeline shares not yet settled are on top).
    mapping(address account => uint256) private _balances;
    mapping(uint64 modelId => uint256) private _terms;
    mapping(bytes32 pipelineKey => uint256) private _pipelines;
    mapping(bytes32 pipelineKey => mapping(address account => uint256)) private _members;
    /// @dev Requests whose serving was challenged or proven wrong: open disputes, stages at fault, refund still owed.
    mapping(uint256 requestId => uint256) private _cases;
    mapping(uint256 requestId => address) private _caseRequesters;

    // ---------------------------------------------------------------- setup

    constructor(IModelRegistry registry_, IComputeLedger ledger_, address treasury_) EIP712("Shardholder", "1") {
        if (address(registry_) == address(0) || address(ledger_) == address(0) || treasury_ == address(0)) {
            revert InferenceEscrowZeroAddress();
        }
        registry = registry_;
        ledger = ledger_;
        treasury = treasury_;
        _tokenInitCodeHash = ITokenInitCode(address(registry_)).tokenInitCodeHash();
    }

    // ---------------------------------------------------------------- pipelines

    /// @notice Registers the pipeline of `modelId` served by `stageOperators` (one per stage, in stage order;
    /// an operator serving several stages appears several times and is paid per stage). Every distinct
    /// operator must consent: the caller by sending the transaction, every other one by an EIP-712
    /// `PipelineConsent(modelId, stageOperators, consentDeadline)` signature (EOA or ERC-1271) at the index of
    /// its first appearance in `consents`; other entries are ignored (pass empty bytes).
    /// Operators need not be staked to be registered; `fulfill` checks that they are serving.
    /// @param consentDeadline Unix time (exclusive) after which the consents are void.
    /// @return key The pipeline key, `keccak256(abi.encode(modelId, stageOperators))`.
    function registerPipeline(
        uint64 modelId,
        address[] calldata stageOperators,
        uint64 consentDeadline,
        bytes[] calldata consents
    ) external returns (bytes32 key) {
        // solhint-disable-next-line gas-strict-inequalities
        if (block.timestamp >= consentDeadline) revert InferenceEscrowConsentExpired(consentDeadline);
        uint256 terms = _terms[modelId];
        if (terms == 0) terms = _cacheTerms(modelId);
        uint256 stageCount = uint16(terms);
        if (stageOperators.length != stageCount) {
            revert InferenceEscrowStageCountMismatch(stageCount, stageOperators.length);
        }
        if (consents.length != stageCount) revert InferenceEscrowConsentCountMismatch(stageCount, consents.length);
        key = pipelineKey(modelId, stageOperators);
        if (_pipelines[key] != 0) revert InferenceEscrowPipelineExists(key);
        bytes32 digest = hashPipelineConsent(modelId, stageOperators, consentDeadline);
        for (uint256 i; i < stageCount; ++i) {
            address operator = stageOperators[i];
            mapping(address => uint256) storage members = _members[key];
            uint256 member = members[operator];
            if (member == 0) {
                if (
                    operator != msg.sender
                        && !SignatureChecker.isValidSignatureNowCalldata(operator, digest, consents[i])
                ) revert InferenceEscrowInvalidConsent(operator);
                member = _FLAG;
                emit PipelineMemberAdded(key, operator);
            }
            members[operator] = member + _STAGE_ONE;
        }
        _pipelines[key] = _FLAG | (uint256(uint16(terms >> _OP_BPS_SHIFT)) << _P_OP_BPS_SHIFT)
            | (uint256(uint16(terms >> _PROTO_BPS_SHIFT)) << _P_PROTO_BPS_SHIFT) | (uint256(modelId) << _P_MODEL_SHIFT);
        emit PipelineRegistered(key, modelId, stageOperators);
    }

    // ---------------------------------------------------------------- requests

    /// @notice Escrows `msg.value` as the fee of one inference of `modelId` by the registered pipeline
    /// `pipelineKey`, on the input whose hash is `inputHash` (the input itself travels off-chain),
    /// deliverable until `deadline` (exclusive). Only a member of that pipeline can fulfil it.
    /// @return requestId Sequential id (1, 2, ...).
    function request(uint64 modelId, bytes32 pipelineKey_, bytes32 inputHash, uint64 deadline)
        external
        payable
        returns (uint256 requestId)
    {
        uint256 terms = _terms[modelId];
        if (terms == 0) terms = _cacheTerms(modelId);
        uint256 minFee = (terms >> _MIN_FEE_SHIFT) & _M128;
        if (msg.value < minFee) revert InferenceEscrowFeeTooLow(msg.value, minFee);
        // solhint-disable-next-line gas-strict-inequalities
        if (deadline <= block.timestamp) revert InferenceEscrowInvalidDeadline(deadline);
        uint256 packed = _pipelines[pipelineKey_];
        if (packed == 0 || uint64(packed >> _P_MODEL_SHIFT) != modelId) {
            revert InferenceEscrowUnknownPipeline(modelId, pipelineKey_);
        }
        requestId = ++_requestCount;
        _requests[requestId] = _hash(modelId, pipelineKey_, msg.sender, msg.value, deadline, inputHash) >> 8;
        emit InferenceRequested(requestId, pipelineKey_, msg.sender, modelId, inputHash, msg.value, deadline);
    }

    /// @notice Delivers request `requestId`: `stageOperators` must be the operators of the request's pipeline
    /// (they hash to `req.pipelineKey`), the caller one of them, and all of them serving operators of the
    /// model, strictly before the deadline, once. Each stage's operator must have signed its
    /// `ServingCommitment` (EIP-712, EOA key). Splits the fee (see `InferenceFulfilled`): the protocol's share
    /// to the treasury's counter and the holders' to the token now; the operators' shares stay here until
    /// `release`, after the model's challenge window.
    /// @param req The request's fields exactly as emitted by `InferenceRequested`.
    /// @param outputHash Hash of the delivered output (the output travels off-chain).
    /// @param commitments One per stage, in stage order.
    /// @param signatures Each stage operator's EIP-2098 compact signature (`r`, `vs`: 64 bytes) of its
    /// commitment, concatenated in stage order.
    /// @custom:security The token is the registry's deployment (trusted code); state is final before it is called.
    function fulfill(
        uint256 requestId,
        InferenceRequest calldata req,
        bytes32 outputHash,
        ServingCommitment[] calldata commitments,
        bytes calldata signatures,
        address[] calldata stageOperators
    ) external nonReentrant {
        bytes32 reqHash = _checkLive(requestId, req);
        // solhint-disable-next-line gas-strict-inequalities
        if (block.timestamp >= req.deadline) revert InferenceEscrowDeadlinePassed(requestId, req.deadline);
        bytes32 key = pipelineKey(req.modelId, stageOperators);
        if (key != req.pipelineKey) revert InferenceEscrowPipelineMismatch(requestId, key);
        _checkMember(key, stageOperators);
        _checkServing(req.modelId, stageOperators);
        if (signatures.length != stageOperators.length * 64) {
            revert InferenceEscrowCommitmentCountMismatch(stageOperators.length, commitments.length, signatures.length / 64);
        }
        bytes32 servingRoot = _servingRoot(requestId, commitments, stageOperators, signatures);
        _requests[requestId] = bytes32(
            (_FULFILLED << _STATUS_SHIFT) | (block.timestamp << _AT_SHIFT)
                | (uint256(keccak256(abi.encode(reqHash, outputHash, servingRoot))) >> 48)
        );
        _payFulfilment(requestId, req, outputHash, servingRoot, stageOperators.length);
    }

    /// @notice Pays out the operators' shares of fulfilled request `requestId` once its challenge window is
    /// over and no serving dispute is open: to the pipeline (pulled by `withdraw`), or, when a stage was
    /// proven wrong, directly to each stage operator not at fault (the shares of those at fault go to the
    /// treasury). Anyone may call it; the shares only go to the operators.
    /// @param servingRoot As emitted by `InferenceFulfilled`.
    function release(
        uint256 requestId,
        InferenceRequest calldata req,
        bytes32 outputHash,
        bytes32 servingRoot,
        address[] calldata stageOperators
    ) external nonReentrant {
        uint256 word = _checkFulfilled(requestId, req, outputHash, servingRoot, stageOperators);
        uint64 until = _challengeableUntil(word, req.modelId);
        if (block.timestamp < until) revert InferenceEscrowChallengeWindowOpen(requestId, until);
        uint256 servingCase = _cases[requestId];
        if (servingCase >> _OPEN_SHIFT != 0) revert InferenceEscrowServingDisputeOpen(requestId);
        _requests[requestId] = bytes32((word & ~(uint256(0xff) << _STATUS_SHIFT)) | (_RELEASED << _STATUS_SHIFT));
        bytes32 key = req.pipelineKey;
        uint256 packed = _pipelines[key];
        (, uint256 perStageWei,) =
            _split(packed >> _P_PROTO_BPS_SHIFT, packed >> _P_OP_BPS_SHIFT, stageOperators.length, req.feeWei);
        uint256 guilty = uint32(servingCase >> _GUILTY_SHIFT);
        uint256 forfeitedWei;
        if (perStageWei != 0) {
            if (guilty == 0) {
                uint256 earnedPerStage = (packed & _M128) + perStageWei;
                if (earnedPerStage > _M128) revert InferenceEscrowAccountingOverflow(key);
                _pipelines[key] = (packed & ~_M128) | earnedPerStage;
            } else {
                for (uint256 s; s < stageOperators.length; ++s) {
                    if (guilty >> s & 1 == 1) forfeitedWei += perStageWei;
                    else _balances[stageOperators[s]] += perStageWei;
                }
                _accrueProtocol(forfeitedWei);
            }
        }
        emit ServingFeesReleased(requestId, key, perStageWei, forfeitedWei);
    }

    /// @notice Challenges what stage `stage` served for fulfilled request `requestId`, within its challenge
    /// window, with the ledger's challenge bond (`ledger.challengeBondWei(modelId)`) as `msg.value`: a
    /// committee of that stage's validators re-executes it and votes (ledger dispute, see `ServingChallenged`).
    /// A fraud verdict slashes the operator, refunds the requester from the slash (up to the fee) and
    /// forfeits the stage's share; the fees of the request are held until the dispute ends.
    /// @param commitments The stages' serving commitments of the fulfilment (its calldata).
    /// @return disputeId The ledger's dispute id.
    function challengeServing(
        uint256 requestId,
        InferenceRequest calldata req,
        bytes32 outputHash,
        ServingCommitment[] calldata commitments,
        address[] calldata stageOperators,
        uint16 stage
    ) external payable nonReentrant returns (uint256 disputeId) {
        address operator = _challengeable(requestId, req, outputHash, commitments, stageOperators, stage);
        uint256 servingCase = _openCase(requestId, req);
        _cases[requestId] = servingCase + (1 << _OPEN_SHIFT);
        disputeId = ledger.openServingDispute{value: msg.value}(
            req.modelId, uint64(requestId), stage, operator, msg.sender, uint128(servingCase)
        );
        emit ServingChallenged(requestId, stage, operator, disputeId, msg.sender);
    }

    /// @notice Proves that stage `e.stage`'s operator signed a serving frame (`ServingFrame`) at
    /// `e.position` whose payload hash differs from the output it committed there (`e.proof` against its
    /// commitment's `outputsRoot`): the ledger slashes it at once, the requester is refunded from the slash
    /// and the stage's share is forfeited. Anyone may send it within the challenge window; the prover gets
    /// the winner's share of the slash beyond the refund.
    function proveServingEquivocation(
        uint256 requestId,
        InferenceRequest calldata req,
        bytes32 outputHash,
        ServingCommitment[] calldata commitments,
        address[] calldata stageOperators,
        ServingEquivocation calldata e
    ) external nonReentrant {
        uint16 stage = e.stage;
        address operator = _challengeable(requestId, req, outputHash, commitments, stageOperators, stage);
        _checkEquivocation(requestId, commitments[stage].outputsRoot, operator, e);
        uint256 servingCase = _openCase(requestId, req);
        emit ServingEquivocationProven(requestId, stage, operator, e.position, msg.sender);
        ledger.slashServingOperator(req.modelId, uint64(requestId), stage, operator, msg.sender, uint128(servingCase));
    }

    /// @notice A validator says it re-executed what stage `stage` served for fulfilled request `requestId`
    /// and found it correct (`ServingAudited`). Informational: it moves no funds, so anyone may send it,
    /// and readers count only attestations from validators of that stage (the SDK's `getServingStatus`).
    /// A false attestation protects nobody: the request stays challengeable until its window ends.
    function attestServing(uint256 requestId, uint16 stage) external {
        if (uint256(_requests[requestId]) >> _STATUS_SHIFT != _FULFILLED) revert InferenceEscrowFulfilmentMismatch(requestId);
        emit ServingAudited(requestId, stage, msg.sender);
    }

    /// @inheritdoc IServingVerdicts
    /// @dev The ledger only. Never reverts for the ledger's calls (a revert would block the dispute's
    /// resolution): a refund beyond what is owed goes to the treasury.
    function onServingVerdict(uint256 requestId, uint16 stage, bool fraud, bool closesDispute) external payable {
        if (msg.sender != address(ledger)) revert InferenceEscrowNotLedger(msg.sender);
        uint256 servingCase = _cases[requestId];
        if (closesDispute) servingCase -= 1 << _OPEN_SHIFT;
        uint256 refundWei;
        if (fraud) {
            servingCase |= (1 << (_GUILTY_SHIFT + stage));
            uint256 owedWei = uint128(servingCase);
            refundWei = msg.value < owedWei ? msg.value : owedWei;
            servingCase -= refundWei;
            _balances[_caseRequesters[requestId]] += refundWei;
        }
        _cases[requestId] = servingCase;
        if (msg.value != refundWei) _accrueProtocol(msg.value - refundWei);
        emit ServingVerdict(requestId, stage, fraud, refundWei);
    }

    /// @notice Returns the fee of an unfulfilled request to its requester, at or after its deadline.
    /// Anyone may call it; the fee only goes to the requester.
    function refund(uint256 requestId, InferenceRequest calldata req) external nonReentrant {
        _checkLive(requestId, req);
        if (block.timestamp < req.deadline) revert InferenceEscrowDeadlineNotReached(requestId, req.deadline);
        _requests[requestId] = _REFUNDED;
        emit InferenceRefunded(requestId, req.modelId, req.requester, req.feeWei);
        _send(req.requester, req.feeWei);
    }

    // ---------------------------------------------------------------- payouts

    /// @notice Settles the caller's shares of the pipelines `pipelineKeys` (the caller must be a member of
    /// each; find them through `PipelineMemberAdded`) and sends them, its settled balance and, for the
    /// treasury, the protocol fees not yet withdrawn, to `to`. The caller chooses the pipelines, so a
    /// withdrawal never walks anything a third party can grow: page through many pipelines in several calls.
    function withdraw(address to, bytes32[] calldata pipelineKeys) external nonReentrant returns (uint256 amountWei) {
        if (to == address(0)) revert InferenceEscrowZeroAddress();
        amountWei = _balances[msg.sender] + _settle(msg.sender, pipelineKeys);
        if (msg.sender == treasury) {
            uint256 fees = _protocolFees;
            uint256 earned = fees >> 128;
            amountWei += earned - (fees & _M128);
            _protocolFees = (earned << 128) | earned;
        }
        if (amountWei == 0) revert InferenceEscrowNothingToWithdraw(msg.sender);
        _balances[msg.sender] = 0;
        emit Withdrawn(msg.sender, to, amountWei);
        _send(to, amountWei);
    }

    /// @notice Moves `account`'s shares of the pipelines `pipelineKeys` into its withdrawable balance.
    /// Anyone may call it: the shares only ever go to `account`.
    function settle(address account, bytes32[] calldata pipelineKeys)
        external
        nonReentrant
        returns (uint256 amountWei)
    {
        amountWei = _settle(account, pipelineKeys);
        if (amountWei != 0) _balances[account] += amountWei;
    }

    /// @notice Copies a model's fee terms from the registry (done automatically by the first request).
    function cacheModelTerms(uint64 modelId) external {
        if (_terms[modelId] == 0) _cacheTerms(modelId);
    }

    // ---------------------------------------------------------------- views

    /// @notice Number of requests made; ids run from 1 to this value.
    function requestCount() external view returns (uint256) {
        return _requestCount;
    }

    /// @notice Where request `requestId` stands.
    function requestState(uint256 requestId) public view returns (RequestState) {
        uint256 stored = uint256(_requests[requestId]);
        if (stored == 0) return RequestState.None;
        uint256 status = stored >> _STATUS_SHIFT;
        if (status == _FULFILLED) return RequestState.Fulfilled;
        if (status == _RELEASED) return RequestState.Released;
        if (stored == uint256(_REFUNDED)) return RequestState.Refunded;
        return RequestState.Live;
    }

    /// @notice Where a fulfilled request's verification stands: when it was fulfilled (unix seconds; 0 if not),
    /// its open serving disputes, the stages proven at fault (bit s = stage s) and the refund still owed to
    /// its requester (the fee until a fraud verdict refunds it; 0 when never challenged). It is challengeable
    /// until `fulfilledAt + challengeWindowSec(modelId)`.
    function fulfilment(uint256 requestId)
        external
        view
        returns (RequestState state, uint64 fulfilledAt, uint16 openDisputes, uint32 guiltyStages, uint256 refundOwedWei)
    {
        state = requestState(requestId);
        if (state == RequestState.Fulfilled || state == RequestState.Released) {
            fulfilledAt = uint40(uint256(_requests[requestId]) >> _AT_SHIFT);
        }
        uint256 servingCase = _cases[requestId];
        return (state, fulfilledAt, uint16(servingCase >> _OPEN_SHIFT), uint32(servingCase >> _GUILTY_SHIFT), uint128(servingCase));
    }

    /// @notice How long after its fulfilment a request of `modelId` can be challenged (the model's
    /// `challengeWindowSec`), in seconds; its operators' shares are released after it.
    function challengeWindowSec(uint64 modelId) external view returns (uint32) {
        uint256 terms = _terms[modelId];
        if (terms == 0) revert InferenceEscrowUnknownModel(modelId);
        return uint32(terms >> _WINDOW_SHIFT);
    }

    /// @notice The stored word of a request: `hash >> 8` while live, 2 once refunded, the fulfilment word
    /// once fulfilled (see the contract's gas notes); 0 if unknown.
    function requestHash(uint256 requestId) external view returns (bytes32) {
        return _requests[requestId];
    }

    /// @notice The hash the escrow stores for `req`:
    /// `keccak256(abi.encode(modelId, pipelineKey, requester, feeWei, deadline, inputHash))`.
    function hashRequest(InferenceRequest calldata req) external pure returns (bytes32) {
        return _hash(req.modelId, req.pipelineKey, req.requester, req.feeWei, req.deadline, req.inputHash);
    }

    /// @notice What `withdraw` pays `account` without any pipeline key: its settled balance, plus the
    /// protocol fees not yet withdrawn for the treasury. Unsettled pipeline shares: `memberOf`.
    function balanceOf(address account) external view returns (uint256 amountWei) {
        amountWei = _balances[account];
        if (account == treasury) amountWei += protocolFeesOwed();
    }

    /// @notice Protocol fees earned and not yet withdrawn by the treasury, in wei.
    function protocolFeesOwed() public view returns (uint256) {
        uint256 fees = _protocolFees;
        return (fees >> 128) - (fees & _M128);
    }

    /// @notice A pipeline's registration, model and cumulative fee per stage served, in wei.
    function pipeline(bytes32 key) external view returns (bool registered, uint64 modelId, uint256 perStageWei) {
        uint256 p = _pipelines[key];
        return (p != 0, uint64(p >> _P_MODEL_SHIFT), p & _M128);
    }

    /// @notice `account`'s stages in the pipeline `key` (0: not a member) and the share it is owed there
    /// since its last settlement, in wei.
    function memberOf(bytes32 key, address account) external view returns (uint16 stagesServed, uint256 owedWei) {
        uint256 member = _members[key][account];
        stagesServed = uint16(member >> _STAGES_SHIFT);
        (owedWei,) = _owed(key, member);
    }

    /// @notice The EIP-712 digest each operator of a pipeline signs to consent to it (see `registerPipeline`).
    function hashPipelineConsent(uint64 modelId, address[] calldata stageOperators, uint64 consentDeadline)
        public
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    PIPELINE_CONSENT_TYPEHASH, modelId, keccak256(abi.encodePacked(stageOperators)), consentDeadline
                )
            )
        );
    }

    /// @notice Key of the pipeline of `modelId` served by `stageOperators` (in stage order).
    /// @dev Hashes the calldata words as `abi.encode` lays them out. An entry with dirty high bits gives a
    /// key no pipeline was registered with (registering reads, so ABI-validates, every entry and reverts).
    function pipelineKey(uint64 modelId, address[] calldata stageOperators) public pure returns (bytes32 key) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, modelId)
            mstore(add(ptr, 0x20), 0x40)
            mstore(add(ptr, 0x40), stageOperators.length)
            let size := shl(5, stageOperators.length)
            calldatacopy(add(ptr, 0x60), stageOperators.offset, size)
            key := keccak256(ptr, add(0x60, size))
        }
    }

    /// @notice The model token of `modelId`: the registry's deterministic CREATE2 deployment (salt = modelId).
    function tokenOf(uint64 modelId) public view returns (address) {
        // CREATE2: keccak256(0xff ++ registry ++ salt ++ initCodeHash)[12:], as `ModelRegistry.predictTokenAddress`
        bytes32 initCodeHash = _tokenInitCodeHash;
        address deployer = address(registry);
        address token;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(add(ptr, 0x40), initCodeHash)
            mstore(add(ptr, 0x20), modelId)
            mstore(ptr, deployer)
            mstore8(add(ptr, 0x0b), 0xff)
            token := and(keccak256(add(ptr, 0x0b), 0x55), 0xffffffffffffffffffffffffffffffffffffffff)
        }
        return token;
    }

    /// @notice How a fee of `feeWei` for `modelId` would be split (the model's terms must be cached).
    function splitFee(uint64 modelId, uint256 feeWei)
        external
        view
        returns (uint256 protocolFeeWei, uint256 operatorFeeWeiPerStage, uint256 holdersWei)
    {
        uint256 terms = _terms[modelId];
        if (terms == 0) revert InferenceEscrowUnknownModel(modelId);
        return _split(terms >> _PROTO_BPS_SHIFT, terms >> _OP_BPS_SHIFT, uint16(terms), feeWei);
    }

    // ---------------------------------------------------------------- internals

    /// @dev The caller and every stage operator must be serving: one ledger call for the whole pipeline.
    /// Encoded by hand: the operators are copied from calldata in one `calldatacopy` instead of an
    /// element-by-element ABI re-encoding (fulfil is the hot path; the ledger validates each entry).
    function _checkServing(uint64 modelId, address[] calldata stageOperators) private view {
        address ledger_ = address(ledger);
        bytes4 selector = IComputeLedger.findNonServingOperator.selector;
        uint256 found;
        uint256 notServing; // the address in the low 160 bits (the cast below drops anything above)
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, selector)
            mstore(add(ptr, 0x04), modelId)
            mstore(add(ptr, 0x24), caller())
            mstore(add(ptr, 0x44), 0x60)
            mstore(add(ptr, 0x64), stageOperators.length)
            let size := shl(5, stageOperators.length)
            calldatacopy(add(ptr, 0x84), stageOperators.offset, size)
            if iszero(staticcall(gas(), ledger_, ptr, add(0x84, size), 0, 0x40)) {
                returndatacopy(ptr, 0, returndatasize())
                revert(ptr, returndatasize())
            }
            // a short answer reverts empty, as a high-level call's ABI decoding would
            if lt(returndatasize(), 0x40) { revert(0, 0) }
            found := mload(0)
            notServing := mload(0x20)
        }
        if (found != 0) revert InferenceEscrowNotServingOperator(modelId, address(uint160(notServing)));
    }

    /// @dev The caller must be one of the pipeline's stage operators (a scan of at most `MAX_STAGES` calldata words).
    function _checkMember(bytes32 key, address[] calldata stageOperators) private view {
        for (uint256 i; i < stageOperators.length; ++i) {
            if (stageOperators[i] == msg.sender) return;
        }
        revert InferenceEscrowNotPipelineMember(key, msg.sender);
    }

    /// @dev Checkpoints `account` in the pipelines `keys` and returns what they owed it. Bounded by the
    /// caller's calldata; a key `account` is not a member of reverts (a repeated key owes nothing the second time).
    function _settle(address account, bytes32[] calldata keys) private returns (uint256 amountWei) {
        for (uint256 i; i < keys.length; ++i) {
            bytes32 key = keys[i];
            uint256 member = _members[key][account];
            if (member == 0) revert InferenceEscrowNotPipelineMember(key, account);
            (uint256 owed, uint256 checkpoint) = _owed(key, member);
            if (owed != 0) {
                _members[key][account] = checkpoint;
                amountWei += owed;
            }
        }
        if (amountWei != 0) emit BalanceSettled(account, amountWei);
    }

    /// @dev What pipeline `key` owes the member whose slot is `member` since its checkpoint, and the
    /// checkpoint that pays it.
    function _owed(bytes32 key, uint256 member) private view returns (uint256 owedWei, uint256 checkpoint) {
        uint256 perStage = _pipelines[key] & _M128;
        owedWei = ((member >> _STAGES_SHIFT) & type(uint16).max) * (perStage - (member & _M128));
        checkpoint = (member & ~_M128) | perStage;
    }

    /// @dev Protocol and per-stage operator shares round down; the rounding remainder goes to the holders,
    /// so the three parts always sum to the fee. Only the low 16 bits of the bps words count.
    function _split(uint256 protocolBpsWord, uint256 operatorBpsWord, uint256 stageCount, uint256 feeWei)
        private
        pure
        returns (uint256 protocolWei, uint256 perStageWei, uint256 holdersWei)
    {
        protocolWei = feeWei * uint16(protocolBpsWord) / _BPS;
        perStageWei = feeWei * uint16(operatorBpsWord) / _BPS / stageCount;
        holdersWei = feeWei - protocolWei - perStageWei * stageCount;
    }

    function _cacheTerms(uint64 modelId) private returns (uint256 terms) {
        if (modelId == 0 || modelId > registry.modelCount()) revert InferenceEscrowUnknownModel(modelId);
        IModelRegistry.Model memory m = registry.model(modelId);
        if (m.token != tokenOf(modelId)) revert InferenceEscrowUnexpectedToken(modelId, m.token);
        terms = _FLAG | (uint256(m.timing.challengeWindowSec) << _WINDOW_SHIFT)
            | (uint256(m.minRequestFeeWei) << _MIN_FEE_SHIFT) | (uint256(m.operatorFeeBps) << _OP_BPS_SHIFT)
            | (uint256(m.protocolFeeBps) << _PROTO_BPS_SHIFT) | m.stageCount;
        _terms[modelId] = terms;
        emit ModelTermsCached(modelId, m.token, m.stageCount, m.protocolFeeBps, m.operatorFeeBps, m.minRequestFeeWei);
    }

    /// @dev `IModelToken(token).depositRevenue{value: amountWei}()` without the high-level call's
    /// EXTCODESIZE check: the token is the registry's token of `modelId`, deployed when the model was
    /// registered (`_cacheTerms` checked the address), and that check would make the token's cold
    /// access cost 2600 + 100 instead of 2600. A revert of the token is bubbled up unchanged.
    function _depositRevenue(address token, uint256 amountWei) private {
        bytes4 selector = IModelToken.depositRevenue.selector;
        assembly ("memory-safe") {
            mstore(0, selector)
            if iszero(call(gas(), token, amountWei, 0, 4, 0, 0)) {
                let ptr := mload(0x40)
                returndatacopy(ptr, 0, returndatasize())
                revert(ptr, returndatasize())
            }
        }
    }

    /// @dev Returns the request's full hash (what the fulfilment hash binds).
    function _checkLive(uint256 requestId, InferenceRequest calldata req) private view returns (bytes32 given) {
        bytes32 stored = _requests[requestId];
        // The struct is 6 static words in calldata, laid out as `abi.encode` of its fields: hashing them raw
        // equals `_hash` for clean words; a dirty word can only fail to match.
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, req, 0xc0)
            given := keccak256(ptr, 0xc0)
        }
        if (stored == given >> 8) return given;
        if (stored == bytes32(0)) revert InferenceEscrowUnknownRequest(requestId);
        if (uint256(stored) >> _STATUS_SHIFT != 0) revert InferenceEscrowAlreadyFulfilled(requestId);
        if (stored == _REFUNDED) revert InferenceEscrowAlreadyRefunded(requestId);
        revert InferenceEscrowRequestMismatch(requestId);
    }

    /// @dev The stored fulfilment word of `requestId` (fulfilled, not released), checked against the calldata.
    function _checkFulfilled(
        uint256 requestId,
        InferenceRequest calldata req,
        bytes32 outputHash,
        bytes32 servingRoot,
        address[] calldata stageOperators
    ) private view returns (uint256 word) {
        word = uint256(_requests[requestId]);
        bytes32 reqHash = keccak256(abi.encode(req));
        if (
            word >> _STATUS_SHIFT != _FULFILLED || pipelineKey(req.modelId, stageOperators) != req.pipelineKey
                || word & _HASH_MASK != uint256(keccak256(abi.encode(reqHash, outputHash, servingRoot))) >> 48
        ) revert InferenceEscrowFulfilmentMismatch(requestId);
    }

    /// @dev Checks a challenge or proof against stage `stage` of fulfilled request `requestId` (window open,
    /// stage not already proven at fault) and returns the stage's operator.
    function _challengeable(
        uint256 requestId,
        InferenceRequest calldata req,
        bytes32 outputHash,
        ServingCommitment[] calldata commitments,
        address[] calldata stageOperators,
        uint16 stage
    ) private view returns (address operator) {
        if (commitments.length != stageOperators.length) {
            revert InferenceEscrowCommitmentCountMismatch(stageOperators.length, commitments.length, commitments.length);
        }
        bytes32 servingRoot = _servingRoot(requestId, commitments, stageOperators, msg.data[0:0]);
        uint256 word = _checkFulfilled(requestId, req, outputHash, servingRoot, stageOperators);
        uint64 until = _challengeableUntil(word, req.modelId);
        // solhint-disable-next-line gas-strict-inequalities
        if (block.timestamp >= until) revert InferenceEscrowChallengeWindowClosed(requestId, until);
        if (stage >= stageOperators.length) revert InferenceEscrowBadStage(stage, stageOperators.length);
        if (_cases[requestId] >> (_GUILTY_SHIFT + stage) & 1 == 1) {
            revert InferenceEscrowServingAlreadyProven(requestId, stage);
        }
        operator = stageOperators[stage];
    }

    /// @dev Splits a fulfilled request's fee: the protocol's share to the treasury's counter and the holders'
    /// to the token now; the operators' shares stay here until `release`.
    function _payFulfilment(
        uint256 requestId,
        InferenceRequest calldata req,
        bytes32 outputHash,
        bytes32 servingRoot,
        uint256 stageCount
    ) private {
        bytes32 key = req.pipelineKey;
        // registered: `request` checked it, and a pipeline is never removed
        uint256 packed = _pipelines[key];
        (uint256 protocolWei, uint256 perStageWei, uint256 holdersWei) =
            _split(packed >> _P_PROTO_BPS_SHIFT, packed >> _P_OP_BPS_SHIFT, stageCount, req.feeWei);
        if (protocolWei != 0) _accrueProtocol(protocolWei);
        uint64 until = uint64(block.timestamp + uint32(_terms[req.modelId] >> _WINDOW_SHIFT));
        emit InferenceFulfilled(requestId, key, msg.sender, outputHash, protocolWei, perStageWei, holdersWei, servingRoot, until);
        if (holdersWei != 0) _depositRevenue(tokenOf(req.modelId), holdersWei);
    }

    /// @dev `e.committedHash` is in `outputsRoot` at `e.position`, and `operator` signed another hash there.
    function _checkEquivocation(uint256 requestId, bytes32 outputsRoot, address operator, ServingEquivocation calldata e)
        private
        view
    {
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(e.position, e.committedHash))));
        if (!MerkleProof.verifyCalldata(e.proof, outputsRoot, leaf)) revert InferenceEscrowInvalidOutputProof();
        if (e.signedHash == e.committedHash) revert InferenceEscrowNotAnEquivocation();
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(SERVING_FRAME_TYPEHASH, requestId, e.stage, e.position, e.signedHash))
        );
        if (e.signature.length != 64) revert InferenceEscrowInvalidFrameSignature();
        (address signer, ECDSA.RecoverError err,) =
            ECDSA.tryRecover(digest, bytes32(e.signature[0:32]), bytes32(e.signature[32:64]));
        if (err != ECDSA.RecoverError.NoError || signer != operator) revert InferenceEscrowInvalidFrameSignature();
    }

    /// @dev The serving case of `requestId`, opened (refund owed = the fee) on its first challenge or proof.
    function _openCase(uint256 requestId, InferenceRequest calldata req) private returns (uint256 servingCase) {
        servingCase = _cases[requestId];
        if (_caseRequesters[requestId] == address(0)) {
            _caseRequesters[requestId] = req.requester;
            servingCase = req.feeWei > _M128 ? _M128 : req.feeWei;
            _cases[requestId] = servingCase;
        }
    }

    /// @dev `keccak256` of the stages' `ServingCommitment` struct hashes in stage order; when `signatures` is
    /// not empty, its 64-byte compact signature s must be stage s's operator's signature of its commitment.
    function _servingRoot(
        uint256 requestId,
        ServingCommitment[] calldata commitments,
        address[] calldata stageOperators,
        bytes calldata signatures
    ) private view returns (bytes32) {
        uint256 n = stageOperators.length;
        if (commitments.length != n) revert InferenceEscrowCommitmentCountMismatch(n, commitments.length, n);
        bytes32[] memory structHashes = new bytes32[](n);
        for (uint256 s; s < n; ++s) {
            ServingCommitment calldata c = commitments[s];
            bytes32 structHash = keccak256(
                abi.encode(SERVING_COMMITMENT_TYPEHASH, requestId, s, c.weightsRoot, c.sampling, c.outputsRoot, c.positions)
            );
            structHashes[s] = structHash;
            if (signatures.length != 0) {
                (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(
                    _hashTypedDataV4(structHash), bytes32(signatures[s * 64:s * 64 + 32]), bytes32(signatures[s * 64 + 32:s * 64 + 64])
                );
                if (err != ECDSA.RecoverError.NoError || signer != stageOperators[s]) {
                    revert InferenceEscrowInvalidServingSignature(s, stageOperators[s]);
                }
            }
        }
        return keccak256(abi.encodePacked(structHashes));
    }

    function _challengeableUntil(uint256 word, uint64 modelId) private view returns (uint64) {
        return uint64(uint40(word >> _AT_SHIFT) + uint32(_terms[modelId] >> _WINDOW_SHIFT));
    }

    function _accrueProtocol(uint256 amountWei) private {
        uint256 fees = _protocolFees;
        uint256 earnedProtocol = (fees >> 128) + amountWei;
        if (earnedProtocol > _M128) revert InferenceEscrowAccountingOverflow(bytes32(0));
        _protocolFees = (earnedProtocol << 128) | (fees & _M128);
    }

    function _send(address to, uint256 amountWei) private {
        // solhint-disable-next-line avoid-low-level-calls
        (bool ok,) = to.call{value: amountWei}("");
        if (!ok) revert InferenceEscrowTransferFailed(to);
    }

    function _hash(
        uint64 modelId,
        bytes32 pipelineKey_,
        address requester,
        uint256 feeWei,
        uint64 deadline,
        bytes32 inputHash
    ) private pure returns (bytes32) {
        return keccak256(abi.encode(modelId, pipelineKey_, requester, feeWei, deadline, inputHash));
    }
}
