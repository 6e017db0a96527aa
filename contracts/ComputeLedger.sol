// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {IComputeLedger} from "./interfaces/IComputeLedger.sol";
import {IComputeLedgerValidators} from "./interfaces/IComputeLedgerValidators.sol";
import {LedgerBase} from "./ledger/LedgerBase.sol";
import {LedgerRewards} from "./ledger/LedgerRewards.sol";
import {ComputeLedgerValidatorModule} from "./ledger/LedgerValidators.sol";

/// @title Shardholder compute ledger: stake, signed commitments, challenges, slashing and rewards
/// @notice Workers stake native ETH and post EIP-712 signed commitments of the stage work they did
/// each round; validators challenge bad items or prove hash-chain breaks, a drawn committee votes,
/// losers are slashed; finalized rounds mint the model token pro rata to accepted compute units, and
/// validators who attested sampled items mint the validators' share.
/// The parts live in `contracts/ledger/` (staking, commitments, disputes, rewards, validators); the
/// validator entry points run in `ComputeLedgerValidatorModule` by DELEGATECALL (same storage).
contract ComputeLedger is IComputeLedger, IComputeLedgerValidators, LedgerRewards {
    /// @dev Created here, so every ledger has exactly the module compiled with it.
    address private immutable _validatorModule;

    constructor(IModelRegistry registry_) LedgerBase(registry_) {
        _validatorModule = address(new ComputeLedgerValidatorModule(registry_));
    }

    /// @inheritdoc IComputeLedger
    /// @dev A never-staked account is not serving even if the model's minimum stake is 0.
    function isServingOperator(uint64 modelId, address operator) external view returns (bool) {
        return _isServing(_stakers[operator], _minWorkerStakeWei(modelId));
    }

    /// @inheritdoc IComputeLedger
    /// @dev The escrow's fulfil path: 1 model slot + 1 staker slot per distinct operator. `caller` is
    /// usually also `operators[0]`, so its repeats are not read again.
    function findNonServingOperator(uint64 modelId, address caller, address[] calldata operators)
        external
        view
        returns (bool found, address operator)
    {
        uint256 minStakeWei = _minWorkerStakeWei(modelId);
        if (!_isServing(_stakers[caller], minStakeWei)) return (true, caller);
        for (uint256 i; i < operators.length; ++i) {
            operator = operators[i];
            if (operator != caller && !_isServing(_stakers[operator], minStakeWei)) return (true, operator);
        }
        return (false, address(0));
    }

    /// @notice The model registry whose terms this ledger enforces.
    function registry() external view returns (IModelRegistry) {
        return _registry;
    }

    /// @notice The module the validator entry points delegate to.
    function validatorModule() external view returns (address) {
        return _validatorModule;
    }

    // ---------------------------------------------------------------- validators (delegated)

    /// @notice Fixes the sampling seed of (model, round) inside its challenge window; idempotent.
    /// @dev See `LedgerValidators.sealRoundSeed`.
    function sealRoundSeed(uint64, uint64) external returns (bytes32) {
        _delegate();
    }

    /// @notice Records the caller's attestations of sampled items of one (model, round).
    /// @dev See `LedgerValidators.attestItems` (sampling rule, bitmap, bounds).
    function attestItems(CommittedItem[] calldata, uint32[] calldata) external {
        _delegate();
    }

    /// @notice Mints a validator's share of a finalized round's validator pool to its payout.
    /// @dev See `LedgerValidators.mintValidatorReward`.
    function mintValidatorReward(uint64, uint64, address) external returns (uint256) {
        _delegate();
    }

    /// @notice Slashes a validator that attested the leaf a dispute proved fraudulent.
    /// @dev See `LedgerValidators.slashFalseAttestation`.
    function slashFalseAttestation(uint256, address) external {
        _delegate();
    }

    /// @notice Slashes a worker whose round-r `weightsRootBefore` differs from its own round r-1
    /// `weightsRootAfter` (proven from both stored commitments, no committee).
    /// @dev See `LedgerValidators.proveWeightsBreak`.
    function proveWeightsBreak(Commitment calldata, Commitment calldata) external {
        _delegate();
    }

    /// @notice Applies a dispute's committee verdict once every member voted or the vote window closed.
    /// @dev See `LedgerValidators.resolveDispute` (runs in the module to keep this contract under EIP-170).
    function resolveDispute(uint256) external {
        _delegate();
    }

    /// @notice The sealed sampling seed of (model, round); zero until sealed.
    function roundSeed(uint64 modelId, uint64 round) external view returns (bytes32) {
        return _roundSeeds[modelId][round];
    }

    /// @notice How many draws per commitment each validator may attest for `modelId`.
    function attestDraws(uint64 modelId) external view returns (uint256) {
        return _attestDraws(_viewModel(modelId).microbatchesPerRound);
    }

    /// @notice The microbatch index that draw `draw` of `validator` hits in (stage, worker)'s
    /// commitment of the round (meaningful once the round's seed is sealed).
    function sampledIndex(uint64 modelId, uint64 round, address validator, address worker, uint16 stage, uint32 draw)
        external
        view
        returns (uint32)
    {
        return _drawIndex(
            _roundSeeds[modelId][round], validator, worker, stage, draw, _viewModel(modelId).microbatchesPerRound
        );
    }

    /// @notice Whether `validator` attested leaf `index` of (model, round, stage, worker).
    function isAttested(uint64 modelId, uint64 round, uint16 stage, address worker, address validator, uint32 index)
        external
        view
        returns (bool)
    {
        return _attestedBits[_attestKey(modelId, round, stage, worker, validator)][index >> 8] & (1 << (index & 255))
            != 0;
    }

    /// @notice `validator`'s attested units of (model, round) and whether it minted or forfeited.
    function validatorRound(uint64 modelId, uint64 round, address validator)
        external
        view
        returns (ValidatorRound memory)
    {
        return _validatorRounds[modelId][round][validator];
    }

    /// @dev Forwards the call to the module in this contract's context and returns or reverts with its data.
    function _delegate() private {
        address module = _validatorModule;
        assembly ("memory-safe") {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), module, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }
}
