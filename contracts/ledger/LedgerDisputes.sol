// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
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
        if (item.worker == msg.sender) revert ComputeLedgerNotEligibleValidator();
        if (!_eligibleValidator(msg.sender, p.minValidatorStakeWei)) {
            revert ComputeLedgerNotEligibleValidator();
        }
        uint256 bond = _challengeBond(p.minValidatorStakeWei);
        if (msg.value != bond) revert ComputeLedgerWrongBond(bond, msg.value);
        _verifyItem(item, p.microbatchesPerRound);
        disputeId = _openDispute(p, item, DisputeKind.Item, address(0), bond);
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
        if (upstream.worker == msg.sender || downstream.worker == msg.sender) {
            revert ComputeLedgerNotEligibleValidator();
        }
        if (!_eligibleValidator(msg.sender, p.minValidatorStakeWei)) {
            revert ComputeLedgerNotEligibleValidator();
        }
        _verifyItem(upstream, p.microbatchesPerRound);
        _verifyItem(downstream, p.microbatchesPerRound);
        disputeId = _openDispute(p, upstream, DisputeKind.ChainBreak, downstream.worker, 0);
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

    /// @notice Applies the committee's verdict once every member voted or the vote window closed.
    /// @dev Callable by anyone so a losing party cannot stall finalization. Effects (status, counters,
    /// slashing, credits) happen before the single external call (the burn transfer to a code-less
    /// address), and the function is `nonReentrant`. Winners are paid by pull (`withdrawPayments`).
    function resolveDispute(uint256 disputeId) external nonReentrant {
        Dispute storage d = _disputes[disputeId];
        if (d.status != DisputeStatus.Open) revert ComputeLedgerDisputeNotOpen();
        uint8 fraudVotes = d.fraudVotes;
        uint8 honestVotes = d.honestVotes;
        if (fraudVotes + honestVotes < d.committeeSize && block.timestamp <= d.voteDeadline) {
            revert ComputeLedgerVotingNotOver();
        }
        DisputeStatus outcome = fraudVotes > honestVotes
            ? DisputeStatus.Fraud
            : (honestVotes > fraudVotes ? DisputeStatus.Honest : DisputeStatus.Dismissed);
        d.status = outcome;

        uint64 modelId = d.modelId;
        uint64 round = d.round;
        address accused = d.accused;
        address counterparty = d.counterparty;
        address challenger = d.challenger;
        _rounds[modelId][round].openDisputes -= 1;
        _stakers[accused].openDisputes -= 1;
        if (counterparty != address(0) && counterparty != accused) _stakers[counterparty].openDisputes -= 1;
        emit DisputeResolved(disputeId, uint8(outcome), fraudVotes, honestVotes);

        // One slash site keeps the code small: pick who loses, then apply.
        address loser;
        uint256 burnWei;
        if (d.kind == DisputeKind.Item) {
            uint256 bond = d.bondWei;
            if (outcome == DisputeStatus.Honest) {
                uint256 reward = bond * WINNER_SHARE_BPS / BPS;
                burnWei = bond - reward;
                _credit(accused, reward);
                emit BondForfeited(disputeId, challenger, reward, burnWei);
            } else {
                _credit(challenger, bond);
                if (outcome == DisputeStatus.Fraud) loser = accused;
            }
        } else if (outcome != DisputeStatus.Dismissed) {
            loser = outcome == DisputeStatus.Fraud ? accused : counterparty;
        }
        if (loser != address(0)) burnWei = _slash(modelId, round, loser, challenger);
        if (burnWei != 0) _sendValue(BURN_ADDRESS, burnWei);
    }

    // ---------------------------------------------------------------- views

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

    function _requireChallengeWindow(ModelParams storage p, uint64 modelId, uint64 round) private view {
        if (block.timestamp < _commitEnd(p.genesisTime, p.commitWindowSec, round) || block.timestamp >= _challengeEnd(p, round)) {
            revert ComputeLedgerOutsideChallengeWindow(modelId, round);
        }
    }

    function _eligibleValidator(address account, uint256 minStakeWei) internal view returns (bool) {
        StakerSlot storage s = _stakers[account];
        return s.flags & _STAKER_VALIDATOR != 0 && _isServing(s, minStakeWei);
    }

    /// @dev The leaf must belong to a stored, unslashed commitment: prefix of `itemsRoot` matches the
    /// stored one and the double-hashed StandardMerkleTree leaf is proven against the full root.
    function _verifyItem(CommittedItem calldata item, uint32 microbatchesPerRound) private view {
        uint256 slot = _commitments[item.modelId][item.worker][_slotKey(item.stage, item.round)];
        if (!_slotIsRound(slot, item.round) || !_slotPrefixMatches(slot, item.itemsRoot)) {
            revert ComputeLedgerUnknownCommitment();
        }
        if (_slotHas(slot, _FLAG_SLASHED)) {
            revert ComputeLedgerCommitmentSlashed();
        }
        if (item.leaf.index >= microbatchesPerRound) revert ComputeLedgerLeafIndexOutOfRange();
        bytes32 leafHash = keccak256(bytes.concat(keccak256(abi.encode(item.leaf))));
        if (!MerkleProof.verifyCalldata(item.proof, item.itemsRoot, leafHash)) revert ComputeLedgerInvalidProof();
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

    /// @dev Slashes `worker`, jails it and voids its commitments of the round; returns the wei to burn.
    function _slash(uint64 modelId, uint64 round, address worker, address beneficiary)
        private
        returns (uint256 burnWei)
    {
        StakerSlot storage s = _stakers[worker];
        uint256 slashedWei = uint256(s.stakeWei) * SLASH_BPS / BPS;
        s.stakeWei -= uint88(slashedWei);
        s.flags |= _STAKER_JAILED;
        uint256 rewardWei = slashedWei * WINNER_SHARE_BPS / BPS;
        burnWei = slashedWei - rewardWei;
        _credit(beneficiary, rewardWei);

        uint16 stageCount = _models[modelId].stageCount;
        mapping(uint256 => uint256) storage ring = _commitments[modelId][worker];
        uint256 removedUnits;
        for (uint16 stage; stage < stageCount; ++stage) {
            uint256 key = _slotKey(stage, round);
            uint256 slot = ring[key];
            if (_slotIsRound(slot, round) && !_slotHas(slot, _FLAG_SLASHED)) {
                ring[key] = slot | (_FLAG_SLASHED << _FLAGS_SHIFT);
                removedUnits += _slotUnits(slot);
            }
        }
        _rounds[modelId][round].totalUnits -= uint128(removedUnits);
        emit WorkerSlashed(modelId, round, worker, slashedWei, rewardWei, burnWei, removedUnits);
    }
}
