// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {LedgerCommitments} from "./LedgerCommitments.sol";

/// @title Challenges of committed items and hash-chain breaks, committee votes and slashing
/// @dev Rules:
/// - An item challenge bonds `challengeBondWei(model)`; a chain break is proven on-chain and bonds nothing.
/// - A committee of up to `COMMITTEE_SIZE` eligible validators (validator flag, stake >= the model's
///   minimum, not unbonding, not jailed, not a party) is drawn from prevrandao + the previous
///   blockhash + the dispute id; at least one member is required.
/// - Members vote once each before `voteDeadline`; `resolveDispute` runs once all voted or after it.
/// - More fraud than honest votes: the accused (item, or stage s of a chain break) loses; more honest
///   votes: the challenger's bond (item) or the stage s+1 worker (chain break) loses; a tie or no votes
///   dismisses the dispute: nobody is slashed and the bond is refunded.
/// - A losing worker loses `SLASH_BPS` of its stake, is jailed, and all its commitments of that round
///   are voided (units leave the round total, reward 0). `WINNER_SHARE_BPS` of any slashed amount is
///   credited to the winner (the challenger, or the accused worker for a lost bond); the rest is burned.
/// - One open dispute per item: a second challenge of a leaf already under dispute reverts with
///   `ComputeLedgerItemAlreadyDisputed` (simulated before any bond is sent), so racing validators
///   never both bond for the same verdict.
/// - A worker whose `weightsRootBefore` of round r differs from its own `weightsRootAfter` of round
///   r - 1 (same model and stage) is slashed at once by `proveWeightsBreak` (validator module): both
///   roots are bound in the stored digests, so the proof needs no committee.
abstract contract LedgerDisputes is LedgerCommitments {
    /// @notice Challenges one committed leaf; the committee re-executes it off-chain and votes.
    /// @dev Defends against: frivolous challenges (bond lost to the worker when the committee finds
    /// it honest), framing (the leaf must be proven against the worker's stored `itemsRoot`), late
    /// challenges (only during the round's challenge window, so finalized rounds never reopen), and
    /// stake escape (the worker's stake cannot be withdrawn while the dispute is open).
    /// @param item The leaf, its commitment coordinates and its proof against `itemsRoot`.
    /// @return disputeId The id of the new dispute.
    function challengeItem(CommittedItem calldata item) external payable returns (uint256 disputeId) {
        ModelParams storage p = _model(item.modelId);
        _requireChallengeWindow(p, item.modelId, item.round);
        _requireNotDisputed(item, item.stage, item.worker);
        if (item.worker == msg.sender) revert ComputeLedgerNotEligibleValidator();
        if (!_eligibleValidator(msg.sender, p.minValidatorStakeWei)) {
            revert ComputeLedgerNotEligibleValidator();
        }
        uint256 bond = _challengeBond(p.minValidatorStakeWei);
        if (msg.value != bond) revert ComputeLedgerWrongBond(bond, msg.value);
        _verifyItem(item, p.microbatchesPerRound);
        disputeId = _openDispute(p, item, DisputeKind.Item, address(0), bond);
        _markDisputed(item, item.stage, item.worker, disputeId);
    }

    /// @notice Proves a hash-chain break between stage s and s+1 of the same round and microbatch and
    /// opens a dispute between the two workers.
    /// @dev The break itself is verified here (both leaves proven against stored roots, same index,
    /// and `outputActHash(s) != inputActHash(s+1)` or `upstreamGradHash(s) != inputGradHash(s+1)`),
    /// so it needs no bond; the committee only decides which side is at fault.
    /// @return disputeId The id of the new dispute.
    function challengeChainBreak(CommittedItem calldata upstream, CommittedItem calldata downstream)
        external
        returns (uint256 disputeId)
    {
        if (
            upstream.modelId != downstream.modelId || upstream.round != downstream.round
                || uint256(downstream.stage) != uint256(upstream.stage) + 1
                || upstream.leaf.index != downstream.leaf.index
                || (
                    upstream.leaf.outputActHash == downstream.leaf.inputActHash
                        && upstream.leaf.upstreamGradHash == downstream.leaf.inputGradHash
                )
        ) revert ComputeLedgerNotAChainBreak();
        ModelParams storage p = _model(upstream.modelId);
        _requireChallengeWindow(p, upstream.modelId, upstream.round);
        _requireNotDisputed(upstream, upstream.stage, upstream.worker);
        _requireNotDisputed(upstream, downstream.stage, downstream.worker);
        if (upstream.worker == msg.sender || downstream.worker == msg.sender) {
            revert ComputeLedgerNotEligibleValidator();
        }
        if (!_eligibleValidator(msg.sender, p.minValidatorStakeWei)) {
            revert ComputeLedgerNotEligibleValidator();
        }
        _verifyItem(upstream, p.microbatchesPerRound);
        _verifyItem(downstream, p.microbatchesPerRound);
        disputeId = _openDispute(p, upstream, DisputeKind.ChainBreak, downstream.worker, 0);
        _markDisputed(upstream, upstream.stage, upstream.worker, disputeId);
        _markDisputed(upstream, downstream.stage, downstream.worker, disputeId);
    }

    /// @notice Casts the caller's vote; `fraud` blames the accused (see `DisputeKind`).
    /// @dev Only drawn committee members, once each, before the deadline: no vote stuffing, no
    /// changing a vote after seeing others, no voting after the outcome could be resolved.
    function vote(uint256 disputeId, bool fraud) external {
        Dispute storage d = _disputes[disputeId];
        if (d.status != DisputeStatus.Open) revert ComputeLedgerDisputeNotOpen();
        if (block.timestamp > d.voteDeadline) revert ComputeLedgerVoteWindowClosed();
        // Unrolled over the fixed committee (unused seats are address(0), never msg.sender).
        uint256 member;
        if (d.committee[0] == msg.sender) member = 0;
        else if (d.committee[1] == msg.sender) member = 1;
        else if (d.committee[2] == msg.sender) member = 2;
        else revert ComputeLedgerNotCommitteeMember();
        uint8 bit = uint8(1 << member);
        if (d.votedMask & bit != 0) revert ComputeLedgerAlreadyVoted();
        d.votedMask |= bit;
        if (fraud) ++d.fraudVotes;
        else ++d.honestVotes;
        emit Voted(disputeId, msg.sender, fraud);
    }

    // ---------------------------------------------------------------- views

    /// @notice The open dispute (id) of one committed leaf, 0 when none is open.
    function openDisputeOfItem(uint64 modelId, uint64 round, uint16 stage, address worker, uint32 index)
        external
        view
        returns (uint256)
    {
        uint256 idPlusOne = _openItemDispute[_itemKey(modelId, round, stage, worker, index)];
        return idPlusOne == 0 ? 0 : idPlusOne - 1;
    }

    /// @notice The stored dispute `disputeId` (ids start at 1).
    function dispute(uint256 disputeId) external view returns (Dispute memory) {
        return _disputes[disputeId];
    }

    /// @notice Number of disputes ever opened (the latest id).
    function disputeCount() external view returns (uint256) {
        return _disputeCount;
    }

    /// @notice Bond an item challenge of `modelId` must send: the model's minimum validator stake,
    /// at least `MIN_CHALLENGE_BOND_WEI`.
    function challengeBondWei(uint64 modelId) external view returns (uint256) {
        return _challengeBond(_viewModel(modelId).minValidatorStakeWei);
    }

    // ---------------------------------------------------------------- internals

    function _challengeBond(uint256 minValidatorStakeWei) internal pure returns (uint256) {
        return minValidatorStakeWei > MIN_CHALLENGE_BOND_WEI ? minValidatorStakeWei : MIN_CHALLENGE_BOND_WEI;
    }

    /// @dev Reverts when leaf `item.leaf.index` of (stage, worker) in the item's round is already disputed.
    function _requireNotDisputed(CommittedItem calldata item, uint16 stage, address worker) private view {
        uint256 idPlusOne = _openItemDispute[_itemKey(item.modelId, item.round, stage, worker, item.leaf.index)];
        if (idPlusOne != 0) revert ComputeLedgerItemAlreadyDisputed(idPlusOne - 1);
    }

    function _markDisputed(CommittedItem calldata item, uint16 stage, address worker, uint256 disputeId) private {
        _openItemDispute[_itemKey(item.modelId, item.round, stage, worker, item.leaf.index)] = disputeId + 1;
    }

    function _openDispute(
        ModelParams storage p,
        CommittedItem calldata item,
        DisputeKind kind,
        address counterparty,
        uint256 bondWei
    ) private returns (uint256 disputeId) {
        disputeId = ++_disputeCount;
        address accused = item.worker;
        (address[3] memory committee, uint8 size) =
            _drawCommittee(disputeId, accused, counterparty, p.minValidatorStakeWei);
        if (size == 0) revert ComputeLedgerNoCommittee();
        uint40 deadline = uint40(block.timestamp + p.voteWindowSec);

        Dispute storage d = _disputes[disputeId];
        d.modelId = item.modelId;
        d.round = item.round;
        d.stage = item.stage;
        d.kind = kind;
        d.status = DisputeStatus.Open;
        d.voteDeadline = deadline;
        d.committeeSize = size;
        d.accused = accused;
        d.bondWei = uint96(bondWei);
        d.counterparty = counterparty;
        d.index = item.leaf.index;
        d.challenger = msg.sender;
        d.committee = committee;

        _rounds[item.modelId][item.round].openDisputes += 1;
        _stakers[accused].openDisputes += 1;
        if (counterparty != address(0) && counterparty != accused) _stakers[counterparty].openDisputes += 1;
        emit DisputeOpened(
            disputeId, item.modelId, item.round, uint8(kind), accused, counterparty, msg.sender, bondWei, committee, deadline
        );
    }

    /// @dev Random probes first, then a scan from a random start, both bounded by `MAX_DRAW_ATTEMPTS`,
    /// so small sets are always covered and large sets cost a constant. Not secure against a block
    /// proposer who withholds blocks to bias prevrandao (documented limitation).
    function _drawCommittee(uint256 disputeId, address accused, address counterparty, uint256 minStakeWei)
        private
        view
        returns (address[3] memory committee, uint8 size)
    {
        uint256 n = _validators.length;
        if (n == 0) return (committee, 0);
        uint256 seed = uint256(keccak256(abi.encode(block.prevrandao, blockhash(block.number - 1), disputeId)));
        for (uint256 attempt; attempt < 2 * MAX_DRAW_ATTEMPTS && size < COMMITTEE_SIZE; ++attempt) {
            uint256 index = attempt < MAX_DRAW_ATTEMPTS
                ? uint256(keccak256(abi.encode(seed, attempt))) % n
                : (seed + attempt - MAX_DRAW_ATTEMPTS) % n;
            address candidate = _validators[index];
            if (candidate == accused || candidate == counterparty || candidate == msg.sender) continue;
            if (candidate == committee[0] || candidate == committee[1]) continue;
            if (!_eligibleValidator(candidate, minStakeWei)) continue;
            committee[size++] = candidate;
        }
    }
}
