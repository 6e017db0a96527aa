// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {IComputeLedger} from "./interfaces/IComputeLedger.sol";
import {IComputeLedgerValidators} from "./interfaces/IComputeLedgerValidators.sol";
import {IComputeLedgerDisputes} from "./interfaces/IComputeLedgerDisputes.sol";
import {LedgerBase} from "./ledger/LedgerBase.sol";
import {LedgerRewards} from "./ledger/LedgerRewards.sol";
import {ComputeLedgerValidatorModule} from "./ledger/LedgerValidators.sol";
import {ComputeLedgerDisputeModule} from "./ledger/LedgerDisputes.sol";

/// @title Shardholder compute ledger: stake, signed commitments, challenges, slashing and rewards
/// @notice Workers stake native ETH and post EIP-712 signed commitments of the stage work they did
/// each round; validators challenge bad items or prove hash-chain breaks, a drawn committee votes,
/// losers are slashed; finalized rounds mint the model token pro rata to accepted compute units, and
/// validators who attested sampled items mint the validators' share.
/// The parts live in `contracts/ledger/` (staking, commitments, disputes, rewards, validators); the
/// validator and dispute entry points run in `ComputeLedgerValidatorModule` and
/// `ComputeLedgerDisputeModule` by DELEGATECALL (same storage).
contract ComputeLedger is IComputeLedger, IComputeLedgerValidators, IComputeLedgerDisputes, LedgerRewards {
    address private immutable _validatorModule;
    address private immutable _disputeModule;

    /// @dev The modules are deployed on their own (the three together exceed the EIP-3860 initcode
    /// limit) and must be bound to the same registry: they share this contract's storage layout
    /// because they are compiled from the same `LedgerBase`.
    constructor(
        IModelRegistry registry_,
        ComputeLedgerValidatorModule validatorModule_,
        ComputeLedgerDisputeModule disputeModule_
    ) LedgerBase(registry_) {
        if (validatorModule_.registry() != registry_ || disputeModule_.registry() != registry_) {
            revert ComputeLedgerModuleMismatch();
        }
        _validatorModule = address(validatorModule_);
        _disputeModule = address(disputeModule_);
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

    /// @notice The module the validator entry points delegate to.
    function validatorModule() external view returns (address) {
        return _validatorModule;
    }

    /// @notice The module the dispute entry points delegate to.
    function disputeModule() external view returns (address) {
        return _disputeModule;
    }

    // ---------------------------------------------------------------- validators (delegated)

    /// @notice Fixes the sampling seed of (model, round) inside its challenge window; idempotent.
    /// @dev See `LedgerValidators.sealRoundSeed`.
    function sealRoundSeed(uint64, uint64) external returns (bytes32) {
        _delegate(_validatorModule);
    }

    /// @notice Records the caller's attestations of sampled items of one (model, round).
    /// @dev See `LedgerValidators.attestItems` (sampling rule, bitmap, bounds).
    function attestItems(CommittedItem[] calldata, uint32[] calldata) external {
        _delegate(_validatorModule);
    }

    /// @notice Mints a validator's share of a finalized round's validator pool to its payout.
    /// @dev See `LedgerValidators.mintValidatorReward`.
    function mintValidatorReward(uint64, uint64, address) external returns (uint256) {
        _delegate(_validatorModule);
    }

    /// @notice Slashes a validator that attested the leaf a dispute proved fraudulent.
    /// @dev See `LedgerValidators.slashFalseAttestation`.
    function slashFalseAttestation(uint256, address) external {
        _delegate(_validatorModule);
    }

    /// @notice Slashes a worker whose round-r `weightsRootBefore` differs from its own round r-1
    /// `weightsRootAfter` (proven from both stored commitments, no committee).
    /// @dev See `LedgerValidators.proveWeightsBreak`.
    function proveWeightsBreak(Commitment calldata, Commitment calldata) external {
        _delegate(_validatorModule);
    }

    /// @notice Voids a commitment a leaf of which names a neighbour that exchanged that microbatch with another worker.
    /// @dev See `LedgerValidators.proveUnlinked`.
    function proveUnlinked(CommittedItem calldata, CommittedItem calldata, CommittedItem calldata) external {
        _delegate(_validatorModule);
    }

    /// @notice Voids a commitment that claims another's input without a confirmed upstream link.
    /// @dev See `LedgerValidators.proveDuplicate`.
    function proveDuplicate(CommittedItem calldata, CommittedItem calldata, CommittedItem calldata, CommittedItem[] calldata)
        external
    {
        _delegate(_validatorModule);
    }

    /// @notice Voids a commitment whose slots are not in strictly ascending microbatch order.
    /// @dev See `LedgerValidators.proveMisordered`.
    function proveMisordered(CommittedItem calldata, CommittedItem calldata) external {
        _delegate(_validatorModule);
    }

    /// @notice Slashes a worker whose leaf contradicts a link receipt it signed, restores the commitment
    /// its lie voided and voids the copy it was told for.
    /// @dev See `LedgerValidators.proveLinkEquivocation`.
    function proveLinkEquivocation(CommittedItem calldata, LinkReceipt calldata, bytes calldata, CommittedItem[] calldata)
        external
    {
        _delegate(_validatorModule);
    }

    // ---------------------------------------------------------------- disputes (delegated)

    /// @notice Challenges one committed leaf with `challengeBondWei(modelId)`; see `LedgerDisputes.challengeItem`.
    function challengeItem(CommittedItem calldata) external payable returns (uint256) {
        _delegate(_disputeModule);
    }

    /// @notice Proves a hash-chain break between stages s and s+1 and bonds a dispute between them;
    /// see `LedgerDisputes.challengeChainBreak`.
    function challengeChainBreak(CommittedItem calldata, CommittedItem calldata) external payable returns (uint256) {
        _delegate(_disputeModule);
    }

    /// @notice Draws the current level's committee from the hash of the dispute's draw block.
    /// @dev See `LedgerDisputes.drawCommittee`.
    function drawCommittee(uint256) external {
        _delegate(_disputeModule);
    }

    /// @notice Casts the caller's vote with all its seats; see `LedgerDisputes.vote`.
    function vote(uint256, bool) external {
        _delegate(_disputeModule);
    }

    /// @notice Appeals the current verdict to a larger committee with `appealBondWei(disputeId)`.
    /// @dev See `LedgerDisputes.appeal`.
    function appeal(uint256, bool) external payable {
        _delegate(_disputeModule);
    }

    /// @notice Applies the final verdict: slashing, bonds, voter rewards and penalties.
    /// @dev See `LedgerDisputes.resolveDispute`.
    function resolveDispute(uint256) external {
        _delegate(_disputeModule);
    }

    /// @notice Demands leaf `index` of a commitment on-chain; see `LedgerDisputes.challengeAvailability`.
    function challengeAvailability(uint64, uint64, uint16, address, uint32) external payable returns (uint256) {
        _delegate(_disputeModule);
    }

    /// @notice Answers an availability challenge with the leaf and its proof; see `LedgerDisputes.revealItem`.
    function revealItem(uint256, CommittedItem calldata) external {
        _delegate(_disputeModule);
    }

    /// @notice Slashes the worker of an unanswered availability challenge; see `LedgerDisputes.slashUnavailable`.
    function slashUnavailable(uint256) external {
        _delegate(_disputeModule);
    }

    /// @notice Opens a serving dispute (the escrow only); see `LedgerDisputes.openServingDispute`.
    function openServingDispute(uint64, uint64, uint16, address, address, uint256) external payable returns (uint256) {
        _delegate(_disputeModule);
    }

    /// @notice Slashes a proven serving equivocation (the escrow only); see `LedgerDisputes.slashServingOperator`.
    function slashServingOperator(uint64, uint64, uint16, address, address, uint256) external {
        _delegate(_disputeModule);
    }

    // ---------------------------------------------------------------- dispute views

    /// @notice The stored dispute `disputeId` (ids start at 1).
    function dispute(uint256 disputeId) external view returns (Dispute memory) {
        return _disputes[disputeId];
    }

    /// @notice Number of disputes ever opened (the latest id).
    function disputeCount() external view returns (uint256) {
        return _disputeCount;
    }

    /// @notice The members of committee level `level` of a dispute, their seats and votes.
    function panel(uint256 disputeId, uint8 level) external view returns (PanelSeat[] memory seats) {
        address[] storage members = _panelMembers[disputeId][level];
        seats = new PanelSeat[](members.length);
        for (uint256 i; i < members.length; ++i) {
            uint256 held = _panelSeats[_seatKey(disputeId, level, members[i])];
            seats[i] = PanelSeat({member: members[i], seats: uint16(held), vote: uint8(held >> 16)});
        }
    }

    /// @notice The appeal that opened level `level` (>= 1) of a dispute.
    function appealOf(uint256 disputeId, uint8 level) external view returns (Appeal memory) {
        return _appeals[disputeId][level];
    }

    /// @notice The open dispute (id) of the leaf of `microbatch` in the worker's commitment, 0 when none is open.
    function openDisputeOfItem(uint64 modelId, uint64 round, uint16 stage, address worker, uint32 microbatch)
        external
        view
        returns (uint256)
    {
        uint256 idPlusOne = _openItemDispute[_itemKey(modelId, round, stage, worker, microbatch)];
        return idPlusOne == 0 ? 0 : idPlusOne - 1;
    }

    /// @notice Bond of an item or chain-break challenge of `modelId`: the model's minimum validator
    /// stake, at least 0.001 ETH.
    function challengeBondWei(uint64 modelId) external view returns (uint256) {
        return _challengeBond(_viewModel(modelId).minValidatorStakeWei);
    }

    /// @notice Bond of the next appeal of `disputeId`: its challenge bond doubled per level.
    function appealBondWei(uint256 disputeId) external view returns (uint256) {
        Dispute storage d = _disputes[disputeId];
        return _appealBond(d.bondWei, d.level);
    }

    /// @notice Seats of the committee of appeal level `level`: 5, 19, 61 for levels 0, 1, 2.
    function committeeSeats(uint8 level) external pure returns (uint256) {
        return _committeeSeats(level);
    }

    /// @notice Bond of a data-availability challenge of `modelId`.
    function availabilityBondWei(uint64 modelId) external view returns (uint256) {
        return _availabilityBond(_viewModel(modelId).minValidatorStakeWei);
    }

    /// @notice The stored availability challenge `challengeId` (ids start at 1).
    function availabilityChallenge(uint256 challengeId) external view returns (AvailabilityChallenge memory) {
        return _availability[challengeId];
    }

    /// @notice Number of availability challenges ever opened (the latest id).
    function availabilityChallengeCount() external view returns (uint256) {
        return _availabilityCount;
    }

    /// @notice The open availability challenge (id) of one leaf, 0 when none is open.
    function openAvailabilityOfItem(uint64 modelId, uint64 round, uint16 stage, address worker, uint32 index)
        external
        view
        returns (uint256)
    {
        uint256 idPlusOne = _openAvailability[_itemKey(modelId, round, stage, worker, index)];
        return idPlusOne == 0 ? 0 : idPlusOne - 1;
    }

    /// @notice The sealed sampling seed of (model, round); zero until sealed.
    function roundSeed(uint64 modelId, uint64 round) external view returns (bytes32) {
        return _roundSeeds[modelId][round];
    }

    /// @notice The block whose hash will seal the seed of (model, round); zero until requested.
    function seedBlock(uint64 modelId, uint64 round) external view returns (uint256) {
        return _seedBlocks[modelId][round];
    }

    /// @notice How many draws per commitment each validator may attest for `modelId`.
    function attestDraws(uint64 modelId) external view returns (uint256) {
        return _attestDraws(_viewModel(modelId).microbatchesPerRound);
    }

    /// @notice The microbatch index that draw `draw` of `validator` hits in (stage, worker)'s
    /// commitment of the round (meaningful once the round's seed is sealed); reverts when the
    /// commitment is not stored.
    function sampledIndex(uint64 modelId, uint64 round, address validator, address worker, uint16 stage, uint32 draw)
        external
        view
        returns (uint32)
    {
        uint256 slot = _commitments[modelId][worker][_slotKey(stage, round)];
        if (!_slotIsRound(slot, round)) revert ComputeLedgerUnknownCommitment();
        uint256 itemCount = _slotUnits(slot) / _registry.unitsPerMicrobatch(modelId, stage);
        return _drawIndex(_roundSeeds[modelId][round], validator, worker, stage, draw, uint32(itemCount));
    }

    /// @notice Whether `validator` attested the leaf of `microbatch` of (model, round, stage, worker).
    function isAttested(uint64 modelId, uint64 round, uint16 stage, address worker, address validator, uint32 microbatch)
        external
        view
        returns (bool)
    {
        return _attestedBits[_attestKey(modelId, round, stage, worker, validator)][microbatch >> 8]
            & (1 << (microbatch & 255)) != 0;
    }

    /// @notice `validator`'s attested units of (model, round) and whether it minted or forfeited.
    function validatorRound(uint64 modelId, uint64 round, address validator)
        external
        view
        returns (ValidatorRound memory)
    {
        return _validatorRounds[modelId][round][validator];
    }

    /// @dev Forwards the call to `module` in this contract's context and returns or reverts with its data.
    function _delegate(address module) private {
        assembly ("memory-safe") {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), module, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }
}
