// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";
import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {IModelRegistryErrors} from "./interfaces/IModelRegistryErrors.sol";
import {ModelToken} from "./ModelToken.sol";

/// @title ModelRegistry: the immutable economic terms of every model, and its token
/// @notice Designers register a model spec; the registry validates every economic field, deploys the
/// model's ERC-20 as an ERC-1167 clone of one ModelToken implementation (address deterministic from the
/// model id) and makes the compute ledger its only minter. Economic terms never change after
/// registration; only the metadata URI is editable, by the designer.
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
    uint16 private constant _BPS = 10_000;

    // ---------------------------------------------------------------- storage

    /// @notice The ModelToken implementation every model token clones.
    // solhint-disable-next-line immutable-vars-naming
    address public immutable tokenImplementation; // public getter name is part of the ABI
    /// @dev The only account allowed to bind the ledger, once.
    // solhint-disable-next-line immutable-vars-naming
    address private immutable _deployer;
    address private _ledger;
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

    // ---------------------------------------------------------------- registration

    /// @notice Registers a model with the caller as designer and deploys its token clone.
    /// @param spec Name, symbol, spec hash, per-stage roots and units, emission, fee split, timing, stakes.
    /// @return modelId The new model's id (1, 2, ...).
    /// @return token The model token (ERC-1167 clone, salt = modelId), minter = the ledger.
    function registerModel(ModelSpec calldata spec) external returns (uint64 modelId, address token) {
        address ledger_ = _ledger;
        if (ledger_ == address(0)) revert ModelRegistryLedgerNotBound();
        uint16 stageCount = _validate(spec);

        modelId = ++_modelCount;
        token = Clones.cloneDeterministic(tokenImplementation, bytes32(uint256(modelId)));

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

    /// @notice The registry's deployer, who may bind the ledger once.
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

    /// @notice The address the token of `modelId` has (or will have) as a deterministic clone.
    function predictTokenAddress(uint64 modelId) external view returns (address) {
        return Clones.predictDeterministicAddress(tokenImplementation, bytes32(uint256(modelId)));
    }

    // ---------------------------------------------------------------- internals

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

        Emission calldata e = spec.emission;
        if (e.tokensPerRound == 0) revert ModelRegistryZeroTokensPerRound();
        if (e.decayBps > _BPS) revert ModelRegistryDecayTooHigh(e.decayBps);
        if (e.capTokens < e.tokensPerRound || e.capTokens > type(uint96).max) {
            revert ModelRegistryInvalidCap(e.capTokens, e.tokensPerRound);
        }

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

        if (spec.timing.commitWindowSec == 0) revert ModelRegistryZeroCommitWindow();
        if (spec.timing.challengeWindowSec == 0) revert ModelRegistryZeroChallengeWindow();
        if (spec.timing.voteWindowSec == 0) revert ModelRegistryZeroVoteWindow();
        if (spec.minWorkerStakeWei == 0) revert ModelRegistryZeroWorkerStake();
        if (spec.minValidatorStakeWei == 0) revert ModelRegistryZeroValidatorStake();
    }
}
