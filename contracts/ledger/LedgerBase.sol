// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {IComputeLedgerTypes} from "../interfaces/IComputeLedgerTypes.sol";
import {IComputeLedgerErrors} from "../interfaces/IComputeLedgerErrors.sol";
import {IComputeLedgerEvents} from "../interfaces/IComputeLedgerEvents.sol";
import {StakeSortition} from "./StakeSortition.sol";

/// @title Storage, constants and shared helpers of the compute ledger
/// @dev Every storage layout decision lives here so the focused parts (staking, commitments,
/// disputes, rewards) cannot disagree about packing.
abstract contract LedgerBase is IComputeLedgerTypes, IComputeLedgerErrors, IComputeLedgerEvents {
    // ---------------------------------------------------------------- constants

    /// @notice Time between `requestUnbond` and `withdrawStake`. Every model a worker commits to must
    /// have `commitWindowSec + challengeWindowSec + DISPUTE_WINDOWS * voteWindowSec <= UNBONDING_DELAY_SEC`
    /// (checked on submission), so any dispute about a committed round opens before the stake can
    /// leave, and an open dispute blocks the withdrawal until it is resolved.
    uint256 public constant UNBONDING_DELAY_SEC = 7 days;
    /// @notice Vote windows a dispute may last: three committee levels, each with a vote window, and
    /// the two appeal windows between them, plus one of slack for the draws (the registry checks the same).
    uint256 public constant DISPUTE_WINDOWS = 6;
    /// @notice Appeals a dispute may have; the committee of level `l` has `committeeSeats(l)` seats.
    uint256 public constant MAX_APPEALS = 2;
    /// @notice Draw attempts per seat in one `drawCommittee` call (a candidate that is a party or
    /// under the model's minimum validator stake is skipped); bounds the loop of one call. A committee
    /// that is not full yet is drawn further by later calls ...
    uint256 internal constant DRAW_ATTEMPTS_PER_SEAT = 3;
    /// @notice ... up to this many attempts per seat in all: then voting starts with the seats drawn
    /// (stake parked just under a model's minimum can delay a committee, not empty it: emptying a
    /// 5-seat one needs ~19x the eligible stake for a 1% chance).
    uint256 internal constant MAX_DRAW_ATTEMPTS_PER_SEAT = 30;
    /// @notice Share of a losing worker's bonded stake that is slashed.
    uint256 public constant SLASH_BPS = 5000;
    /// @notice Share of any slashed amount (worker stake or challenger bond) credited to the winner.
    uint256 public constant WINNER_SHARE_BPS = 5000;
    /// @notice Share of a slashed stake or forfeited bond decided by a committee that goes to the
    /// voters who voted for the final verdict (with the penalties of those who did not); the rest is burned.
    uint256 public constant VOTER_SHARE_BPS = 2500;
    /// @notice What a committee seat that voted against the final verdict, or did not vote, loses
    /// from its stake, in bps of the model's challenge bond.
    uint256 public constant VOTE_PENALTY_BPS = 1000;
    /// @notice Share of each bond kept when a dispute is dismissed (a tie or no votes), credited to
    /// the accused for the time its stake was locked: spam costs more than gas.
    uint256 public constant DISMISS_FEE_BPS = 1000;
    /// @notice Bond of a data-availability challenge, in bps of the model's challenge bond ...
    uint256 public constant AVAILABILITY_BOND_BPS = 1000;
    /// @notice ... and at least this much: it pays the worker's answer (a `revealItem` costs ~80k gas),
    /// so demanding leaves an honest worker holds costs the demander more than the worker.
    uint256 internal constant MIN_AVAILABILITY_BOND_WEI = 5e15;
    /// @notice Floor of the challenge bond when a model's minimum validator stake is lower.
    uint256 internal constant MIN_CHALLENGE_BOND_WEI = 1e15;
    /// @notice Where burned ETH goes.
    address internal constant BURN_ADDRESS = address(0xdEaD);
    /// @notice Rounds of one (model, stage, worker) that share storage slots: round r reuses the slot
    /// of round r - RING_SIZE once that commitment is rewarded or slashed, which turns the fresh
    /// 22.1k SSTORE into a 5k one in steady state.
    uint256 public constant RING_SIZE = 8;
    /// @notice Sampling rate of attestations: each validator may attest the items hit by its first
    /// `min(MAX_ATTEST_DRAWS, max(1, ceil(microbatchesPerRound * ATTEST_SAMPLE_BPS / 1e4)))` draws per
    /// commitment (docs/PROTOCOL.md "Attestation sample"). 10% keeps re-execution within the 12%
    /// validator budget (docs/PROTOCOL.md "Targets").
    uint256 public constant ATTEST_SAMPLE_BPS = 1000;
    /// @notice Most attestable draws per (validator, commitment): a round of many optimizer steps
    /// costs the chain no more attestation gas than a round of one (validators still re-execute
    /// their full off-chain sample; only what they can be paid for on-chain is capped).
    uint256 public constant MAX_ATTEST_DRAWS = 4;
    /// @notice Most items one `attestItems` call takes (bounds its gas).
    uint256 public constant MAX_ATTEST_BATCH = 256;

    uint256 internal constant BPS = 10_000;

    // packed commitment slot: [0,40) round | [40,104) units | [104,112) flags | [112,256) digest prefix,
    // digest = keccak256(abi.encode(itemsRoot, weightsRootBefore, weightsRootAfter)):
    // one slot binds the items tree (challenges, attestations, and through its leaves the pipeline
    // neighbours of every microbatch) and both weights roots (continuity proofs).
    uint256 internal constant _ROUND_MASK = (1 << 40) - 1;
    uint256 internal constant _UNITS_SHIFT = 40;
    uint256 internal constant _FLAGS_SHIFT = 104;
    uint256 internal constant _PREFIX_SHIFT = 112;
    uint256 internal constant _FLAG_EXISTS = 1;
    uint256 internal constant _FLAG_SLASHED = 2;
    uint256 internal constant _FLAG_REWARDED = 4;
    /// @dev Voided by a link proof: no reward, units gone from the round, still slashable for fraud.
    uint256 internal constant _FLAG_VOIDED = 8;

    uint8 internal constant _STAKER_VALIDATOR = 1;
    uint8 internal constant _STAKER_UNBONDING = 2;
    uint8 internal constant _STAKER_JAILED = 4;

    // ---------------------------------------------------------------- storage

    /// @dev The immutable terms of a model the hot paths need, copied once from the registry
    /// (its economic terms never change) so a batch reads 2 slots instead of the whole registry struct.
    struct ModelParams {
        uint64 genesisTime;
        uint32 commitWindowSec;
        uint32 challengeWindowSec;
        uint32 voteWindowSec;
        uint16 stageCount;
        uint32 microbatchesPerRound;
        uint16 designerEmissionBps;
        uint16 validatorEmissionBps;
        bool cached;
        uint128 minWorkerStakeWei;
        uint128 minValidatorStakeWei;
        address token;
        address designer;
    }

    /// @dev slot 0 is all a commitment or `isServingOperator` reads.
    struct StakerSlot {
        address signingKey;
        uint88 stakeWei;
        uint8 flags;
        address payout;
        uint40 unbondRequestedAt;
        uint32 openDisputes;
    }

    IModelRegistry internal immutable _registry;

    mapping(uint64 modelId => ModelParams) internal _models;
    /// @dev units per microbatch + 1 (0 = not cached yet)
    mapping(uint64 modelId => mapping(uint16 stage => uint256)) internal _unitsPlusOne;
    mapping(address account => StakerSlot) internal _stakers;
    /// @dev key = stage * RING_SIZE + round % RING_SIZE, value packed as described above
    mapping(uint64 modelId => mapping(address worker => mapping(uint256 key => uint256))) internal _commitments;
    mapping(uint64 modelId => mapping(uint64 round => RoundState)) internal _rounds;
    mapping(uint64 modelId => uint256) internal _emissionAllocated;
    mapping(uint256 disputeId => Dispute) internal _disputes;
    uint256 internal _disputeCount;
    /// @dev Validators are per (model, stage): a validator audits, attests and sits on committees of
    /// one stage only, so no validator needs another stage's weights (docs/PROTOCOL.md "Stages").
    /// `group = modelId << 16 | stage`. Every account that ever opted in to a group, in order; entry
    /// index + 1 is its sortition entry in that group.
    mapping(uint256 group => address[]) internal _groupValidators;
    /// @dev The group an account validates (or last validated) and its entry there, packed:
    /// [0,64) entry index + 1 | [64,128) modelId | [128,144) stage (0 = never opted in).
    mapping(address account => uint256) internal _validatorSeats;
    /// @dev stake-weighted sortition per group: weight = stake while a validator of that group, not
    /// unbonding and not jailed, else 0
    mapping(uint256 group => StakeSortition.Tree) internal _sortitions;
    mapping(address => uint256) internal _payments;
    /// @dev dispute id + 1 of the open dispute of an item, key = `_itemKey(...)` (0 = none)
    mapping(bytes32 itemKey => uint256) internal _openItemDispute;
    /// @dev sampling seed of a round, sealed after its commit window (0 = not sealed yet)
    mapping(uint64 modelId => mapping(uint64 round => bytes32)) internal _roundSeeds;
    /// @dev attested microbatch indices, one bit each, key = `_attestKey(...)`, word = index / 256
    mapping(bytes32 attestKey => mapping(uint256 word => uint256)) internal _attestedBits;
    mapping(uint64 modelId => mapping(uint64 round => mapping(address validator => ValidatorRound))) internal
        _validatorRounds;
    /// @dev block whose hash seals a round's seed, set by the first `sealRoundSeed` (0 = not requested)
    mapping(uint64 modelId => mapping(uint64 round => uint64)) internal _seedBlocks;
    mapping(uint256 disputeId => mapping(uint256 level => Appeal)) internal _appeals;
    mapping(uint256 disputeId => mapping(uint256 level => address[])) internal _panelMembers;
    /// @dev seats | vote << 16 of one member of one level, key = `_seatKey(...)`
    mapping(bytes32 seatKey => uint256) internal _panelSeats;
    mapping(uint256 challengeId => AvailabilityChallenge) internal _availability;
    uint256 internal _availabilityCount;
    /// @dev availability challenge id + 1 of an item, key = `_itemKey(...)` (0 = none open)
    mapping(bytes32 itemKey => uint256) internal _openAvailability;
    /// @dev The neighbour whose leaf voided a commitment (`proveUnlinked`, `proveDuplicate`; zero for
    /// `proveMisordered`), same keys as `_commitments`: an equivocation proven against that neighbour
    /// restores the commitment.
    mapping(uint64 modelId => mapping(address worker => mapping(uint256 key => address))) internal _voidedVia;
    /// @dev When `key` last stopped being `account`'s signing key (0 = never): a link receipt of a round
    /// whose commit window began before that is still evidence against the account, so rotating the key
    /// cannot hide an equivocation.
    mapping(address account => mapping(address key => uint256)) internal _keyRetiredAt;
    /// @dev The most a serving dispute's fraud verdict refunds its requester (the fee), set by the escrow.
    mapping(uint256 disputeId => uint256) internal _servingRefundCapWei;

    constructor(IModelRegistry registry_) {
        if (address(registry_) == address(0)) revert ComputeLedgerZeroAddress();
        _registry = registry_;
    }

    /// @notice The model registry whose terms this ledger (or module) enforces.
    function registry() external view returns (IModelRegistry) {
        return _registry;
    }

    // ---------------------------------------------------------------- model terms

    /// @dev The cached terms, copied from the registry on first use. A storage pointer: cold paths
    /// read only the fields they need instead of copying the whole struct.
    function _model(uint64 modelId) internal returns (ModelParams storage p) {
        p = _models[modelId];
        if (!p.cached) {
            _models[modelId] = _fetchModel(modelId);
            emit ModelCached(modelId);
        }
    }

    /// @dev Same as `_loadModel` without writing (for views).
    function _viewModel(uint64 modelId) internal view returns (ModelParams memory p) {
        p = _models[modelId];
        if (!p.cached) p = _fetchModel(modelId);
    }

    /// @dev Reverts unless the model's whole dispute timeline fits the unbonding delay.
    function _requireSettleableTiming(uint64 modelId, ModelParams storage p) internal view {
        uint256 windowsSec = uint256(p.commitWindowSec) + p.challengeWindowSec + DISPUTE_WINDOWS * p.voteWindowSec;
        if (windowsSec > UNBONDING_DELAY_SEC) revert ComputeLedgerModelWindowsTooLong(modelId, windowsSec);
    }

    /// @dev The model's minimum worker stake in 1 slot read (the serving checks run on every fulfil):
    /// the registry rejects a zero minimum, so a zero here means "not cached yet", not "no minimum".
    function _minWorkerStakeWei(uint64 modelId) internal view returns (uint256 minStakeWei) {
        minStakeWei = _models[modelId].minWorkerStakeWei;
        if (minStakeWei == 0) minStakeWei = _fetchModel(modelId).minWorkerStakeWei;
    }

    function _fetchModel(uint64 modelId) internal view returns (ModelParams memory p) {
        if (modelId == 0 || modelId > _registry.modelCount()) revert ComputeLedgerUnknownModel(modelId);
        IModelRegistry.Model memory m = _registry.model(modelId);
        p = ModelParams({
            genesisTime: m.genesisTime,
            commitWindowSec: m.timing.commitWindowSec,
            challengeWindowSec: m.timing.challengeWindowSec,
            voteWindowSec: m.timing.voteWindowSec,
            stageCount: m.stageCount,
            microbatchesPerRound: m.microbatchesPerRound,
            designerEmissionBps: m.designerEmissionBps,
            validatorEmissionBps: m.validatorEmissionBps,
            cached: true,
            minWorkerStakeWei: m.minWorkerStakeWei,
            minValidatorStakeWei: m.minValidatorStakeWei,
            token: m.token,
            designer: m.designer
        });
    }

    function _unitsPerMicrobatch(uint64 modelId, uint16 stage) internal returns (uint256 units) {
        units = _unitsPlusOne[modelId][stage];
        if (units == 0) {
            units = uint256(_registry.unitsPerMicrobatch(modelId, stage)) + 1;
            _unitsPlusOne[modelId][stage] = units;
        }
        unchecked {
            return units - 1;
        }
    }

    // ---------------------------------------------------------------- round timing

    function _commitStart(uint256 genesisTime, uint256 commitWindowSec, uint64 round) internal pure returns (uint256) {
        return genesisTime + uint256(round) * commitWindowSec;
    }

    /// @dev The challenge window of `round` is [commitEnd, commitEnd + challengeWindowSec).
    function _commitEnd(uint256 genesisTime, uint256 commitWindowSec, uint64 round) internal pure returns (uint256) {
        return genesisTime + (uint256(round) + 1) * commitWindowSec;
    }

    function _challengeEnd(ModelParams storage p, uint64 round) internal view returns (uint256) {
        return _commitEnd(p.genesisTime, p.commitWindowSec, round) + p.challengeWindowSec;
    }

    // ---------------------------------------------------------------- commitment slots

    function _slotKey(uint16 stage, uint64 round) internal pure returns (uint256) {
        return uint256(stage) * RING_SIZE + (round % RING_SIZE);
    }

    function _packCommitment(uint64 round, uint256 units, bytes32 digest) internal pure returns (uint256) {
        return ((uint256(digest) >> _PREFIX_SHIFT) << _PREFIX_SHIFT) | (_FLAG_EXISTS << _FLAGS_SHIFT)
            | (units << _UNITS_SHIFT) | uint256(round);
    }

    /// @dev The digest a commitment slot stores a prefix of (docs/PROTOCOL.md "Stored commitment digest").
    function _commitmentDigest(bytes32 itemsRoot, bytes32 weightsRootBefore, bytes32 weightsRootAfter)
        internal
        pure
        returns (bytes32 digest)
    {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, itemsRoot)
            mstore(add(ptr, 0x20), weightsRootBefore)
            mstore(add(ptr, 0x40), weightsRootAfter)
            digest := keccak256(ptr, 0x60)
        }
    }

    /// @dev `_commitmentDigest` of a calldata `Commitment`, its three words copied straight from calldata
    /// (offsets 0x80, 0xc0 and 0xe0 of the static struct).
    function _storedDigest(Commitment calldata c) internal pure returns (bytes32 digest) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, calldataload(add(c, 0x80)))
            calldatacopy(add(ptr, 0x20), add(c, 0xc0), 0x40)
            digest := keccak256(ptr, 0x60)
        }
    }

    /// @dev Identifies one microbatch leaf of one commitment.
    function _itemKey(uint64 modelId, uint64 round, uint16 stage, address worker, uint32 index)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(modelId, round, stage, worker, index));
    }

    /// @dev Identifies one member's seats and vote in one committee level of a dispute.
    function _seatKey(uint256 disputeId, uint256 level, address member) internal pure returns (bytes32) {
        return keccak256(abi.encode(disputeId, level, member));
    }

    /// @dev Seats of the committee of appeal level `level` (0 = first committee): 5, 19, 61.
    /// A majority of 61 stake-weighted seats is out of reach of a 20% stake with probability ~1e-7.
    function _committeeSeats(uint256 level) internal pure returns (uint256) {
        return level == 0 ? 5 : (level == 1 ? 19 : 61);
    }

    /// @dev Bond of the appeal from level `level` to `level + 1`: the challenge bond doubled per level.
    function _appealBond(uint256 challengeBondWei, uint256 level) internal pure returns (uint256) {
        return challengeBondWei << (level + 1);
    }

    function _availabilityBond(uint256 minValidatorStakeWei) internal pure returns (uint256 bondWei) {
        bondWei = _challengeBond(minValidatorStakeWei) * AVAILABILITY_BOND_BPS / BPS;
        if (bondWei < MIN_AVAILABILITY_BOND_WEI) bondWei = MIN_AVAILABILITY_BOND_WEI;
    }

    /// @dev Identifies one validator's attestation bitmap of one commitment.
    function _attestKey(uint64 modelId, uint64 round, uint16 stage, address worker, address validator)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(modelId, round, stage, worker, validator));
    }

    function _slotRound(uint256 slot) internal pure returns (uint64) {
        return uint64(slot & _ROUND_MASK);
    }

    function _slotUnits(uint256 slot) internal pure returns (uint64) {
        return uint64(slot >> _UNITS_SHIFT);
    }

    function _slotHas(uint256 slot, uint256 flag) internal pure returns (bool) {
        return (slot >> _FLAGS_SHIFT) & flag != 0;
    }

    /// @dev True when `slot` holds the commitment of exactly `round`.
    function _slotIsRound(uint256 slot, uint64 round) internal pure returns (bool) {
        return _slotHas(slot, _FLAG_EXISTS) && _slotRound(slot) == round;
    }

    function _slotPrefixMatches(uint256 slot, bytes32 digest) internal pure returns (bool) {
        return (slot >> _PREFIX_SHIFT) == (uint256(digest) >> _PREFIX_SHIFT);
    }

    // ---------------------------------------------------------------- attestation sample

    /// @dev Draws per commitment a validator may attest: max(1, ceil(microbatches * ATTEST_SAMPLE_BPS / 1e4)).
    function _attestDraws(uint256 microbatchesPerRound) internal pure returns (uint256) {
        uint256 draws = (microbatchesPerRound * ATTEST_SAMPLE_BPS + BPS - 1) / BPS;
        if (draws == 0) return 1;
        return draws > MAX_ATTEST_DRAWS ? MAX_ATTEST_DRAWS : draws;
    }

    /// @dev docs/PROTOCOL.md "Attestation sample": the index draw `draw` of `validator` hits in a
    /// commitment of `itemCount` items (indices `[0, itemCount)`).
    function _drawIndex(bytes32 seed, address validator, address worker, uint16 stage, uint32 draw, uint32 itemCount)
        internal
        pure
        returns (uint32)
    {
        return uint32(uint256(keccak256(abi.encode(seed, validator, worker, stage, draw))) % itemCount);
    }

    // ---------------------------------------------------------------- staking helpers

    /// @dev Reads the staker's slot 0 once (the field-by-field form loaded it once per field). Decodes
    /// the word in place rather than through `_isServingWord`: the escrow's fulfil runs it per operator
    /// and the extra internal call measurably costs there (bench/gas.json).
    function _isServing(StakerSlot storage s, uint256 minStakeWei) internal view returns (bool) {
        uint256 word;
        assembly ("memory-safe") {
            word := sload(s.slot)
        }
        uint256 stakeWei = uint88(word >> 160);
        return stakeWei >= minStakeWei && stakeWei != 0 && (word >> 248) & (_STAKER_UNBONDING | _STAKER_JAILED) == 0;
    }

    /// @dev The staker's slot 0: signingKey [0,160) | stakeWei [160,248) | flags [248,256).
    function _stakerWord(StakerSlot storage s) internal view returns (uint256 word) {
        assembly ("memory-safe") {
            word := sload(s.slot)
        }
    }

    /// @dev `_isServing` of an already loaded staker word (the commitment path also needs its signing key).
    function _isServingWord(uint256 word, uint256 minStakeWei) internal pure returns (bool) {
        uint256 stakeWei = uint88(word >> 160);
        return stakeWei >= minStakeWei && stakeWei != 0 && (word >> 248) & (_STAKER_UNBONDING | _STAKER_JAILED) == 0;
    }

    /// @dev Sortition weight of a staker: its stake while it is a validator, not unbonding, not jailed.
    function _validatorWeight(StakerSlot storage s) internal view returns (uint256) {
        uint8 flags = s.flags;
        if (flags & _STAKER_VALIDATOR == 0 || flags & (_STAKER_UNBONDING | _STAKER_JAILED) != 0) return 0;
        return s.stakeWei;
    }

    /// @dev Brings `account`'s sortition weight in line with its staker state (after any change of
    /// stake, validator flag, unbonding or jail). Accounts that never opted in have no entry.
    function _syncSortition(address account) internal {
        uint256 seat = _validatorSeats[account];
        uint256 index = uint64(seat);
        if (index != 0) StakeSortition.set(_sortitions[_seatGroup(seat)], index, _validatorWeight(_stakers[account]));
    }

    /// @dev The sortition group of (model, stage).
    function _group(uint64 modelId, uint16 stage) internal pure returns (uint256) {
        return (uint256(modelId) << 16) | stage;
    }

    /// @dev The group of a packed validator seat.
    function _seatGroup(uint256 seat) internal pure returns (uint256) {
        return seat >> 64;
    }

    /// @dev `account`'s sortition weight in `group` (0 when it validates another group or none).
    function _groupWeight(uint256 group, address account) internal view returns (uint256) {
        uint256 seat = _validatorSeats[account];
        if (_seatGroup(seat) != group || uint64(seat) == 0) return 0;
        return _sortitions[group].weights[uint64(seat)];
    }

    /// @dev The bond of an item or chain-break challenge: the model's minimum validator stake, at least the floor.
    function _challengeBond(uint256 minValidatorStakeWei) internal pure returns (uint256) {
        return minValidatorStakeWei > MIN_CHALLENGE_BOND_WEI ? minValidatorStakeWei : MIN_CHALLENGE_BOND_WEI;
    }

    function _credit(address account, uint256 amountWei) internal {
        if (amountWei == 0) return;
        _payments[account] += amountWei;
        emit PaymentCredited(account, amountWei);
    }
}
