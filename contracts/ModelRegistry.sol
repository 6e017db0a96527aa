// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Errors} from "@openzeppelin/contracts/utils/Errors.sol";
import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {IModelRegistryErrors} from "./interfaces/IModelRegistryErrors.sol";
import {ModelToken} from "./ModelToken.sol";

/// @title ModelRegistry: the immutable economic terms of every model, and its token
/// @notice Designers register a model spec; the registry validates every economic field, deploys the
/// model's ERC-20 as a full copy of one ModelToken implementation's runtime code (CREATE2, address
/// deterministic from the model id; not a proxy, so its transfers pay no DELEGATECALL) and makes the
/// compute ledger its only minter. Economic terms never change after
/// registration; only the metadata URI is editable, by the designer. Terms under which a round could not
/// settle (its commitment ring slot reused, or a worker's stake unbonded, before disputes with two appeals
/// end) or holder revenue could stay locked (an emission cap whose distribution supply the schedule never
/// mints) are rejected, each with its own error.
contract ModelRegistry is IModelRegistry, IModelRegistryErrors {
    // ---------------------------------------------------------------- constants

    /// @notice Most pipeline stages a model may have (bounds every per-stage loop elsewhere).
    uint256 public constant MAX_STAGES = 32;
    /// @notice Highest protocol share of an inference fee.
    uint16 public constant MAX_PROTOCOL_FEE_BPS = 500;
    /// @notice Highest designer share of a round's emission.
    uint16 public constant MAX_DESIGNER_EMISSION_BPS = 2000;
    /// @notice Highest validator share of a round's emission.
    uint16 public constant MAX_VALIDATOR_EMISSION_BPS = 2000;
    /// @notice Vote windows a round's settlement must leave room for: a dispute with two appeals is three
    /// vote windows, each followed by an appeal window of the same length.
    uint256 public constant DISPUTE_WINDOWS = 6;
    /// @notice Rounds of commitments the ledger keeps per (model, worker, stage) before reusing a slot
    /// (the ledger's `RING_SIZE`): a round must be able to settle within this many commit windows.
    uint256 public constant COMMITMENT_RING_ROUNDS = 8;
    /// @notice Longest a round's settlement may take: the ledger's unbonding delay (`UNBONDING_DELAY_SEC`),
    /// so a worker cannot leave with its stake before every dispute of its work can be decided.
    uint256 public constant MAX_SETTLEMENT_SEC = 7 days;
    /// @notice Revenue is held by a model token until its supply reaches `capTokens >> DISTRIBUTION_SHIFT`
    /// (`ModelToken.minDistributionSupply`): the emission schedule must be able to reach that supply.
    uint256 public constant DISTRIBUTION_SHIFT = 20;
    uint16 private constant _BPS = 10_000;
    /// @dev Slack of `reachableEmissionLowerBound` (see there): a relative 1e-5 and an absolute 500,000 token wei.
    uint256 private constant _SLACK_DENOMINATOR = 100_000;
    uint256 private constant _ABSOLUTE_SLACK_TOKENS = 500_000;

    // ---------------------------------------------------------------- storage

    /// @notice The ModelToken implementation whose runtime code every model token is a copy of.
    // solhint-disable-next-line immutable-vars-naming
    address public immutable tokenImplementation; // public getter name is part of the ABI
    /// @notice keccak256 of the init code that deploys a model token (`_tokenInitCode`): the same for every
    /// model, so a token's address is `CREATE2(this registry, salt = modelId, tokenInitCodeHash)`.
    // solhint-disable-next-line immutable-vars-naming
    bytes32 public immutable tokenInitCodeHash;
    /// @dev The only account allowed to bind the ledger, once.
    // solhint-disable-next-line immutable-vars-naming
    address private immutable _deployer;
    address private _ledger;
    address private _escrow;
    uint64 private _modelCount;
    mapping(uint64 modelId => Model) private _models;
    mapping(uint64 modelId => bytes32[]) private _initialWeightsRoots;
    mapping(uint64 modelId => uint64[]) private _unitsPerMicrobatch;
    mapping(uint64 modelId => string) private _metadataURIs;

    // ---------------------------------------------------------------- setup

    /// @param tokenImplementation_ A deployed ModelToken (its constructor locks it against initialization).
    constructor(address tokenImplementation_) {
        if (tokenImplementation_ == address(0)) revert ModelRegistryZeroAddress();
        tokenImplementation = tokenImplementation_;
        tokenInitCodeHash = keccak256(_tokenInitCode(tokenImplementation_));
        _deployer = msg.sender;
    }

    /// @notice Binds the compute ledger, the minter of every model token. Once, by the deployer only
    /// (the ledger's constructor needs the registry's address, so the two cannot be wired in one step).
    function bindLedger(address ledger_) external {
        if (msg.sender != _deployer) revert ModelRegistryUnauthorized(msg.sender);
        if (_ledger != address(0)) revert ModelRegistryLedgerAlreadyBound(_ledger);
        if (ledger_ == address(0)) revert ModelRegistryZeroAddress();
        _ledger = ledger_;
        emit LedgerBound(ledger_);
    }

    /// @notice Binds the inference escrow, whose serving disputes and slashes the ledger accepts. Once, by
    /// the deployer only (the escrow's constructor needs the ledger's address).
    function bindEscrow(address escrow_) external {
        if (msg.sender != _deployer) revert ModelRegistryUnauthorized(msg.sender);
        if (_escrow != address(0)) revert ModelRegistryEscrowAlreadyBound(_escrow);
        if (escrow_ == address(0)) revert ModelRegistryZeroAddress();
        _escrow = escrow_;
        emit EscrowBound(escrow_);
    }

    // ---------------------------------------------------------------- registration

    /// @notice Registers a model with the caller as designer and deploys its token.
    /// @param spec Name, symbol, spec hash, per-stage roots and units, emission, fee split, timing, stakes.
    /// @return modelId The new model's id (1, 2, ...).
    /// @return token The model token (a copy of the implementation, CREATE2 salt = modelId), minter = the ledger.
    function registerModel(ModelSpec calldata spec) external returns (uint64 modelId, address token) {
        address ledger_ = _ledger;
        if (ledger_ == address(0)) revert ModelRegistryLedgerNotBound();
        uint16 stageCount = _validate(spec);

        modelId = ++_modelCount;
        token = _deployToken(modelId);

        _models[modelId] = Model({
            designer: msg.sender,
            token: token,
            genesisTime: uint64(block.timestamp),
            stageCount: stageCount,
            microbatchesPerRound: spec.microbatchesPerRound,
            specHash: spec.specHash,
            emission: spec.emission,
            protocolFeeBps: spec.protocolFeeBps,
            operatorFeeBps: spec.operatorFeeBps,
            designerEmissionBps: spec.designerEmissionBps,
            validatorEmissionBps: spec.validatorEmissionBps,
            minRequestFeeWei: spec.minRequestFeeWei,
            timing: spec.timing,
            minWorkerStakeWei: spec.minWorkerStakeWei,
            minValidatorStakeWei: spec.minValidatorStakeWei
        });
        _initialWeightsRoots[modelId] = spec.initialWeightsRoots;
        _unitsPerMicrobatch[modelId] = spec.unitsPerMicrobatch;
        if (bytes(spec.metadataURI).length != 0) _metadataURIs[modelId] = spec.metadataURI;

        emit ModelRegistered(modelId, msg.sender, token, spec.specHash, stageCount, spec.name, spec.symbol);
        if (bytes(spec.metadataURI).length != 0) emit MetadataURISet(modelId, spec.metadataURI);

        ModelToken(token).initialize(spec.name, spec.symbol, ledger_, spec.emission.capTokens);
    }

    /// @notice Replaces the model's metadata URI; only its designer may.
    function setMetadataURI(uint64 modelId, string calldata metadataURI_) external {
        address designer = _modelOf(modelId).designer;
        if (msg.sender != designer) revert ModelRegistryNotDesigner(modelId, msg.sender);
        _metadataURIs[modelId] = metadataURI_;
        emit MetadataURISet(modelId, metadataURI_);
    }

    // ---------------------------------------------------------------- views

    /// @notice The bound compute ledger (zero before `bindLedger`).
    function ledger() external view returns (address) {
        return _ledger;
    }

    /// @notice The bound inference escrow (zero before `bindEscrow`).
    function escrow() external view returns (address) {
        return _escrow;
    }

    /// @notice The registry's deployer, who may bind the ledger and the escrow once each.
    function deployer() external view returns (address) {
        return _deployer;
    }

    /// @notice Number of registered models; ids run from 1 to this value.
    function modelCount() external view returns (uint64) {
        return _modelCount;
    }

    /// @notice The stored terms of `modelId`; reverts for an unknown id.
    function model(uint64 modelId) external view returns (Model memory) {
        return _modelOf(modelId);
    }

    /// @notice The token of `modelId`; reverts for an unknown id.
    function tokenOf(uint64 modelId) external view returns (address) {
        return _modelOf(modelId).token;
    }

    /// @notice Compute units one microbatch of `stage` is worth; reverts for an unknown model or stage.
    function unitsPerMicrobatch(uint64 modelId, uint16 stage) external view returns (uint64) {
        _checkStage(modelId, stage);
        return _unitsPerMicrobatch[modelId][stage];
    }

    /// @notice Merkle root of `stage`'s initial weights; reverts for an unknown model or stage.
    function initialWeightsRoot(uint64 modelId, uint16 stage) external view returns (bytes32) {
        _checkStage(modelId, stage);
        return _initialWeightsRoots[modelId][stage];
    }

    /// @notice The designer-editable metadata URI of `modelId`.
    function metadataURI(uint64 modelId) external view returns (string memory) {
        _modelOf(modelId);
        return _metadataURIs[modelId];
    }

    /// @notice Seconds from the start of a round's commit window until it can be settled in the worst case:
    /// `commitWindowSec + challengeWindowSec + DISPUTE_WINDOWS * voteWindowSec`.
    function settlementSec(Timing calldata timing) public pure returns (uint256) {
        return uint256(timing.commitWindowSec) + timing.challengeWindowSec + DISPUTE_WINDOWS * timing.voteWindowSec;
    }

    /// @notice A lower bound of the total emission the schedule can ever reach, in token wei (uncapped;
    /// `type(uint256).max` when nothing decays: the schedule then reaches any cap).
    /// @dev The ledger emits `EmissionMath.emissionAt(tokensPerRound, decayBps, round)` per round, which
    /// computes `T * q^round` (`q = 1 - decayBps/1e4`) by squaring in 36-decimal fixed point, rounding down
    /// at every step. For every round `r` with `q^r >= 2^-32` each squared base `b_k` (`2^k <= r`) is at least
    /// `q^(2^k) * (1 - e_k)` with `e_{k+1} <= 2 e_k + 2^32 / 1e36` (so `e_k < 2^k * 4.3e-27 < 1e-20`, as
    /// `r < 2^18` below), and each of at most 64 multiplications and the final division lose less than one
    /// unit; hence `emissionAt(r) >= T * q^r * (1 - 1e-19) - 2`. Summed over those `R <= 1 + 22.2e4 / decayBps`
    /// rounds (`-ln q >= decayBps/1e4`): total `>= T/(1-q) * (1 - 2^-32) * (1 - 1e-19) - 2R`, which the
    /// returned `T * 1e4/decayBps * (1 - 1e-5) - 500,000` undercuts. Round 0 alone emits `T`, so the
    /// bound is at least `T`. `ModelRegistryReachable.t.sol` checks it against the summed `emissionAt`.
    function reachableEmissionLowerBound(uint128 tokensPerRound, uint16 decayBps) public pure returns (uint256) {
        if (decayBps == 0) return type(uint256).max;
        uint256 series = uint256(tokensPerRound) * _BPS / decayBps;
        series -= series / _SLACK_DENOMINATOR;
        uint256 bound = series > _ABSOLUTE_SLACK_TOKENS ? series - _ABSOLUTE_SLACK_TOKENS : 0;
        return bound > tokensPerRound ? bound : tokensPerRound;
    }

    /// @notice The address the token of `modelId` has (or will have): `CREATE2(this, modelId, tokenInitCodeHash)`.
    function predictTokenAddress(uint64 modelId) external view returns (address) {
        return address(
            uint160(uint256(keccak256(abi.encodePacked(bytes1(0xff), address(this), bytes32(uint256(modelId)), tokenInitCodeHash))))
        );
    }

    // ---------------------------------------------------------------- internals

    /// @dev Init code that returns `implementation`'s runtime code as the new contract's code (30 bytes):
    /// `PUSH20 implementation, DUP1, EXTCODESIZE, DUP1, PUSH0, PUSH0, DUP5, EXTCODECOPY, PUSH0, RETURN`,
    /// i.e. `extcodecopy(implementation, 0, 0, size); return(0, size)`. The copy runs the implementation's code
    /// with storage of its own (ModelToken therefore keeps no per-token immutables).
    function _tokenInitCode(address implementation) private pure returns (bytes memory) {
        return abi.encodePacked(hex"73", implementation, hex"803b805f5f843c5ff3");
    }

    /// @dev Deploys the model's token with CREATE2 (salt = modelId); reverts `Errors.FailedDeployment` if the
    /// address is taken (as the clone factory did).
    function _deployToken(uint64 modelId) private returns (address token) {
        bytes memory initCode = _tokenInitCode(tokenImplementation);
        assembly ("memory-safe") {
            token := create2(0, add(initCode, 0x20), mload(initCode), modelId)
        }
        if (token == address(0)) revert Errors.FailedDeployment();
    }

    function _modelOf(uint64 modelId) private view returns (Model storage m) {
        m = _models[modelId];
        if (m.token == address(0)) revert ModelRegistryUnknownModel(modelId);
    }

    function _checkStage(uint64 modelId, uint16 stage) private view {
        // solhint-disable-next-line gas-strict-inequalities
        if (stage >= _modelOf(modelId).stageCount) revert ModelRegistryBadStage(modelId, stage);
    }

    /// @dev Every economic field is checked with its own error; returns the stage count.
    function _validate(ModelSpec calldata spec) private pure returns (uint16 stageCount) {
        if (bytes(spec.name).length == 0) revert ModelRegistryEmptyName();
        if (bytes(spec.symbol).length == 0) revert ModelRegistryEmptySymbol();
        if (spec.specHash == bytes32(0)) revert ModelRegistryZeroSpecHash();
        uint256 stages = spec.initialWeightsRoots.length;
        if (stages == 0 || stages > MAX_STAGES) revert ModelRegistryInvalidStageCount(stages);
        if (spec.unitsPerMicrobatch.length != stages) {
            revert ModelRegistryStageLengthMismatch(stages, spec.unitsPerMicrobatch.length);
        }
        stageCount = uint16(stages);
        for (uint16 s; s < stageCount; ++s) {
            if (spec.initialWeightsRoots[s] == bytes32(0)) revert ModelRegistryZeroWeightsRoot(s);
            if (spec.unitsPerMicrobatch[s] == 0) revert ModelRegistryZeroUnits(s);
        }
        if (spec.microbatchesPerRound == 0) revert ModelRegistryZeroMicrobatches();

        _validateEmission(spec.emission);

        if (spec.protocolFeeBps > MAX_PROTOCOL_FEE_BPS) revert ModelRegistryProtocolFeeTooHigh(spec.protocolFeeBps);
        if (uint256(spec.protocolFeeBps) + spec.operatorFeeBps > _BPS) {
            revert ModelRegistryFeeSplitTooHigh(spec.protocolFeeBps, spec.operatorFeeBps);
        }
        if (spec.designerEmissionBps > MAX_DESIGNER_EMISSION_BPS) {
            revert ModelRegistryDesignerEmissionTooHigh(spec.designerEmissionBps);
        }
        if (spec.validatorEmissionBps > MAX_VALIDATOR_EMISSION_BPS) {
            revert ModelRegistryValidatorEmissionTooHigh(spec.validatorEmissionBps);
        }
        if (spec.minRequestFeeWei == 0) revert ModelRegistryZeroMinRequestFee();

        _validateTiming(spec.timing);
        if (spec.minWorkerStakeWei == 0) revert ModelRegistryZeroWorkerStake();
        if (spec.minValidatorStakeWei == 0) revert ModelRegistryZeroValidatorStake();
    }

    /// @dev Emission terms: a positive rate, a decay of at most 100%, a cap in `[tokensPerRound, 2^96)` the
    /// schedule can fill up to the token's distribution supply.
    function _validateEmission(Emission calldata e) private pure {
        if (e.tokensPerRound == 0) revert ModelRegistryZeroTokensPerRound();
        if (e.decayBps > _BPS) revert ModelRegistryDecayTooHigh(e.decayBps);
        if (e.capTokens < e.tokensPerRound || e.capTokens > type(uint96).max) {
            revert ModelRegistryInvalidCap(e.capTokens, e.tokensPerRound);
        }
        // The token holds revenue until the supply reaches `cap >> DISTRIBUTION_SHIFT`; a schedule that can
        // never mint that much would lock every wei of holder revenue for good. Rejected here rather than
        // loosening the token's hold rule, which is what bounds its revenue-per-share accumulator.
        uint256 distributionSupply = uint256(e.capTokens) >> DISTRIBUTION_SHIFT;
        uint256 reachable = reachableEmissionLowerBound(e.tokensPerRound, e.decayBps);
        if (reachable < distributionSupply) {
            revert ModelRegistryCapUnreachable(e.capTokens, distributionSupply, reachable);
        }
    }

    /// @dev Timing: non-zero windows under which a round settles within the commitment ring and the
    /// unbonding delay, disputes with two appeals included.
    function _validateTiming(Timing calldata timing) private pure {
        if (timing.commitWindowSec == 0) revert ModelRegistryZeroCommitWindow();
        if (timing.challengeWindowSec == 0) revert ModelRegistryZeroChallengeWindow();
        if (timing.voteWindowSec == 0) revert ModelRegistryZeroVoteWindow();
        // A round must settle (finalize, or see its last dispute and appeal decided) before the ledger
        // reuses its commitment ring slot, and before a worker's unbonding delay lets its stake go.
        uint256 settleSec = settlementSec(timing);
        uint256 ringSec = COMMITMENT_RING_ROUNDS * timing.commitWindowSec;
        if (settleSec > ringSec) revert ModelRegistrySettlementOutlastsRing(settleSec, ringSec);
        if (settleSec > MAX_SETTLEMENT_SEC) revert ModelRegistrySettlementOutlastsUnbonding(settleSec, MAX_SETTLEMENT_SEC);
    }
}
