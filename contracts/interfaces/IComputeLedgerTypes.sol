// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Structs of the compute ledger (docs/PROTOCOL.md fixes their byte layout)
interface IComputeLedgerTypes {
    /// @notice A worker's signed claim of work for one stage of one round (EIP-712 type `Commitment`).
    /// The pipeline neighbours are per microbatch, in the leaves (`ItemLeaf.upstream` / `downstream`):
    /// a stage with replicas exchanges each microbatch with whichever neighbour replica it was routed
    /// to, so one commitment may name many.
    struct Commitment {
        uint64 modelId;
        uint64 round;
        uint16 stage;
        address worker;
        bytes32 itemsRoot;
        uint32 itemCount;
        bytes32 weightsRootBefore;
        bytes32 weightsRootAfter;
    }

    /// @notice One microbatch leaf of a commitment's `itemsRoot` (OZ StandardMerkleTree leaf of these ten values).
    /// `index` is the leaf's slot in `[0, itemCount)`, slots in ascending `microbatch` order (so a
    /// microbatch a worker does not hold is provably absent: two adjacent slots bracket it);
    /// `microbatch` is the round's microbatch it trained; `weightsRoot` the stage's weights it ran on
    /// (the start of its optimizer step); `upstream` / `downstream` the neighbour workers it received
    /// the activations from and sent them to (zero exactly at stage 0 / the last stage).
    struct ItemLeaf {
        uint32 index;
        uint32 microbatch;
        bytes32 inputActHash;
        bytes32 outputActHash;
        bytes32 upstreamGradHash;
        bytes32 inputGradHash;
        bytes32 gradRoot;
        bytes32 weightsRoot;
        address upstream;
        address downstream;
    }

    /// @notice A leaf together with the commitment it belongs to and its sorted-pair Merkle proof.
    /// The weights roots are the commitment's own (signed) ones: the ledger stores one digest of
    /// `(itemsRoot, weightsRootBefore, weightsRootAfter)` per commitment and checks all three against it.
    struct CommittedItem {
        uint64 modelId;
        uint64 round;
        uint16 stage;
        address worker;
        bytes32 itemsRoot;
        bytes32 weightsRootBefore;
        bytes32 weightsRootAfter;
        ItemLeaf leaf;
        bytes32[] proof;
    }

    /// @notice What two pipeline neighbours exchanged in one round, as either of them signs it
    /// (EIP-712 type `LinkReceipt`, docs/PROTOCOL.md "Link receipts"): the upstream (stage `stage`)
    /// sent each listed microbatch's activations to the downstream (stage `stage + 1`) and kept its
    /// gradient. The signer's leaf of a listed microbatch must name the other end; one that names
    /// anyone else is an equivocation (`proveLinkEquivocation`).
    /// `microbatches` is a bitmap: microbatch `m` is bit `m % 8` (least significant first) of byte `m / 8`.
    struct LinkReceipt {
        uint64 modelId;
        uint64 round;
        uint16 stage;
        address upstream;
        address downstream;
        bytes microbatches;
    }

    /// @notice What a dispute is about.
    /// `Item`: the committee re-executes one leaf; `fraud` means the accused worker cheated.
    /// `ChainBreak`: a break between stage s (accused) and s+1 (counterparty) is proven on-chain;
    /// `fraud` means stage s is at fault, `!fraud` means stage s+1 is.
    enum DisputeKind {
        None,
        Item,
        ChainBreak,
        /// what a stage operator served for an inference request: `round` holds the request id
        Serving
    }

    /// @notice `Open` until resolved (its committee being drawn, voting, or open to appeal);
    /// `Fraud`/`Honest`: majority of the last committee's cast seats; `Dismissed`: a tie, no votes,
    /// or no eligible validator to draw.
    enum DisputeStatus {
        None,
        Open,
        Fraud,
        Honest,
        Dismissed
    }

    /// @notice A dispute as stored. Each appeal level draws a new, larger committee from the hash of
    /// a block mined after the bond of that level was locked (docs/PROTOCOL.md "Disputes").
    struct Dispute {
        uint64 modelId;
        uint64 round;
        uint16 stage;
        DisputeKind kind;
        DisputeStatus status;
        /// current committee level: 0 first committee, each appeal adds one (at most `MAX_APPEALS`)
        uint8 level;
        /// microbatch of the disputed leaf (both leaves of a ChainBreak share it; each worker holds it at its own slot)
        uint32 index;
        /// vote deadline of the current level; 0 while its committee is not drawn
        uint40 voteDeadline;
        /// end of the current level's appeal window once all its seats voted early; 0 otherwise
        /// (then the window ends `voteWindowSec` after `voteDeadline`)
        uint40 appealDeadline;
        /// the worker whose leaf is challenged (Item) or the stage-s worker (ChainBreak)
        address accused;
        uint96 bondWei;
        /// the stage-(s+1) worker of a ChainBreak; zero for Item
        address counterparty;
        /// block whose hash seeds the current level's committee (mined after the level's bond was locked)
        uint64 drawBlock;
        address challenger;
        /// seats drawn for the current level and how its cast seats voted
        uint16 seats;
        uint16 fraudSeats;
        uint16 honestSeats;
        /// draw attempts spent on the current level (a draw continues over several calls until full)
        uint16 drawAttempts;
    }

    /// @notice An appeal that opened committee level `level` of a dispute (levels >= 1).
    struct Appeal {
        address appellant;
        uint96 bondWei;
        /// the verdict the appellant asks for
        bool fraud;
    }

    /// @notice One member of a committee level: its seats (drawn stake-weighted, with replacement)
    /// and its vote (0 none, 1 fraud, 2 honest).
    struct PanelSeat {
        address member;
        uint16 seats;
        uint8 vote;
    }

    /// @notice A data-availability challenge: the worker must publish leaf `index` of its commitment
    /// on-chain (`revealItem`) before `deadline`, or be slashed by `slashUnavailable`.
    struct AvailabilityChallenge {
        uint64 modelId;
        uint64 round;
        uint16 stage;
        uint32 index;
        /// 0 none, 1 open, 2 answered, 3 slashed
        uint8 status;
        uint40 deadline;
        address worker;
        uint96 bondWei;
        address challenger;
    }

    /// @notice A staker (worker and/or validator) as stored.
    struct Staker {
        address signingKey;
        uint88 stakeWei;
        bool validator;
        bool unbonding;
        bool jailed;
        address payout;
        uint40 unbondRequestedAt;
        uint32 openDisputes;
    }

    /// @notice A round's accounting. `totalUnits` only counts unslashed commitments.
    /// `emissionTokens` is the whole round emission; `validatorTokens` of it (0 when nothing was
    /// attested) is the validators' pool, split pro rata to `attestedUnits`; workers share the rest.
    /// Slot 0 packs what `mintReward` reads besides emission (units, flag, validator pool), so the
    /// validators' share costs the hot path no extra storage read; token amounts are < 2^96 (the cap).
    struct RoundState {
        uint96 totalUnits;
        uint32 openDisputes;
        bool finalized;
        uint120 validatorTokens;
        uint128 emissionTokens;
        uint128 mintedTokens;
        uint128 attestedUnits;
    }

    /// @notice One validator's attestations of one round.
    struct ValidatorRound {
        uint128 units;
        bool minted;
        /// set when one of its attested items was proven fraudulent: the round pays it nothing
        bool forfeited;
    }

    /// @notice The ledger's record of one accepted commitment (`found` is false when none is stored).
    struct CommitmentRecord {
        bool found;
        uint64 units;
        bool slashed;
        bool rewarded;
        /// voided by `proveUnlinked` / `proveDuplicate`: never paid, still slashable for fraud
        bool voided;
        /// first 18 bytes of `keccak256(abi.encode(itemsRoot, weightsRootBefore, weightsRootAfter))`
        bytes18 digestPrefix;
    }
}
