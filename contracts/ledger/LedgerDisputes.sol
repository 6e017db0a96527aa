// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IServingVerdicts} from "../interfaces/IComputeLedger.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {LedgerBase} from "./LedgerBase.sol";
import {LedgerCore} from "./LedgerCore.sol";
import {StakeSortition} from "./StakeSortition.sol";

/// @title Challenges, stake-weighted committees with appeals, votes, slashing and data availability
/// @dev The game (docs/PROTOCOL.md "Disputes"), and who it stops:
/// - Every challenge locks a bond (`challengeBondWei`), chain breaks included: spam and framing cost money.
/// - The committee is drawn later, by `drawCommittee`, from the hash of the block that included the
///   challenge (or the appeal): nobody can see the committee before their bond is locked, so a
///   challenge that reverts unless its own sybils are drawn no longer works, and redrawing is
///   impossible (the draw is a pure function of that block hash; after 256 blocks it moves to a new
///   future block).
/// - Seats are drawn with replacement, stake-weighted (`StakeSortition`), among validators with at
///   least the model's minimum validator stake, parties excluded: a flood of empty entries is never
///   drawn, a draw costs O(log n), and buying seats means buying stake.
/// - Each member votes once with all its seats. A verdict needs a majority of all drawn seats. After
///   the vote, the verdict can be appealed (a doubled bond per level) to a committee of
///   `committeeSeats(level)` seats (5, 19, 61); the last committee's verdict is final. Capturing a
///   dispute means capturing its final committee.
/// - At resolution every seat that voted for the final verdict shares `VOTER_SHARE_BPS` of what the
///   loser forfeits plus the penalties of the others; a seat that voted against it, or did not vote,
///   loses `VOTE_PENALTY_BPS` of the challenge bond from its stake.
/// - No majority dismisses: nobody is slashed; bonds are refunded except `DISMISS_FEE_BPS` of the
///   challenger's, credited to the accused; absent seats of an item dispute are still penalized
///   (an item can always be re-executed), those of a chain break are not (abstaining is how a
///   validator says neither leaf is at fault).
/// - A commitment is slashed at most once, however many disputes accuse it.
/// - Data availability: any validator may demand leaf `index < itemCount` of a commitment; the worker
///   publishes it (`revealItem`) within `voteWindowSec` or is slashed (`slashUnavailable`): a signed
///   `itemCount` with no leaves behind it is slashable, not paid.
/// Deployed as `ComputeLedgerDisputeModule`, which the ledger calls by DELEGATECALL.
abstract contract LedgerDisputes is LedgerCore {
    /// @dev One serving slash: who, for which request and stage, who gets the winner's share, the voters'
    /// share of what is left after the refund, and the most the requester is refunded.
    struct ServingSlash {
        uint64 modelId;
        uint64 requestId;
        uint16 stage;
        address operator;
        address beneficiary;
        uint256 voterShareBps;
        uint256 refundCapWei;
    }

    /// @notice Challenges one committed leaf; a committee drawn later re-executes it and votes.
    /// @dev Defends against: frivolous challenges (bond lost when the verdict is honest), framing
    /// (the leaf must be proven against the worker's stored digest), late challenges (challenge
    /// window only), and stake escape (the worker's stake is locked while the dispute is open).
    /// @param item The leaf, its commitment coordinates and its proof against `itemsRoot`.
    /// @return disputeId The id of the new dispute.
    function challengeItem(CommittedItem calldata item) external payable returns (uint256 disputeId) {
        ModelParams storage p = _model(item.modelId);
        _requireChallenger(p, item, item.worker, address(0), item.stage);
        _requireNotDisputed(item, item.stage, item.worker);
        _verifyItem(item, p.microbatchesPerRound);
        disputeId = _openDispute(item, DisputeKind.Item, address(0));
        _markDisputed(item, item.stage, item.worker, disputeId);
    }

    /// @notice Proves a hash-chain break between stage s and s+1 of the same round and microbatch and
    /// opens a dispute between the two workers: the committee decides which side is at fault.
    /// @dev The break itself is verified here (both leaves proven against stored digests, same
    /// microbatch, and `outputActHash(s) != inputActHash(s+1)` or `upstreamGradHash(s) != inputGradHash(s+1)`).
    /// The two leaves must name each other (`upstream.leaf.downstream == downstream.worker` and
    /// `downstream.leaf.upstream == upstream.worker`, both bound in the items trees): only leaves that
    /// really exchanged that microbatch can break, so pairing two replicas' leaves frames nobody.
    /// Bonded like an item challenge; the bond comes back with any verdict but a dismissal.
    /// @return disputeId The id of the new dispute.
    function challengeChainBreak(CommittedItem calldata upstream, CommittedItem calldata downstream)
        external
        payable
        returns (uint256 disputeId)
    {
        if (
            upstream.modelId != downstream.modelId || upstream.round != downstream.round
                || uint256(downstream.stage) != uint256(upstream.stage) + 1
                || upstream.leaf.microbatch != downstream.leaf.microbatch
                || (
                    upstream.leaf.outputActHash == downstream.leaf.inputActHash
                        && upstream.leaf.upstreamGradHash == downstream.leaf.inputGradHash
                )
        ) revert ComputeLedgerNotAChainBreak();
        if (upstream.leaf.downstream != downstream.worker || downstream.leaf.upstream != upstream.worker) {
            revert ComputeLedgerNotLinked(upstream.worker, downstream.worker);
        }
        ModelParams storage p = _model(upstream.modelId);
        // Either side's validators may spot a break (both hold the activations it is about).
        _requireChallenger(p, upstream, upstream.worker, downstream.worker, downstream.stage);
        _requireNotDisputed(upstream, upstream.stage, upstream.worker);
        _requireNotDisputed(downstream, downstream.stage, downstream.worker);
        _verifyItem(upstream, p.microbatchesPerRound);
        _verifyItem(downstream, p.microbatchesPerRound);
        disputeId = _openDispute(upstream, DisputeKind.ChainBreak, downstream.worker);
        _markDisputed(upstream, upstream.stage, upstream.worker, disputeId);
        _markDisputed(downstream, downstream.stage, downstream.worker, disputeId);
    }

    /// @notice Draws the committee of the dispute's current level; anyone may call it once a block
    /// after `drawBlock` exists. A committee not full after one call (candidates skipped) is drawn
    /// further by later calls; voting starts once it is full or its attempt budget is spent.
    /// @dev The seed is `keccak256(blockhash(drawBlock), disputeId, level, attempt)`: fixed by a block
    /// mined after the level's bond was locked, so neither the challenger nor the appellant could
    /// see it, and the call cannot be retried for another outcome (attempt numbers continue across
    /// calls). Past 256 blocks the hash is gone: the draw moves to the block of this call
    /// (`CommitteeDrawDeferred`) and continues from there.
    function drawCommittee(uint256 disputeId) external {
        Dispute storage d = _disputes[disputeId];
        if (d.status != DisputeStatus.Open) revert ComputeLedgerDisputeNotOpen();
        if (d.voteDeadline != 0) revert ComputeLedgerCommitteeAlreadyDrawn(disputeId);
        uint256 drawBlock = d.drawBlock;
        if (block.number <= drawBlock) revert ComputeLedgerDrawNotReady(disputeId, drawBlock);
        uint8 level = d.level;
        bytes32 blockHash = blockhash(drawBlock);
        if (blockHash == bytes32(0)) {
            d.drawBlock = uint64(block.number);
            emit CommitteeDrawDeferred(disputeId, level, block.number);
            return;
        }
        ModelParams storage p = _models[d.modelId];
        uint256 target = _committeeSeats(level);
        (uint16 seats, uint16 attempts) = _drawSeats(d, disputeId, level, blockHash, p.minValidatorStakeWei, target);
        d.seats = seats;
        d.drawAttempts = attempts;
        if (seats < target && attempts < target * MAX_DRAW_ATTEMPTS_PER_SEAT && _othersHaveWeight(d)) {
            emit CommitteeDrawContinues(disputeId, level, seats, attempts);
            return;
        }
        uint40 deadline = uint40(block.timestamp + p.voteWindowSec);
        d.voteDeadline = deadline;
        emit CommitteeDrawn(disputeId, level, _panelMembers[disputeId][level], seats, deadline);
    }

    /// @notice Casts the caller's vote with all its seats of the current level; `fraud` blames the
    /// accused (see `DisputeKind`).
    /// @dev Drawn members only, once each, before the deadline.
    function vote(uint256 disputeId, bool fraud) external {
        Dispute storage d = _disputes[disputeId];
        if (d.status != DisputeStatus.Open) revert ComputeLedgerDisputeNotOpen();
        uint256 deadline = d.voteDeadline;
        if (deadline == 0) revert ComputeLedgerCommitteeNotDrawn(disputeId);
        if (block.timestamp > deadline || d.appealDeadline != 0) revert ComputeLedgerVoteWindowClosed();
        uint8 level = d.level;
        bytes32 key = _seatKey(disputeId, level, msg.sender);
        uint256 held = _panelSeats[key];
        uint16 seats = uint16(held);
        if (seats == 0) revert ComputeLedgerNotCommitteeMember();
        if (held >> 16 != 0) revert ComputeLedgerAlreadyVoted();
        _panelSeats[key] = held | (uint256(fraud ? 1 : 2) << 16);
        uint16 fraudSeats = d.fraudSeats;
        uint16 honestSeats = d.honestSeats;
        if (fraud) fraudSeats += seats;
        else honestSeats += seats;
        d.fraudSeats = fraudSeats;
        d.honestSeats = honestSeats;
        // Everyone voted: the appeal window opens now instead of after the deadline.
        if (fraudSeats + honestSeats == d.seats) {
            d.appealDeadline = uint40(block.timestamp + (level < MAX_APPEALS ? _models[d.modelId].voteWindowSec : 0));
        }
        emit Voted(disputeId, msg.sender, level, fraud, seats);
    }

    /// @notice Appeals the current level's verdict to a larger committee (`committeeSeats(level + 1)`)
    /// by locking `appealBondWei(disputeId)`, asking for the verdict `fraud`.
    /// @dev Only after the level's vote closed and before its appeal window ends, at most
    /// `MAX_APPEALS` times, and only against the tentative verdict (any side of a tie). The bond is
    /// refunded if the final verdict is the one asked for (or the dispute is dismissed); otherwise
    /// it goes to the coherent voters and the burn. The new committee is drawn from a later block.
    function appeal(uint256 disputeId, bool fraud) external payable {
        Dispute storage d = _disputes[disputeId];
        if (d.status != DisputeStatus.Open) revert ComputeLedgerDisputeNotOpen();
        uint8 level = d.level;
        if (level >= MAX_APPEALS) revert ComputeLedgerNoAppealLeft(disputeId);
        if (!_votingOver(d)) revert ComputeLedgerVotingNotOver();
        if (block.timestamp >= _appealEnd(d)) revert ComputeLedgerAppealClosed(disputeId);
        DisputeStatus tentative = _tally(d);
        if ((tentative == DisputeStatus.Fraud) == fraud && tentative != DisputeStatus.Dismissed) {
            revert ComputeLedgerAppealSameVerdict(disputeId);
        }
        uint256 bondWei = _appealBond(d.bondWei, level);
        if (msg.value != bondWei) revert ComputeLedgerWrongBond(bondWei, msg.value);
        ++level;
        _appeals[disputeId][level] = Appeal({appellant: msg.sender, bondWei: uint96(bondWei), fraud: fraud});
        d.level = level;
        d.drawBlock = uint64(block.number);
        d.voteDeadline = 0;
        d.appealDeadline = 0;
        d.seats = 0;
        d.fraudSeats = 0;
        d.honestSeats = 0;
        emit DisputeAppealed(disputeId, level, msg.sender, fraud, bondWei, block.number);
    }

    /// @notice Applies the final verdict once the last level's vote and appeal window are over.
    /// @dev Callable by anyone so a losing party cannot stall finalization. Effects (status,
    /// counters, slashing, penalties, credits) happen before the single external call (the burn
    /// transfer to a code-less address); `nonReentrant`. Everyone is paid by pull (`withdrawPayments`).
    /// The loops run over the committee members of at most `MAX_APPEALS + 1` levels (at most
    /// 5 + 19 + 61 members): bounded.
    function resolveDispute(uint256 disputeId) external nonReentrant {
        Dispute storage d = _disputes[disputeId];
        if (d.status != DisputeStatus.Open) revert ComputeLedgerDisputeNotOpen();
        if (!_votingOver(d)) revert ComputeLedgerVotingNotOver();
        if (d.level < MAX_APPEALS && block.timestamp < _appealEnd(d)) revert ComputeLedgerAppealWindowOpen(disputeId);
        DisputeStatus outcome = _tally(d);
        d.status = outcome;
        _closeDispute(d);
        emit DisputeResolved(disputeId, uint8(outcome), d.fraudSeats, d.honestSeats);

        (uint256 poolWei, uint256 burnWei) = _settleBonds(d, disputeId, outcome);
        if (d.kind == DisputeKind.Serving) return _resolveServing(d, disputeId, outcome, poolWei, burnWei);
        address loser;
        uint16 loserStage = d.stage;
        if (outcome == DisputeStatus.Fraud) {
            loser = d.accused;
        } else if (outcome == DisputeStatus.Honest && d.kind == DisputeKind.ChainBreak) {
            (loser, loserStage) = (d.counterparty, loserStage + 1);
        }
        if (loser != address(0) && !_commitmentSlashed(d.modelId, d.round, loserStage, loser)) {
            (uint256 voterWei, uint256 slashBurnWei) = _slash(d.modelId, d.round, loser, d.challenger, VOTER_SHARE_BPS);
            poolWei += voterWei;
            burnWei += slashBurnWei;
        }
        burnWei += _settleVoters(d, disputeId, outcome, poolWei);
        if (burnWei != 0) _sendValue(BURN_ADDRESS, burnWei);
    }

    // ---------------------------------------------------------------- serving

    /// @notice Opens a committee dispute over what `operator` served at `stage` for inference request
    /// `requestId`; the registry's bound escrow only, which checked the operator's signed serving
    /// commitment and forwards the challenger's bond. The committee of that stage re-executes the
    /// request's sampled positions and votes; a fraud verdict slashes `operator` (`_slashServing`).
    /// @dev The operator's stake is locked while it is open; no round is touched (`round` holds the request id).
    /// @return disputeId The id of the new dispute.
    function openServingDispute(
        uint64 modelId,
        uint64 requestId,
        uint16 stage,
        address operator,
        address challenger,
        uint256 refundCapWei
    ) external payable returns (uint256 disputeId) {
        _requireEscrow();
        ModelParams storage p = _model(modelId);
        if (stage >= p.stageCount) revert ComputeLedgerBadStage(stage, p.stageCount);
        uint256 bondWei = _challengeBond(p.minValidatorStakeWei);
        if (msg.value != bondWei) revert ComputeLedgerWrongBond(bondWei, msg.value);
        disputeId = ++_disputeCount;
        Dispute storage d = _disputes[disputeId];
        d.modelId = modelId;
        d.round = requestId;
        d.stage = stage;
        d.kind = DisputeKind.Serving;
        d.status = DisputeStatus.Open;
        d.accused = operator;
        d.bondWei = uint96(bondWei);
        d.drawBlock = uint64(block.number);
        d.challenger = challenger;
        _servingRefundCapWei[disputeId] = refundCapWei;
        _stakers[operator].openDisputes += 1;
        emit DisputeOpened(
            disputeId, modelId, requestId, uint8(DisputeKind.Serving), operator, address(0), challenger, bondWei, block.number
        );
    }

    /// @notice Slashes `operator` for a serving equivocation the escrow proved on request `requestId`
    /// (it signed one frame and committed another): no committee, the proof is objective. Up to
    /// `refundCapWei` goes back to the escrow for the requester; `beneficiary` gets the winner's share of the rest.
    function slashServingOperator(
        uint64 modelId,
        uint64 requestId,
        uint16 stage,
        address operator,
        address beneficiary,
        uint256 refundCapWei
    ) external nonReentrant {
        _requireEscrow();
        _model(modelId);
        (, uint256 burnWei, uint256 refundWei) =
            _slashServing(ServingSlash(modelId, requestId, stage, operator, beneficiary, 0, refundCapWei));
        if (burnWei != 0) _sendValue(BURN_ADDRESS, burnWei);
        IServingVerdicts(msg.sender).onServingVerdict{value: refundWei}(requestId, stage, true, false);
    }

    // ---------------------------------------------------------------- data availability

    /// @notice Demands that `worker` publish leaf `index` of its commitment of (model, round, stage)
    /// on-chain within the model's `voteWindowSec`; locks `availabilityBondWei(modelId)`.
    /// @dev A commitment with `itemCount = c` must hold a leaf for every index in `[0, c)`: this is
    /// what binds the signed count (and so the paid units) to leaves that exist. Challenge window
    /// only; eligible validators only, not the worker; one open demand per leaf. The round cannot
    /// finalize and the worker's stake cannot leave while it is open.
    /// @return challengeId The id of the new availability challenge.
    function challengeAvailability(uint64 modelId, uint64 round, uint16 stage, address worker, uint32 index)
        external
        payable
        returns (uint256 challengeId)
    {
        ModelParams storage p = _model(modelId);
        _requireChallengeWindow(p, modelId, round);
        if (worker == msg.sender) revert ComputeLedgerNotEligibleValidator();
        _requireStageValidator(msg.sender, modelId, stage, stage, p.minValidatorStakeWei);
        uint256 slot = _commitments[modelId][worker][_slotKey(stage, round)];
        if (!_slotIsRound(slot, round)) revert ComputeLedgerUnknownCommitment();
        if (_slotHas(slot, _FLAG_SLASHED)) revert ComputeLedgerCommitmentSlashed();
        if (index >= _slotItemCount(modelId, stage, slot)) revert ComputeLedgerLeafIndexOutOfRange();
        bytes32 key = _itemKey(modelId, round, stage, worker, index);
        uint256 openPlusOne = _openAvailability[key];
        if (openPlusOne != 0) revert ComputeLedgerAvailabilityAlreadyChallenged(openPlusOne - 1);
        uint256 bondWei = _availabilityBond(p.minValidatorStakeWei);
        if (msg.value != bondWei) revert ComputeLedgerWrongBond(bondWei, msg.value);

        challengeId = ++_availabilityCount;
        uint40 deadline = uint40(block.timestamp + p.voteWindowSec);
        _availability[challengeId] = AvailabilityChallenge({
            modelId: modelId,
            round: round,
            stage: stage,
            index: index,
            status: 1,
            deadline: deadline,
            worker: worker,
            bondWei: uint96(bondWei),
            challenger: msg.sender
        });
        _openAvailability[key] = challengeId + 1;
        _rounds[modelId][round].openDisputes += 1;
        _stakers[worker].openDisputes += 1;
        emit AvailabilityChallenged(challengeId, modelId, round, worker, stage, index, msg.sender, bondWei, deadline);
    }

    /// @notice Answers an availability challenge with the demanded leaf and its proof; anyone may
    /// send it (usually the worker). The challenger's bond is credited to the worker.
    /// @dev The leaf is emitted (`ItemRevealed`), so every validator can fetch what it needs to
    /// re-execute it and challenge it like any other leaf.
    function revealItem(uint256 challengeId, CommittedItem calldata item) external {
        AvailabilityChallenge storage a = _availability[challengeId];
        if (a.status != 1) revert ComputeLedgerAvailabilityNotOpen(challengeId);
        if (block.timestamp > a.deadline) revert ComputeLedgerResponseWindowClosed(challengeId);
        if (
            item.modelId != a.modelId || item.round != a.round || item.stage != a.stage || item.worker != a.worker
                || item.leaf.index != a.index
        ) revert ComputeLedgerRevealMismatch(challengeId);
        _verifyItem(item, _models[a.modelId].microbatchesPerRound);
        a.status = 2;
        _closeAvailability(a);
        _credit(a.worker, a.bondWei);
        emit ItemRevealed(challengeId, a.worker, item.itemsRoot, item.leaf);
    }

    /// @notice Slashes the worker of an availability challenge nobody answered in time; the
    /// challenger gets its bond back and `WINNER_SHARE_BPS` of the slashed stake.
    /// @dev Effects before the single burn transfer; `nonReentrant`. A commitment already slashed by
    /// another dispute is not slashed twice (the bond is still refunded).
    function slashUnavailable(uint256 challengeId) external nonReentrant {
        AvailabilityChallenge storage a = _availability[challengeId];
        if (a.status != 1) revert ComputeLedgerAvailabilityNotOpen(challengeId);
        if (block.timestamp <= a.deadline) revert ComputeLedgerResponseWindowOpen(challengeId);
        a.status = 3;
        _closeAvailability(a);
        address worker = a.worker;
        _credit(a.challenger, a.bondWei);
        emit AvailabilitySlashed(challengeId, worker);
        if (!_commitmentSlashed(a.modelId, a.round, a.stage, worker)) {
            (, uint256 burnWei) = _slash(a.modelId, a.round, worker, a.challenger, 0);
            if (burnWei != 0) _sendValue(BURN_ADDRESS, burnWei);
        }
    }

    // ---------------------------------------------------------------- internals

    /// @dev The end of `resolveDispute` for a serving dispute: a fraud verdict slashes the operator
    /// (`_slashServing`); the escrow learns the verdict, with the requester's refund, after every other effect.
    function _resolveServing(Dispute storage d, uint256 disputeId, DisputeStatus outcome, uint256 poolWei, uint256 burnWei)
        private
    {
        bool fraud = outcome == DisputeStatus.Fraud;
        uint256 refundWei;
        if (fraud) {
            (uint256 voterWei, uint256 slashBurnWei, uint256 servedRefundWei) = _slashServing(
                ServingSlash(
                    d.modelId, d.round, d.stage, d.accused, d.challenger, VOTER_SHARE_BPS, _servingRefundCapWei[disputeId]
                )
            );
            poolWei += voterWei;
            burnWei += slashBurnWei;
            refundWei = servedRefundWei;
        }
        burnWei += _settleVoters(d, disputeId, outcome, poolWei);
        if (burnWei != 0) _sendValue(BURN_ADDRESS, burnWei);
        IServingVerdicts(_registry.escrow()).onServingVerdict{value: refundWei}(d.round, d.stage, fraud, true);
    }

    function _requireEscrow() private view {
        if (msg.sender != _registry.escrow()) revert ComputeLedgerNotEscrow(msg.sender);
    }

    /// @dev Takes `SLASH_BPS` of `operator`'s stake, or more when that does not cover the refund (up to the
    /// whole stake), and jails it. The refund (at most `refundCapWei`) comes first; the rest is split like
    /// a training slash: the winner's share to `beneficiary`, `voterShareBps` to the voters, the rest burnt.
    function _slashServing(ServingSlash memory x)
        private
        returns (uint256 voterPoolWei, uint256 burnWei, uint256 refundWei)
    {
        uint256 slashedWei;
        (slashedWei, refundWei) = _takeServingStake(x.operator, x.refundCapWei);
        uint256 rewardWei = (slashedWei - refundWei) * WINNER_SHARE_BPS / BPS;
        voterPoolWei = (slashedWei - refundWei) * x.voterShareBps / BPS;
        burnWei = slashedWei - refundWei - rewardWei - voterPoolWei;
        _credit(x.beneficiary, rewardWei);
        emit ServingOperatorSlashed(x.modelId, x.requestId, x.operator, x.stage, slashedWei, refundWei, rewardWei, burnWei);
    }

    /// @dev Jails `operator` and takes `SLASH_BPS` of its stake, or the refund when that is more (at most the stake).
    function _takeServingStake(address operator, uint256 refundCapWei) private returns (uint256 slashedWei, uint256 refundWei) {
        StakerSlot storage s = _stakers[operator];
        uint256 stakeWei = s.stakeWei;
        slashedWei = stakeWei * SLASH_BPS / BPS;
        refundWei = refundCapWei < stakeWei ? refundCapWei : stakeWei;
        if (refundWei > slashedWei) slashedWei = refundWei;
        s.stakeWei = uint88(stakeWei - slashedWei);
        s.flags |= _STAKER_JAILED;
        _syncSortition(operator);
    }

    /// @dev The caller is a validator of the item's stage (or of `altStage`) and no party; the bond is exact.
    function _requireChallenger(
        ModelParams storage p,
        CommittedItem calldata item,
        address accused,
        address counterparty,
        uint16 altStage
    ) private view {
        _requireChallengeWindow(p, item.modelId, item.round);
        if (accused == msg.sender || counterparty == msg.sender) revert ComputeLedgerNotEligibleValidator();
        _requireStageValidator(msg.sender, item.modelId, item.stage, altStage, p.minValidatorStakeWei);
        uint256 bondWei = _challengeBond(p.minValidatorStakeWei);
        if (msg.value != bondWei) revert ComputeLedgerWrongBond(bondWei, msg.value);
    }

    /// @dev Reverts when leaf `item.leaf.index` of (stage, worker) in the item's round is already disputed.
    function _requireNotDisputed(CommittedItem calldata item, uint16 stage, address worker) private view {
        uint256 idPlusOne = _openItemDispute[_itemKey(item.modelId, item.round, stage, worker, item.leaf.microbatch)];
        if (idPlusOne != 0) revert ComputeLedgerItemAlreadyDisputed(idPlusOne - 1);
    }

    function _markDisputed(CommittedItem calldata item, uint16 stage, address worker, uint256 disputeId) private {
        _openItemDispute[_itemKey(item.modelId, item.round, stage, worker, item.leaf.microbatch)] = disputeId + 1;
    }

    function _openDispute(CommittedItem calldata item, DisputeKind kind, address counterparty)
        private
        returns (uint256 disputeId)
    {
        disputeId = ++_disputeCount;
        address accused = item.worker;
        Dispute storage d = _disputes[disputeId];
        d.modelId = item.modelId;
        d.round = item.round;
        d.stage = item.stage;
        d.kind = kind;
        d.status = DisputeStatus.Open;
        d.index = item.leaf.microbatch;
        d.accused = accused;
        d.bondWei = uint96(msg.value);
        d.counterparty = counterparty;
        d.drawBlock = uint64(block.number);
        d.challenger = msg.sender;

        _rounds[item.modelId][item.round].openDisputes += 1;
        _stakers[accused].openDisputes += 1;
        if (counterparty != address(0)) _stakers[counterparty].openDisputes += 1;
        emit DisputeOpened(
            disputeId, item.modelId, item.round, uint8(kind), accused, counterparty, msg.sender, msg.value, block.number
        );
    }

    /// @dev Draws seats stake-weighted with replacement from the validators of the dispute's stage
    /// towards `target`, skipping parties and
    /// validators under the model's minimum stake, spending at most `target * DRAW_ATTEMPTS_PER_SEAT`
    /// attempts in this call (attempt numbers continue from earlier calls). Each new member's
    /// `openDisputes` is raised so its stake (and its penalty) cannot leave first.
    function _drawSeats(
        Dispute storage d,
        uint256 disputeId,
        uint8 level,
        bytes32 blockHash,
        uint256 minStakeWei,
        uint256 target
    ) private returns (uint16 filled, uint16 attempt) {
        filled = d.seats;
        attempt = d.drawAttempts;
        uint256 total = _sortitions[_group(d.modelId, d.stage)].total;
        if (total == 0) return (filled, attempt);
        uint256 until = uint256(attempt) + target * DRAW_ATTEMPTS_PER_SEAT;
        address[] storage members = _panelMembers[disputeId][level];
        for (; attempt < until && filled < target; ++attempt) {
            uint256 r = uint256(keccak256(abi.encode(blockHash, disputeId, level, uint256(attempt)))) % total;
            address candidate = _drawCandidate(d, r);
            if (candidate == d.accused || candidate == d.counterparty || candidate == d.challenger) continue;
            if (_stakers[candidate].stakeWei < minStakeWei) continue;
            bytes32 key = _seatKey(disputeId, level, candidate);
            uint256 held = _panelSeats[key];
            if (held == 0) {
                members.push(candidate);
                _stakers[candidate].openDisputes += 1;
            }
            _panelSeats[key] = held + 1;
            ++filled;
        }
    }

    /// @dev The validator of the dispute's stage whose cumulative stake range holds `r`.
    function _drawCandidate(Dispute storage d, uint256 r) private view returns (address) {
        uint256 group = _group(d.modelId, d.stage);
        return _groupValidators[group][StakeSortition.draw(_sortitions[group], r) - 1];
    }

    /// @dev Whether anyone but the parties has sortition weight in the dispute's stage (if not,
    /// drawing further is pointless).
    function _othersHaveWeight(Dispute storage d) private view returns (bool) {
        uint256 group = _group(d.modelId, d.stage);
        uint256 partiesWeight = _groupWeight(group, d.accused) + _groupWeight(group, d.challenger);
        address counterparty = d.counterparty;
        if (counterparty != address(0)) partiesWeight += _groupWeight(group, counterparty);
        return _sortitions[group].total > partiesWeight;
    }

    function _votingOver(Dispute storage d) private view returns (bool) {
        uint256 deadline = d.voteDeadline;
        return deadline != 0 && (d.appealDeadline != 0 || block.timestamp > deadline);
    }

    /// @dev End of the current level's appeal window (meaningful once its vote is over).
    function _appealEnd(Dispute storage d) private view returns (uint256) {
        uint256 early = d.appealDeadline;
        return early != 0 ? early : uint256(d.voteDeadline) + _models[d.modelId].voteWindowSec;
    }

    /// @dev A verdict needs a majority of all the level's drawn seats, not only of those cast: a
    /// lone seat cannot decide while the others stay away, and a validator that cannot blame either
    /// side can abstain. Otherwise the level is dismissed.
    function _tally(Dispute storage d) private view returns (DisputeStatus) {
        uint256 seats = d.seats;
        if (uint256(d.fraudSeats) * 2 > seats) return DisputeStatus.Fraud;
        if (uint256(d.honestSeats) * 2 > seats) return DisputeStatus.Honest;
        return DisputeStatus.Dismissed;
    }

    function _commitmentSlashed(uint64 modelId, uint64 round, uint16 stage, address worker) private view returns (bool) {
        return _slotHas(_commitments[modelId][worker][_slotKey(stage, round)], _FLAG_SLASHED);
    }

    function _closeDispute(Dispute storage d) private {
        uint64 modelId = d.modelId;
        uint64 round = d.round;
        address accused = d.accused;
        address counterparty = d.counterparty;
        _stakers[accused].openDisputes -= 1;
        if (d.kind == DisputeKind.Serving) return;
        _rounds[modelId][round].openDisputes -= 1;
        delete _openItemDispute[_itemKey(modelId, round, d.stage, accused, d.index)];
        if (counterparty != address(0)) {
            delete _openItemDispute[_itemKey(modelId, round, d.stage + 1, counterparty, d.index)];
            _stakers[counterparty].openDisputes -= 1;
        }
    }

    function _closeAvailability(AvailabilityChallenge storage a) private {
        delete _openAvailability[_itemKey(a.modelId, a.round, a.stage, a.worker, a.index)];
        _rounds[a.modelId][a.round].openDisputes -= 1;
        _stakers[a.worker].openDisputes -= 1;
    }

    /// @dev Refunds or forfeits the challenger's and the appellants' bonds; returns the coherent
    /// voters' pool and the wei to burn.
    function _settleBonds(Dispute storage d, uint256 disputeId, DisputeStatus outcome)
        private
        returns (uint256 poolWei, uint256 burnWei)
    {
        uint256 bondWei = d.bondWei;
        address challenger = d.challenger;
        if (outcome == DisputeStatus.Dismissed) {
            uint256 feeWei = bondWei * DISMISS_FEE_BPS / BPS;
            _credit(challenger, bondWei - feeWei);
            _credit(d.accused, feeWei);
        } else if (d.kind != DisputeKind.ChainBreak && outcome == DisputeStatus.Honest) {
            uint256 rewardWei = bondWei * WINNER_SHARE_BPS / BPS;
            poolWei = bondWei * VOTER_SHARE_BPS / BPS;
            burnWei = bondWei - rewardWei - poolWei;
            _credit(d.accused, rewardWei);
            emit BondForfeited(disputeId, challenger, rewardWei, burnWei);
        } else {
            // An item proven fraudulent, or a real chain break (whichever side was at fault).
            _credit(challenger, bondWei);
        }
        uint256 level = d.level;
        for (uint256 l = 1; l <= level; ++l) {
            Appeal storage a = _appeals[disputeId][l];
            uint256 appealWei = a.bondWei;
            if (outcome == DisputeStatus.Dismissed || a.fraud == (outcome == DisputeStatus.Fraud)) {
                _credit(a.appellant, appealWei);
            } else {
                uint256 toVoters = appealWei / 2;
                poolWei += toVoters;
                burnWei += appealWei - toVoters;
            }
        }
    }

    /// @dev Penalizes every seat that did not vote for the final verdict (absent seats always), then
    /// splits the pool among the seats that did; returns what is left to burn (rounding, or the whole
    /// pool when no seat was coherent).
    function _settleVoters(Dispute storage d, uint256 disputeId, DisputeStatus outcome, uint256 poolWei)
        private
        returns (uint256 burnWei)
    {
        uint256 coherentVote = outcome == DisputeStatus.Fraud ? 1 : (outcome == DisputeStatus.Honest ? 2 : 0);
        uint256 penaltyPerSeatWei = _challengeBond(_models[d.modelId].minValidatorStakeWei) * VOTE_PENALTY_BPS / BPS;
        uint256 levels = uint256(d.level) + 1;
        uint256 coherentSeats;
        // An item can always be re-executed, so not voting on one is penalized even when the dispute
        // is dismissed; a chain break whose two leaves both re-execute correctly cannot be blamed on
        // either side, and abstaining is how a validator says so.
        bool penalizeAbsent = d.kind != DisputeKind.ChainBreak;
        for (uint256 l; l < levels; ++l) {
            (uint256 seats, uint256 penaltiesWei) = _judgeLevel(disputeId, l, coherentVote, penaltyPerSeatWei, penalizeAbsent);
            coherentSeats += seats;
            poolWei += penaltiesWei;
        }
        if (poolWei == 0) return 0;
        if (coherentSeats == 0) return poolWei;
        uint256 paidWei;
        for (uint256 l; l < levels; ++l) {
            paidWei += _payLevel(disputeId, l, coherentVote, poolWei, coherentSeats);
        }
        emit VotersRewarded(disputeId, poolWei, coherentSeats);
        burnWei = poolWei - paidWei;
    }

    /// @dev Releases the members of one level (their `openDisputes`), penalizes its incoherent and
    /// absent seats; returns its coherent seats and the penalties taken.
    function _judgeLevel(
        uint256 disputeId,
        uint256 level,
        uint256 coherentVote,
        uint256 penaltyPerSeatWei,
        bool penalizeAbsent
    ) private returns (uint256 coherentSeats, uint256 penaltiesWei) {
        address[] storage members = _panelMembers[disputeId][level];
        uint256 n = members.length;
        for (uint256 i; i < n; ++i) {
            address member = members[i];
            uint256 held = _panelSeats[_seatKey(disputeId, level, member)];
            uint256 cast = held >> 16;
            _stakers[member].openDisputes -= 1;
            if (coherentVote != 0 && cast == coherentVote) {
                coherentSeats += uint16(held);
            } else if (coherentVote != 0 || (cast == 0 && penalizeAbsent)) {
                penaltiesWei += _penalize(disputeId, member, uint16(held) * penaltyPerSeatWei);
            }
        }
    }

    /// @dev Takes up to `penaltyWei` from `member`'s stake; returns what was taken.
    function _penalize(uint256 disputeId, address member, uint256 penaltyWei) private returns (uint256) {
        StakerSlot storage s = _stakers[member];
        uint256 stakeWei = s.stakeWei;
        if (penaltyWei > stakeWei) penaltyWei = stakeWei;
        s.stakeWei = uint88(stakeWei - penaltyWei);
        _syncSortition(member);
        emit VoterPenalized(disputeId, member, penaltyWei);
        return penaltyWei;
    }

    /// @dev Credits each coherent member of one level its seats' share of the pool; returns the total.
    function _payLevel(uint256 disputeId, uint256 level, uint256 coherentVote, uint256 poolWei, uint256 coherentSeats)
        private
        returns (uint256 paidWei)
    {
        address[] storage members = _panelMembers[disputeId][level];
        uint256 n = members.length;
        for (uint256 i; i < n; ++i) {
            address member = members[i];
            uint256 held = _panelSeats[_seatKey(disputeId, level, member)];
            if (held >> 16 != coherentVote) continue;
            uint256 shareWei = poolWei * uint16(held) / coherentSeats;
            paidWei += shareWei;
            _credit(member, shareWei);
        }
    }
}

/// @title The deployed dispute module (see `LedgerDisputes`); only meaningful under DELEGATECALL
/// @dev Called directly it acts on its own empty storage.
contract ComputeLedgerDisputeModule is LedgerDisputes {
    constructor(IModelRegistry registry_) LedgerBase(registry_) {}
}
