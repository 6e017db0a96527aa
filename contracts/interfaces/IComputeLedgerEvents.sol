// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Events of the compute ledger: one for every state change
interface IComputeLedgerEvents {
    event Staked(address indexed account, uint256 amountWei, uint256 totalStakeWei);
    event PayoutAddressSet(address indexed account, address payout);
    event SigningKeyRotated(address indexed account, address previousKey, address newKey);
    event ValidatorSet(address indexed account, bool validator);
    event UnbondRequested(address indexed account, uint256 withdrawableAt);
    event StakeWithdrawn(address indexed account, address to, uint256 amountWei);
    event ModelCached(uint64 indexed modelId);

    /// @notice One accepted commitment; `units = itemCount * unitsPerMicrobatch(stage)`.
    event CommitmentAccepted(
        uint64 indexed modelId, uint64 indexed round, address indexed worker, uint16 stage, bytes32 itemsRoot, uint64 units
    );

    event DisputeOpened(
        uint256 indexed disputeId,
        uint64 indexed modelId,
        uint64 indexed round,
        uint8 kind,
        address accused,
        address counterparty,
        address challenger,
        uint256 bondWei,
        address[3] committee,
        uint40 voteDeadline
    );
    event Voted(uint256 indexed disputeId, address indexed validator, bool fraud);
    event DisputeResolved(uint256 indexed disputeId, uint8 status, uint8 fraudVotes, uint8 honestVotes);
    event WorkerSlashed(
        uint64 indexed modelId,
        uint64 indexed round,
        address indexed worker,
        uint256 slashedWei,
        uint256 rewardWei,
        uint256 burnedWei,
        uint256 unitsRemoved
    );
    event BondForfeited(uint256 indexed disputeId, address indexed challenger, uint256 rewardWei, uint256 burnedWei);
    event PaymentCredited(address indexed account, uint256 amountWei);
    event PaymentWithdrawn(address indexed account, uint256 amountWei);

    /// @notice A proven break of a worker's own weights chain: round `round`'s `weightsRootBefore`
    /// differs from its round `round - 1` `weightsRootAfter` (same model and stage).
    event WeightsBreakProven(
        uint64 indexed modelId, uint64 indexed round, address indexed worker, uint16 stage, address prover
    );

    /// @notice The sampling seed of (model, round), fixed at the first call after its commit window.
    event RoundSeedSealed(uint64 indexed modelId, uint64 indexed round, bytes32 seed);
    /// @notice `validator` re-executed and vouches for microbatch `index` of the worker's commitment.
    event ItemAttested(
        uint64 indexed modelId, uint64 indexed round, address indexed validator, address worker, uint16 stage, uint32 index, uint256 units
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
