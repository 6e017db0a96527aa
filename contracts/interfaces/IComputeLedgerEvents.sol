// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IComputeLedgerTypes} from "./IComputeLedgerTypes.sol";

/// @title Events of the compute ledger: one for every state change
interface IComputeLedgerEvents {
    event Staked(address indexed account, uint256 amountWei, uint256 totalStakeWei);
    event PayoutAddressSet(address indexed account, address payout);
    event SigningKeyRotated(address indexed account, address previousKey, address newKey);
    event ValidatorSet(address indexed account, uint64 indexed modelId, uint16 stage, bool validator);
    event UnbondRequested(address indexed account, uint256 withdrawableAt);
    event StakeWithdrawn(address indexed account, address to, uint256 amountWei);
    event ModelCached(uint64 indexed modelId);

    /// @notice One accepted commitment; `units = itemCount * unitsPerMicrobatch(stage)`.
    event CommitmentAccepted(
        uint64 indexed modelId, uint64 indexed round, address indexed worker, uint16 stage, bytes32 itemsRoot, uint64 units
    );

    /// @notice A challenge locked its bond; its committee is drawn from the hash of block `drawBlock`.
    event DisputeOpened(
        uint256 indexed disputeId,
        uint64 indexed modelId,
        uint64 indexed round,
        uint8 kind,
        address accused,
        address counterparty,
        address challenger,
        uint256 bondWei,
        uint256 drawBlock
    );
    /// @notice The committee of `level` was drawn: `members` (distinct) hold `seats` seats in all.
    event CommitteeDrawn(uint256 indexed disputeId, uint8 level, address[] members, uint16 seats, uint40 voteDeadline);
    /// @notice The committee of `level` is not full yet (`seats` drawn in `attempts`): call `drawCommittee` again.
    event CommitteeDrawContinues(uint256 indexed disputeId, uint8 level, uint16 seats, uint16 attempts);
    /// @notice The draw block's hash was no longer available (256 blocks): the draw moved to `drawBlock`.
    event CommitteeDrawDeferred(uint256 indexed disputeId, uint8 level, uint256 drawBlock);
    event Voted(uint256 indexed disputeId, address indexed validator, uint8 level, bool fraud, uint16 seats);
    /// @notice The verdict of level `level - 1` was appealed; level `level` is drawn from block `drawBlock`.
    event DisputeAppealed(
        uint256 indexed disputeId, uint8 level, address indexed appellant, bool fraud, uint256 bondWei, uint256 drawBlock
    );
    event DisputeResolved(uint256 indexed disputeId, uint8 status, uint16 fraudSeats, uint16 honestSeats);
    /// @notice A committee member lost `penaltyWei` of its stake for voting against the final verdict or not voting.
    event VoterPenalized(uint256 indexed disputeId, address indexed validator, uint256 penaltyWei);
    /// @notice `poolWei` was split among the `coherentSeats` seats that voted for the final verdict.
    event VotersRewarded(uint256 indexed disputeId, uint256 poolWei, uint256 coherentSeats);
    event WorkerSlashed(
        uint64 indexed modelId,
        uint64 indexed round,
        address indexed worker,
        uint256 slashedWei,
        uint256 rewardWei,
        uint256 burnedWei,
        uint256 unitsRemoved
    );
    /// @notice A serving operator was slashed for request `requestId` (docs/PROTOCOL.md "Verified inference"):
    /// `refundWei` of it went back to the escrow for the requester, `rewardWei` to the challenger or prover.
    event ServingOperatorSlashed(
        uint64 indexed modelId,
        uint64 indexed requestId,
        address indexed operator,
        uint16 stage,
        uint256 slashedWei,
        uint256 refundWei,
        uint256 rewardWei,
        uint256 burnedWei
    );
    event BondForfeited(uint256 indexed disputeId, address indexed challenger, uint256 rewardWei, uint256 burnedWei);
    event PaymentCredited(address indexed account, uint256 amountWei);
    event PaymentWithdrawn(address indexed account, uint256 amountWei);

    /// @notice A commitment was voided (never paid; its units left the round): a neighbour one of its
    /// leaves names exchanged that microbatch with another worker (`proveUnlinked`), a leaf duplicates
    /// the input of a leaf whose upstream link is confirmed (`proveDuplicate`; `neighbour` is its named
    /// upstream), or its slots are not in ascending microbatch order (`proveMisordered`; `neighbour` zero).
    event CommitmentVoided(
        uint64 indexed modelId, uint64 indexed round, address indexed worker, uint16 stage, address neighbour, uint64 removedUnits
    );

    /// @notice A voided commitment counts again (its units are back in the round): the neighbour whose
    /// leaf voided it was proven to have signed a link receipt naming it (`proveLinkEquivocation`).
    event CommitmentRestored(
        uint64 indexed modelId, uint64 indexed round, address indexed worker, uint16 stage, address liar, uint64 restoredUnits
    );

    /// @notice `liar` signed a link receipt listing `microbatch` with `counterpart` at the other end, and
    /// committed a leaf of it naming someone else (slashed like fraud; `prover` credited the winner's share).
    event LinkEquivocationProven(
        uint64 indexed modelId,
        uint64 indexed round,
        address indexed liar,
        uint16 stage,
        uint32 microbatch,
        address counterpart,
        address prover
    );

    /// @notice A proven break of a worker's own weights chain: round `round`'s `weightsRootBefore`
    /// differs from its round `round - 1` `weightsRootAfter` (same model and stage).
    event WeightsBreakProven(
        uint64 indexed modelId, uint64 indexed round, address indexed worker, uint16 stage, address prover
    );

    /// @notice The sampling seed of (model, round) will be the hash of block `seedBlock`.
    event RoundSeedRequested(uint64 indexed modelId, uint64 indexed round, uint256 seedBlock);
    /// @notice The sampling seed of (model, round) is fixed.
    event RoundSeedSealed(uint64 indexed modelId, uint64 indexed round, bytes32 seed);

    /// @notice Leaf `index` of the worker's commitment must be published on-chain before `deadline`.
    event AvailabilityChallenged(
        uint256 indexed challengeId,
        uint64 indexed modelId,
        uint64 indexed round,
        address worker,
        uint16 stage,
        uint32 index,
        address challenger,
        uint256 bondWei,
        uint40 deadline
    );
    /// @notice The demanded leaf, proven against the commitment's `itemsRoot`.
    event ItemRevealed(uint256 indexed challengeId, address indexed worker, bytes32 itemsRoot, IComputeLedgerTypes.ItemLeaf leaf);
    /// @notice Nobody published the demanded leaf in time: the worker was slashed (unless already slashed).
    event AvailabilitySlashed(uint256 indexed challengeId, address indexed worker);
    /// @notice `validator` re-executed and vouches for the leaf of `microbatch` in the worker's commitment.
    event ItemAttested(
        uint64 indexed modelId, uint64 indexed round, address indexed validator, address worker, uint16 stage, uint32 microbatch, uint256 units
    );
    /// @notice `validator` attested an item that dispute `disputeId` proved fraudulent.
    event AttestationSlashed(uint256 indexed disputeId, address indexed validator, address indexed prover, bool rewardForfeited);
    event ValidatorRewardMinted(
        uint64 indexed modelId, uint64 indexed round, address indexed validator, address payout, uint256 tokens, uint256 units
    );

    event RoundFinalized(uint64 indexed modelId, uint64 indexed round, uint256 totalUnits, uint256 emissionTokens);
    event RewardMinted(
        uint64 indexed modelId,
        uint64 indexed round,
        address indexed worker,
        address payout,
        uint256 workerTokens,
        uint256 designerTokens,
        uint256 units
    );
}
