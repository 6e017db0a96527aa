// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IModelToken} from "../interfaces/IModelToken.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {LedgerBase} from "./LedgerBase.sol";
import {LedgerCore} from "./LedgerCore.sol";

/// @title Validator attestations of sampled items and the validators' share of emission
/// @dev Rules (docs/PROTOCOL.md "Attestation sample"):
/// - Each round's seed is the hash of a block mined after its commit window closed: the first
///   `sealRoundSeed` call in the challenge window names its own block, and any later call seals
///   `keccak256(blockhash(thatBlock), modelId, round)`. No miner can know it when committing, and
///   the caller who names the block cannot retry for a better seed (only the proposer of that
///   block could bias it, as with committee draws).
/// - Validator v may attest leaf `index` of a commitment (stage s, worker w, `itemCount` c) only if
///   one of its first `attestDraws(model)` draws hits it: `keccak256(abi.encode(seed, v, w, s, draw)) % c`.
///   Each validator thus checks different items, and nobody can attest items of its choice.
/// - Each (validator, commitment, index) counts once (a bitmap), for `unitsPerMicrobatch(stage)` units.
/// - After finalization each validator mints `validatorTokens * units / attestedUnits` to its payout.
/// - Attesting an item that a dispute then proves fraudulent is slashed like fraud (see
///   `slashFalseAttestation`), and the round pays that validator nothing.
/// Deployed as `ComputeLedgerValidatorModule`, which the ledger calls by DELEGATECALL (its storage,
/// its balance, its token minter role): this keeps the ledger under the EIP-170 size limit. The
/// views live in the ledger itself.
abstract contract LedgerValidators is LedgerCore {
    /// @notice EIP-712 type hash of `LinkReceipt`, byte for byte as in docs/PROTOCOL.md "Link receipts".
    bytes32 public constant LINK_RECEIPT_TYPEHASH = keccak256(
        "LinkReceipt(uint64 modelId,uint64 round,uint16 stage,address upstream,address downstream,bytes microbatches)"
    );

    /// @notice Moves the sampling seed of (model, round) towards sealed; returns it (zero until sealed).
    /// @dev Only inside the round's challenge window (after its commit window). The first call names
    /// its own block (`RoundSeedRequested`); a call in any later block seals the seed from that
    /// block's hash (`RoundSeedSealed`), or, 256 blocks on when the hash is gone, names a new block.
    /// Idempotent once sealed: racing validators all get the same seed.
    function sealRoundSeed(uint64 modelId, uint64 round) external returns (bytes32 seed) {
        _requireChallengeWindow(_model(modelId), modelId, round);
        seed = _seal(modelId, round);
    }

    /// @notice Records the caller's attestations of sampled honest items of one round.
    /// @dev Defends against: attesting chosen items (each leaf must be hit by one of the caller's
    /// first `attestDraws` draws under the sealed seed), attesting items that were never committed
    /// (Merkle proof against the stored digest), double counting (bitmap per validator, commitment and
    /// index), self-attestation (the worker cannot attest itself), late attestations (challenge window
    /// only, so the units are fixed before finalization), and unbounded gas (`MAX_ATTEST_BATCH`).
    /// All-or-nothing: the batch reverts on the first bad entry.
    /// @param items Leaves of one (model, round), each with its commitment coordinates and proof.
    /// @param draws `draws[i]` is the draw number that hit `items[i].leaf.index`.
    function attestItems(CommittedItem[] calldata items, uint32[] calldata draws) external {
        uint256 n = items.length;
        if (n == 0 || n != draws.length || n > MAX_ATTEST_BATCH) revert ComputeLedgerBadAttestBatch(n, draws.length);
        AttestContext memory ctx;
        ctx.modelId = items[0].modelId;
        ctx.round = items[0].round;
        ModelParams storage p = _model(ctx.modelId);
        _requireChallengeWindow(p, ctx.modelId, ctx.round);
        ctx.stage = items[0].stage;
        _requireStageValidator(msg.sender, ctx.modelId, ctx.stage, ctx.stage, p.minValidatorStakeWei);
        ctx.seed = _seal(ctx.modelId, ctx.round);
        if (ctx.seed == bytes32(0)) revert ComputeLedgerSeedNotSealed(ctx.modelId, ctx.round);
        ctx.microbatches = p.microbatchesPerRound;
        ctx.maxDraws = _attestDraws(ctx.microbatches);
        uint256 totalUnits;
        for (uint256 i; i < n; ++i) {
            totalUnits += _attestOne(ctx, items[i], draws[i], i);
        }
        _validatorRounds[ctx.modelId][ctx.round][msg.sender].units += uint128(totalUnits);
        _rounds[ctx.modelId][ctx.round].attestedUnits += uint128(totalUnits);
    }

    /// @dev What every item of one `attestItems` batch shares.
    struct AttestContext {
        uint64 modelId;
        uint64 round;
        uint16 stage;
        uint32 microbatches;
        uint256 maxDraws;
        bytes32 seed;
    }

    /// @dev Checks and records one attested item; returns its units.
    function _attestOne(AttestContext memory ctx, CommittedItem calldata item, uint32 draw, uint256 i)
        private
        returns (uint256 units)
    {
        if (item.modelId != ctx.modelId || item.round != ctx.round) revert ComputeLedgerMixedRounds(i);
        if (item.stage != ctx.stage) revert ComputeLedgerNotStageValidator(ctx.modelId, item.stage);
        if (item.worker == msg.sender) revert ComputeLedgerNotEligibleValidator();
        uint256 slot = _verifyItem(item, ctx.microbatches);
        uint32 itemCount = _slotItemCount(ctx.modelId, item.stage, slot);
        if (draw >= ctx.maxDraws || _drawIndex(ctx.seed, msg.sender, item.worker, item.stage, draw, itemCount) != item.leaf.index) {
            revert ComputeLedgerNotSampled(i);
        }
        // Attestations are recorded by microbatch, as disputes are: a dispute's leaf finds them.
        uint32 index = item.leaf.microbatch;
        mapping(uint256 => uint256) storage bits =
            _attestedBits[_attestKey(ctx.modelId, ctx.round, item.stage, item.worker, msg.sender)];
        uint256 bit = 1 << (index & 255);
        uint256 word = bits[index >> 8];
        if (word & bit != 0) revert ComputeLedgerAlreadyAttested(i);
        bits[index >> 8] = word | bit;
        units = _unitsPerMicrobatch(ctx.modelId, item.stage);
        emit ItemAttested(ctx.modelId, ctx.round, msg.sender, item.worker, item.stage, index, units);
    }

    /// @notice Mints `validator`'s share of a finalized round's validator pool to its payout address:
    /// `validatorTokens * units / attestedUnits`. Anyone may call it; tokens only go to the payout.
    /// @dev Once per (round, validator): flagged minted before the token call. A forfeited round
    /// (false attestation) pays nothing.
    function mintValidatorReward(uint64 modelId, uint64 round, address validator) external returns (uint256 tokens) {
        RoundState storage r = _rounds[modelId][round];
        if (!r.finalized) revert ComputeLedgerNotFinalized(modelId, round);
        ValidatorRound storage v = _validatorRounds[modelId][round][validator];
        uint256 units = v.units;
        if (units == 0 || v.minted || v.forfeited) revert ComputeLedgerNothingToMint(modelId, round, validator);
        v.minted = true;
        tokens = Math.mulDiv(r.validatorTokens, units, r.attestedUnits);
        r.mintedTokens += uint128(tokens);
        address payout = _stakers[validator].payout;
        emit ValidatorRewardMinted(modelId, round, validator, payout, tokens, units);
        if (tokens != 0) IModelToken(_models[modelId].token).mint(payout, tokens);
    }

    /// @notice Slashes `validator` for having attested the leaf that dispute `disputeId` proved
    /// fraudulent (the accused leaf of a Fraud verdict, or the stage s+1 leaf of a chain break decided
    /// against the counterparty). The caller is credited `WINNER_SHARE_BPS` of the slashed stake.
    /// @dev Why slash and not only withhold the reward: an attestation claims "I re-executed this and it
    /// matches". If a false claim only cost the round's validator reward, attesting every sampled item
    /// unchecked would be a free option that pays whenever the miner was honest; putting the stake
    /// behind the claim makes lazy attesting lose money. The validator also forfeits the round's
    /// validator reward if not minted yet (its units leave the pool if the round is not finalized),
    /// is jailed, and its own worker commitments of the round are voided. Callable any time while the
    /// stake is bonded (unbonding outlasts challenge and vote windows); each attestation bit is
    /// cleared so it is slashed at most once. Effects before the burn transfer; `nonReentrant`.
    function slashFalseAttestation(uint256 disputeId, address validator) external nonReentrant {
        Dispute storage d = _disputes[disputeId];
        address worker;
        uint16 stage = d.stage;
        if (d.status == DisputeStatus.Fraud) {
            worker = d.accused;
        } else if (d.status == DisputeStatus.Honest && d.kind == DisputeKind.ChainBreak) {
            (worker, stage) = (d.counterparty, stage + 1);
        } else {
            revert ComputeLedgerNoFraudProven(disputeId);
        }
        uint64 modelId = d.modelId;
        uint64 round = d.round;
        uint32 index = d.index;
        mapping(uint256 => uint256) storage bits = _attestedBits[_attestKey(modelId, round, stage, worker, validator)];
        uint256 bit = 1 << (index & 255);
        uint256 word = bits[index >> 8];
        if (word & bit == 0) revert ComputeLedgerNotAttested(disputeId, validator);
        bits[index >> 8] = word & ~bit;

        ValidatorRound storage v = _validatorRounds[modelId][round][validator];
        bool forfeited = !v.minted && !v.forfeited;
        if (forfeited) {
            v.forfeited = true;
            RoundState storage r = _rounds[modelId][round];
            if (!r.finalized) r.attestedUnits -= v.units;
        }
        emit AttestationSlashed(disputeId, validator, msg.sender, forfeited);
        (, uint256 burnWei) = _slash(modelId, round, validator, msg.sender, 0);
        if (burnWei != 0) _sendValue(BURN_ADDRESS, burnWei);
    }

    /// @notice Slashes a worker whose round-`current.round` commitment does not start from the weights
    /// its own round-`previous.round` commitment ended with (same model, stage and worker).
    /// @dev Both commitments are checked against their stored digests (`itemCount` is not part of the
    /// digest and is ignored), so the two signed roots are exactly what the worker committed; no
    /// committee is needed and no bond is taken. Only before `current.round`'s challenge window
    /// closes, so a finalized round never loses units. Round 0's starting root is already enforced
    /// at submission against the registry. The caller (an eligible validator other than the worker)
    /// is credited `WINNER_SHARE_BPS` of the slashed stake. Effects before the single burn transfer;
    /// `nonReentrant`.
    /// @param previous The worker's commitment of round r - 1.
    /// @param current The worker's commitment of round r.
    function proveWeightsBreak(Commitment calldata previous, Commitment calldata current) external nonReentrant {
        uint64 modelId = current.modelId;
        uint64 round = current.round;
        address worker = current.worker;
        if (
            previous.modelId != modelId || previous.worker != worker || previous.stage != current.stage
                || uint256(previous.round) + 1 != round || previous.weightsRootAfter == current.weightsRootBefore
        ) revert ComputeLedgerNotAWeightsBreak();
        ModelParams storage p = _requireOpenChallengeWindow(modelId, round);
        if (worker == msg.sender || !_eligibleValidator(msg.sender, p.minValidatorStakeWei)) {
            revert ComputeLedgerNotEligibleValidator();
        }
        _requireStored(previous);
        if (_slotHas(_requireStored(current), _FLAG_SLASHED)) revert ComputeLedgerCommitmentSlashed();
        emit WeightsBreakProven(modelId, round, worker, current.stage, msg.sender);
        (, uint256 burnWei) = _slash(modelId, round, worker, msg.sender, 0);
        if (burnWei != 0) _sendValue(BURN_ADDRESS, burnWei);
    }

    /// @notice Voids `item`'s commitment (no reward; its units leave the round) when the neighbour a
    /// leaf names exchanged that microbatch with someone else: `neighbour` is the leaf of the same
    /// microbatch in the commitment of the worker `item` names on one side (its `upstream` at stage
    /// s-1, or its `downstream` at s+1), that leaf names `partner` instead, and `partner`'s leaf of the
    /// microbatch (at `item`'s stage) names `neighbour` back. A verbatim copy of someone else's leaves
    /// names the original's neighbours, which are linked to the original: the copy earns nothing.
    /// @dev Pure proofs against three stored digests: no bond, no committee, anyone may call it until
    /// the round's challenge window closes (a finalized round never loses units). A neighbour that
    /// names nobody who names it back voids nobody, so a stage cannot void its honest neighbour by
    /// lying alone; a replica commits a microbatch only once its upstream acknowledged it (see
    /// docs/PROTOCOL.md "Replicas"), so a re-routed microbatch never voids the replica it left.
    /// Voiding is not a slash; the voided commitment stays challengeable.
    /// @param item A leaf of the commitment to void.
    /// @param neighbour The same microbatch's leaf of the neighbour `item.leaf` names.
    /// @param partner The same microbatch's leaf (at `item`'s stage) of the worker `neighbour.leaf` names.
    function proveUnlinked(CommittedItem calldata item, CommittedItem calldata neighbour, CommittedItem calldata partner)
        external
    {
        uint64 modelId = item.modelId;
        uint64 round = item.round;
        bool upstreamSide = uint256(neighbour.stage) + 1 == item.stage;
        uint32 microbatch = item.leaf.microbatch;
        if (
            neighbour.modelId != modelId || neighbour.round != round || partner.modelId != modelId
                || partner.round != round || partner.stage != item.stage
                || (!upstreamSide && uint256(item.stage) + 1 != neighbour.stage)
                || neighbour.leaf.microbatch != microbatch || partner.leaf.microbatch != microbatch
                || neighbour.worker != (upstreamSide ? item.leaf.upstream : item.leaf.downstream)
                || partner.worker != (upstreamSide ? neighbour.leaf.downstream : neighbour.leaf.upstream)
                || partner.worker == item.worker
                || (upstreamSide ? partner.leaf.upstream : partner.leaf.downstream) != neighbour.worker
        ) revert ComputeLedgerNotUnlinked();
        ModelParams storage p = _requireOpenChallengeWindow(modelId, round);
        _verifyLeaf(neighbour, p.microbatchesPerRound);
        _verifyLeaf(partner, p.microbatchesPerRound);
        _voidSlot(modelId, round, item.stage, item.worker, _verifyItem(item, p.microbatchesPerRound), neighbour.worker);
    }

    /// @notice Voids `copy`'s commitment when its leaf has the same input activations as the same
    /// microbatch's leaf of `original`, whose upstream link is confirmed (`originalUpstream`, the
    /// upstream's leaf of that microbatch, names `original` downstream) while the copy's is not (its
    /// named upstream is `original`'s, has no commitment of the round, holds no leaf of that
    /// microbatch, or its leaf of it names someone else).
    /// @dev Every pipeline's data is keyed by its head (docs/PROTOCOL.md "Deterministic data"), so
    /// two honest leaves never share a stage-s input: a shared one was received once and claimed
    /// twice. Catches copies that name made-up or real but unrelated neighbours. Same rules as `proveUnlinked`.
    /// @param copy A leaf of the commitment to void, with its commitment and proof.
    /// @param original The same microbatch's leaf of the commitment it duplicates.
    /// @param originalUpstream The leaf of that microbatch of `original.leaf.upstream`, naming `original.worker`.
    /// @param copyUpstream Empty when `copy.leaf.upstream` is `original.leaf.upstream` or has no commitment
    /// of the round at stage s-1; else one leaf of it: of that microbatch naming another downstream than
    /// `copy.worker`, or the slot next to where the microbatch would be (slots ascend by microbatch:
    /// the first slot above it or the last slot below it, with its neighbour slot or the tree's end);
    /// two adjacent leaves bracketing it also prove it absent.
    function proveDuplicate(
        CommittedItem calldata copy,
        CommittedItem calldata original,
        CommittedItem calldata originalUpstream,
        CommittedItem[] calldata copyUpstream
    ) external {
        uint64 modelId = copy.modelId;
        uint64 round = copy.round;
        uint32 microbatch = copy.leaf.microbatch;
        if (
            original.modelId != modelId || original.round != round || original.stage != copy.stage || copy.stage == 0
                || original.leaf.microbatch != microbatch || original.worker == copy.worker
                || original.leaf.inputActHash != copy.leaf.inputActHash || originalUpstream.modelId != modelId
                || originalUpstream.round != round || uint256(originalUpstream.stage) + 1 != copy.stage
                || originalUpstream.leaf.microbatch != microbatch || originalUpstream.worker != original.leaf.upstream
                || originalUpstream.leaf.downstream != original.worker
        ) revert ComputeLedgerNotADuplicate();
        ModelParams storage p = _requireOpenChallengeWindow(modelId, round);
        _verifyLeaf(originalUpstream, p.microbatchesPerRound);
        _requireUnconfirmedUpstream(p, copy, original.leaf.upstream, copyUpstream);
        _verifyLeaf(original, p.microbatchesPerRound);
        uint256 slot = _verifyItem(copy, p.microbatchesPerRound);
        _voidSlot(modelId, round, copy.stage, copy.worker, slot, copy.leaf.upstream);
    }

    /// @notice Voids the commitment of `a` and `b` when its slots are not in strictly ascending
    /// microbatch order: `a.leaf.index <= b.leaf.index` but `a.leaf.microbatch >= b.leaf.microbatch`,
    /// two different leaves (a microbatch claimed twice, two leaves at one slot, or a tree that hides
    /// which microbatches it lacks).
    /// @dev Both leaves proven against the same stored digest; anyone, no bond, until the round's
    /// challenge window closes.
    function proveMisordered(CommittedItem calldata a, CommittedItem calldata b) external {
        if (
            a.modelId != b.modelId || a.round != b.round || a.stage != b.stage || a.worker != b.worker
                || a.itemsRoot != b.itemsRoot || a.leaf.index > b.leaf.index || a.leaf.microbatch < b.leaf.microbatch
                || keccak256(abi.encode(a.leaf)) == keccak256(abi.encode(b.leaf))
        ) revert ComputeLedgerNotMisordered();
        ModelParams storage p = _requireOpenChallengeWindow(a.modelId, a.round);
        _verifyLeaf(a, p.microbatchesPerRound);
        _voidSlot(a.modelId, a.round, a.stage, a.worker, _verifyItem(b, p.microbatchesPerRound), address(0));
    }

    /// @notice Slashes `liar.worker` for committing a leaf that contradicts a link receipt it signed:
    /// the receipt lists `liar.leaf.microbatch` as exchanged with its other end, and the leaf names
    /// someone else on that side. Restores the other end's commitment when it was voided through the
    /// liar's leaf (`proveUnlinked` or `proveDuplicate` naming the liar), and voids `beneficiary` (the
    /// partner the lying leaf names, whose leaf of the microbatch names the liar back: a copy the lie
    /// was told for).
    /// @dev Closes the colluding-neighbour hole of the link proofs: without receipts an upstream could
    /// name a copier instead of the worker it fed, voiding the honest worker and paying the copier. A
    /// worker commits a microbatch only once it holds its upstream's receipt for it (docs/PROTOCOL.md
    /// "Link receipts"), so an honest worker always holds the evidence. The signature must recover the
    /// liar's current signing key or one it retired after the round's commit window began (rotating
    /// cannot hide a lie). Anyone but the liar may call it until the round's challenge window closes;
    /// the caller is credited `WINNER_SHARE_BPS` of the slashed stake. A liar already slashed in the
    /// round is not slashed again, but the restoration and the void still happen. Effects before the
    /// single burn transfer; `nonReentrant`.
    /// @param liar The accused's leaf of a listed microbatch, with its commitment and proof.
    /// @param receipt The receipt the accused signed (it is `receipt.upstream` at stage `receipt.stage`
    /// or `receipt.downstream` at `receipt.stage + 1`).
    /// @param signature 65-byte `r ++ s ++ v` or 64-byte EIP-2098 signature of the receipt.
    /// @param beneficiary Empty, or the leaf of the microbatch of the worker `liar.leaf` names instead.
    function proveLinkEquivocation(
        CommittedItem calldata liar,
        LinkReceipt calldata receipt,
        bytes calldata signature,
        CommittedItem[] calldata beneficiary
    ) external nonReentrant {
        bool upstreamSide = _requireEquivocation(liar, receipt);
        if (liar.worker == msg.sender) revert ComputeLedgerNotEligibleValidator();
        ModelParams storage p = _requireOpenChallengeWindow(liar.modelId, liar.round);
        _requireReceiptSigner(p, receipt, signature, liar.worker);
        uint256 slot = _verifyLeaf(liar, p.microbatchesPerRound);
        address counterpart = upstreamSide ? receipt.downstream : receipt.upstream;
        uint16 counterpartStage = upstreamSide ? liar.stage + 1 : liar.stage - 1;
        emit LinkEquivocationProven(
            liar.modelId, liar.round, liar.worker, liar.stage, liar.leaf.microbatch, counterpart, msg.sender
        );
        _restore(liar.modelId, liar.round, counterpartStage, counterpart, liar.worker);
        if (beneficiary.length != 0) _voidBeneficiary(p, liar, counterpartStage, upstreamSide, beneficiary);
        if (_slotHas(slot, _FLAG_SLASHED)) return;
        (, uint256 burnWei) = _slash(liar.modelId, liar.round, liar.worker, msg.sender, 0);
        if (burnWei != 0) _sendValue(BURN_ADDRESS, burnWei);
    }

    // ---------------------------------------------------------------- internals

    /// @dev Reverts unless `liar` is one end of `receipt` at its stage, the receipt lists its leaf's
    /// microbatch and the leaf names someone other than the receipt's other end on that side. Returns
    /// whether the liar is the receipt's upstream.
    function _requireEquivocation(CommittedItem calldata liar, LinkReceipt calldata receipt)
        private
        pure
        returns (bool upstreamSide)
    {
        upstreamSide = liar.worker == receipt.upstream && liar.stage == receipt.stage;
        bool listed = receipt.modelId == liar.modelId && receipt.round == liar.round
            && (upstreamSide || (liar.worker == receipt.downstream && liar.stage == uint256(receipt.stage) + 1))
            && _listsMicrobatch(receipt.microbatches, liar.leaf.microbatch);
        if (!listed || (upstreamSide ? liar.leaf.downstream == receipt.downstream : liar.leaf.upstream == receipt.upstream)) {
            revert ComputeLedgerNotAnEquivocation();
        }
    }

    /// @dev Bit `m % 8` of byte `m / 8` of a receipt's bitmap.
    function _listsMicrobatch(bytes calldata microbatches, uint32 m) private pure returns (bool) {
        uint256 byteIndex = m >> 3;
        return byteIndex < microbatches.length && (uint8(microbatches[byteIndex]) >> (m & 7)) & 1 == 1;
    }

    /// @dev The receipt's EIP-712 signer must be `account`'s current signing key, or a key it retired
    /// after the receipt's round began. The domain is the ledger's: under DELEGATECALL `address(this)`
    /// is the ledger.
    function _requireReceiptSigner(
        ModelParams storage p,
        LinkReceipt calldata receipt,
        bytes calldata signature,
        address account
    ) private view {
        bytes32 structHash = keccak256(
            abi.encode(
                LINK_RECEIPT_TYPEHASH,
                receipt.modelId,
                receipt.round,
                receipt.stage,
                receipt.upstream,
                receipt.downstream,
                keccak256(receipt.microbatches)
            )
        );
        bytes32 domain = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("Shardholder"),
                keccak256("1"),
                block.chainid,
                address(this)
            )
        );
        (address signer, ECDSA.RecoverError err,) =
            ECDSA.tryRecover(keccak256(abi.encodePacked(hex"1901", domain, structHash)), signature);
        if (err != ECDSA.RecoverError.NoError) revert ComputeLedgerInvalidReceiptSignature();
        if (signer == _stakers[account].signingKey) return;
        uint256 retiredAt = _keyRetiredAt[account][signer];
        if (retiredAt == 0 || retiredAt < _commitStart(p.genesisTime, p.commitWindowSec, receipt.round)) {
            revert ComputeLedgerInvalidReceiptSignature();
        }
    }

    /// @dev Un-voids `worker`'s commitment of (stage, round) if it was voided through `liar`'s leaf.
    function _restore(uint64 modelId, uint64 round, uint16 stage, address worker, address liar) private {
        uint256 key = _slotKey(stage, round);
        if (_voidedVia[modelId][worker][key] != liar) return;
        uint256 slot = _commitments[modelId][worker][key];
        if (!_slotIsRound(slot, round) || !_slotHas(slot, _FLAG_VOIDED) || _slotHas(slot, _FLAG_SLASHED)) return;
        delete _voidedVia[modelId][worker][key];
        _commitments[modelId][worker][key] = slot & ~(_FLAG_VOIDED << _FLAGS_SHIFT);
        uint64 units = _slotUnits(slot);
        _rounds[modelId][round].totalUnits += units;
        emit CommitmentRestored(modelId, round, worker, stage, liar, units);
    }

    /// @dev Voids the commitment of the worker the lying leaf named instead (`named`), given its leaf of
    /// the microbatch at the counterpart's stage naming the liar back. Already voided or slashed: left as is.
    function _voidBeneficiary(
        ModelParams storage p,
        CommittedItem calldata liar,
        uint16 stage,
        bool upstreamSide,
        CommittedItem[] calldata beneficiary
    ) private {
        CommittedItem calldata b = beneficiary[0];
        if (
            beneficiary.length != 1 || b.modelId != liar.modelId || b.round != liar.round || b.stage != stage
                || b.worker != (upstreamSide ? liar.leaf.downstream : liar.leaf.upstream)
                || b.leaf.microbatch != liar.leaf.microbatch
                || (upstreamSide ? b.leaf.upstream : b.leaf.downstream) != liar.worker
        ) revert ComputeLedgerNotABeneficiary();
        uint256 slot = _verifyLeaf(b, p.microbatchesPerRound);
        if (_slotHas(slot, _FLAG_SLASHED) || _slotHas(slot, _FLAG_VOIDED)) return;
        _voidSlot(b.modelId, b.round, stage, b.worker, slot, liar.worker);
    }

    function _requireOpenChallengeWindow(uint64 modelId, uint64 round) private returns (ModelParams storage p) {
        p = _model(modelId);
        if (block.timestamp >= _challengeEnd(p, round)) revert ComputeLedgerOutsideChallengeWindow(modelId, round);
    }

    /// @dev The copy's upstream link is not confirmed: it names `originalUpstream` (whose leaf names
    /// the original), or its upstream has no commitment of the round once the commit window closed,
    /// or that commitment's leaf of the microbatch names another downstream, or holds no such leaf
    /// (proven by the slots around where it would be).
    function _requireUnconfirmedUpstream(
        ModelParams storage p,
        CommittedItem calldata copy,
        address originalUpstream,
        CommittedItem[] calldata copyUpstream
    ) private {
        address upstream = copy.leaf.upstream;
        if (upstream == originalUpstream) return;
        uint256 n = copyUpstream.length;
        if (n == 0) {
            if (
                block.timestamp < _commitEnd(p.genesisTime, p.commitWindowSec, copy.round)
                    || _slotIsRound(_commitments[copy.modelId][upstream][_slotKey(copy.stage - 1, copy.round)], copy.round)
            ) revert ComputeLedgerNotADuplicate();
            return;
        }
        uint32 microbatch = copy.leaf.microbatch;
        CommittedItem calldata first = copyUpstream[0];
        if (
            n > 2 || first.modelId != copy.modelId || first.round != copy.round || uint256(first.stage) + 1 != copy.stage
                || first.worker != upstream
        ) revert ComputeLedgerNotADuplicate();
        uint256 slot = _verifyLeaf(first, p.microbatchesPerRound);
        uint32 m = first.leaf.microbatch;
        if (m == microbatch) {
            // Its leaf of the microbatch names another downstream.
            if (n != 1 || first.leaf.downstream == copy.worker) revert ComputeLedgerNotADuplicate();
            return;
        }
        if (n == 1) {
            // The first slot is above it, or the last slot is below it.
            bool absent = m > microbatch
                ? first.leaf.index == 0
                : uint256(first.leaf.index) + 1 == _slotItemCount(copy.modelId, first.stage, slot);
            if (!absent) revert ComputeLedgerNotADuplicate();
            return;
        }
        // Two adjacent slots of the same tree bracket it.
        CommittedItem calldata second = copyUpstream[1];
        if (
            second.worker != upstream || second.modelId != copy.modelId || second.round != copy.round
                || second.stage != first.stage || second.itemsRoot != first.itemsRoot
                || uint256(first.leaf.index) + 1 != second.leaf.index || m >= microbatch
                || second.leaf.microbatch <= microbatch
        ) revert ComputeLedgerNotADuplicate();
        _verifyLeaf(second, p.microbatchesPerRound);
    }

    /// @dev Flags a stored, unsettled commitment voided and takes its units out of the (unfinalized) round.
    function _voidSlot(uint64 modelId, uint64 round, uint16 stage, address worker, uint256 slot, address neighbour)
        private
    {
        if (_slotHas(slot, _FLAG_SLASHED)) revert ComputeLedgerCommitmentSlashed();
        if (_slotHas(slot, _FLAG_VOIDED)) revert ComputeLedgerCommitmentVoided();
        uint256 key = _slotKey(stage, round);
        _commitments[modelId][worker][key] = slot | (_FLAG_VOIDED << _FLAGS_SHIFT);
        _voidedVia[modelId][worker][key] = neighbour;
        uint64 units = _slotUnits(slot);
        _rounds[modelId][round].totalUnits -= units;
        emit CommitmentVoided(modelId, round, worker, stage, neighbour, units);
    }

    /// @dev The stored slot of a full commitment whose digest matches; reverts otherwise.
    function _requireStored(Commitment calldata c) private view returns (uint256 slot) {
        slot = _commitments[c.modelId][c.worker][_slotKey(c.stage, c.round)];
        bytes32 digest = _storedDigest(c);
        if (!_slotIsRound(slot, c.round) || !_slotPrefixMatches(slot, digest)) revert ComputeLedgerUnknownCommitment();
    }

    function _seal(uint64 modelId, uint64 round) private returns (bytes32 seed) {
        seed = _roundSeeds[modelId][round];
        if (seed != bytes32(0)) return seed;
        uint256 seedBlock = _seedBlocks[modelId][round];
        if (seedBlock != 0 && block.number > seedBlock) {
            bytes32 blockHash = blockhash(seedBlock);
            if (blockHash != bytes32(0)) {
                seed = keccak256(abi.encode(blockHash, modelId, round));
                _roundSeeds[modelId][round] = seed;
                emit RoundSeedSealed(modelId, round, seed);
                return seed;
            }
        }
        if (seedBlock == 0 || block.number > seedBlock) {
            _seedBlocks[modelId][round] = uint64(block.number);
            emit RoundSeedRequested(modelId, round, block.number);
        }
    }
}

/// @title The deployed validator module (see `LedgerValidators`); only meaningful under DELEGATECALL
/// @dev Called directly it acts on its own empty storage and cannot mint (the tokens' minter is the ledger).
contract ComputeLedgerValidatorModule is LedgerValidators {
    constructor(IModelRegistry registry_) LedgerBase(registry_) {}
}
