// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {LedgerStaking} from "./LedgerStaking.sol";

/// @title Batched submission of EIP-712 signed commitments (docs/PROTOCOL.md "Commitment signature")
abstract contract LedgerCommitments is LedgerStaking {
    /// @notice EIP-712 type hash of `Commitment`, byte for byte as in docs/PROTOCOL.md.
    bytes32 public constant COMMITMENT_TYPEHASH = keccak256(
        "Commitment(uint64 modelId,uint64 round,uint16 stage,address worker,bytes32 itemsRoot,uint32 itemCount,bytes32 weightsRootBefore,bytes32 weightsRootAfter)"
    );

    /// @dev What a batch needs of a model's terms: its first 2 cached slots (timing, shape, minimum
    /// worker stake), not the token and designer slots a whole-struct copy would also read.
    struct BatchTerms {
        uint256 genesisTime;
        uint256 commitWindowSec;
        uint256 stageCount;
        uint256 microbatchesPerRound;
        uint256 minWorkerStakeWei;
    }

    bytes32 private constant _DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    // A hand-rolled domain instead of OZ EIP712: the fixed name/version need no ShortStrings or
    // ERC-5267 getter, which keeps the ledger under the 24 KiB code size limit.
    bytes32 private immutable _cachedDomainSeparator;
    uint256 private immutable _cachedChainId;

    constructor() {
        _cachedChainId = block.chainid;
        _cachedDomainSeparator = _buildDomainSeparator();
    }

    function _buildDomainSeparator() private view returns (bytes32) {
        return keccak256(
            abi.encode(_DOMAIN_TYPEHASH, keccak256("Shardholder"), keccak256("1"), block.chainid, address(this))
        );
    }

    /// @dev Recomputed after a chain fork so signatures never replay across chain ids.
    function _domainSeparatorV4() internal view returns (bytes32) {
        return block.chainid == _cachedChainId ? _cachedDomainSeparator : _buildDomainSeparator();
    }

    /// @notice Records signed commitments; callable by anyone (a relayer pays the gas, never the key holder).
    /// @dev Defends against:
    /// - forgery and stale keys: each signature must recover the worker's *current* signing key;
    /// - cross-chain / cross-contract replay: the EIP-712 domain binds chain id and this address;
    /// - cross-model / cross-round replay: model, round and stage are signed, and only the model's
    ///   current round accepts commitments (its commit window);
    /// - double counting: at most one commitment per (model, round, stage, worker); a second, different
    ///   one reverts, while an exact copy of the one already stored is skipped (counted once, no revert),
    ///   so whoever front-runs a relayed batch with one of its commitments cannot sink the batch;
    /// - self-reported work: units are `itemCount * registry.unitsPerMicrobatch(model, stage)`;
    /// - copied work: every leaf names the neighbours it exchanged its microbatch with; a leaf its
    ///   named neighbour does not name back voids the commitment (`proveUnlinked`, `proveDuplicate`);
    /// - wrong starting point: for round 0, `weightsRootBefore` must equal the registry's initial root
    ///   of the stage. Later rounds' `weightsRootBefore` is not compared here (that would cost a cold
    ///   read of the previous round's slot on every commitment); both roots are bound in the stored
    ///   digest, so a worker whose `weightsRootBefore` differs from its own previous `weightsRootAfter`
    ///   is slashed by `proveWeightsBreak` with no committee.
    /// The whole batch reverts on the first invalid entry (relayers simulate first), so a batch is
    /// all-or-nothing and never partially counted.
    /// @param commitments The commitments, grouped by model for the cheapest gas.
    /// @param signatures `signatures[i]` for `commitments[i]`: 65 bytes `r ++ s ++ v`, or the 64-byte EIP-2098
    /// form `r ++ (yParity << 255 | s)` (cheaper calldata; what the SDK submits).
    function submitCommitments(Commitment[] calldata commitments, bytes[] calldata signatures) external {
        uint256 n = commitments.length;
        if (n != signatures.length) revert ComputeLedgerLengthMismatch(n, signatures.length);
        BatchTerms memory t;
        uint64 modelId;
        uint64 round;
        uint256 pendingUnits;
        for (uint256 i; i < n; ++i) {
            Commitment calldata c = commitments[i];
            uint64 cModelId = c.modelId;
            uint64 cRound = c.round;
            if (cModelId != modelId || cRound != round) {
                if (pendingUnits != 0) _addRoundUnits(modelId, round, pendingUnits);
                pendingUnits = 0;
                if (cModelId != modelId) {
                    modelId = cModelId;
                    t = _batchTerms(modelId);
                }
                round = cRound;
                if (
                    round > _ROUND_MASK || block.timestamp < _commitStart(t.genesisTime, t.commitWindowSec, round)
                        || block.timestamp >= _commitEnd(t.genesisTime, t.commitWindowSec, round)
                ) {
                    revert ComputeLedgerOutsideCommitWindow(modelId, round);
                }
            }
            pendingUnits += _acceptOne(c, signatures[i], t, modelId, round, i);
        }
        if (pendingUnits != 0) _addRoundUnits(modelId, round, pendingUnits);
    }

    function _batchTerms(uint64 modelId) private returns (BatchTerms memory t) {
        ModelParams storage p = _model(modelId);
        _requireSettleableTiming(modelId, p);
        t = BatchTerms({
            genesisTime: p.genesisTime,
            commitWindowSec: p.commitWindowSec,
            stageCount: p.stageCount,
            microbatchesPerRound: p.microbatchesPerRound,
            minWorkerStakeWei: p.minWorkerStakeWei
        });
    }

    /// @dev Checks one commitment of (`modelId`, `round`), whose commit window was already checked;
    /// returns its units. Each field is loaded once from calldata and validated as Solidity's ABI decoder
    /// would (a dirty word reverts without data), in the order the checks use them.
    function _acceptOne(
        Commitment calldata c,
        bytes calldata signature,
        BatchTerms memory t,
        uint64 modelId,
        uint64 round,
        uint256 index
    ) private returns (uint256 units) {
        uint256 stage = _field(c, 0x40, type(uint16).max);
        uint256 itemCount;
        address worker;
        {
            uint256 stageCount = t.stageCount;
            if (stage >= stageCount) revert ComputeLedgerBadStage(uint16(stage), uint16(stageCount));
            itemCount = _field(c, 0xa0, type(uint32).max);
            if (itemCount == 0 || itemCount > t.microbatchesPerRound) {
                revert ComputeLedgerBadItemCount(uint32(itemCount), uint32(t.microbatchesPerRound));
            }
            worker = address(uint160(_field(c, 0x60, type(uint160).max)));
        }
        _requireServingSigner(c, modelId, worker, signature, t.minWorkerStakeWei, index);
        if (round == 0) {
            bytes32 expected = _registry.initialWeightsRoot(modelId, uint16(stage));
            if (c.weightsRootBefore != expected) revert ComputeLedgerWrongWeightsRoot(expected, c.weightsRootBefore);
        }
        {
            // `_unitsPerMicrobatch` with its cached path inline: `_unitsPlusOne[modelId][stage]`, 0 = not cached
            uint256 unitsPlusOne;
            assembly ("memory-safe") {
                mstore(0x00, modelId)
                mstore(0x20, _unitsPlusOne.slot)
                mstore(0x20, keccak256(0x00, 0x40))
                mstore(0x00, stage)
                unitsPlusOne := sload(keccak256(0x00, 0x40))
            }
            if (unitsPlusOne == 0) unitsPlusOne = _unitsPerMicrobatch(modelId, uint16(stage)) + 1;
            // itemCount < 2^32 and units per microbatch < 2^64: no overflow
            unchecked {
                units = itemCount * (unitsPlusOne - 1);
            }
        }
        if (units > type(uint64).max) revert ComputeLedgerUnitsOverflow();
        if (!_record(c, modelId, round, stage, worker, units)) units = 0;
    }

    /// @dev The calldata word of `c` at `offset`, reverting without data (as the ABI decoder does) when it
    /// is above `max`, the largest value of the field's type.
    function _field(Commitment calldata c, uint256 offset, uint256 max) private pure returns (uint256 word) {
        assembly ("memory-safe") {
            word := calldataload(add(c, offset))
            if gt(word, max) { revert(0x00, 0x00) }
        }
    }

    /// @dev The worker must be serving and the signature must recover its current signing key; both
    /// come from the staker's slot 0, read once.
    function _requireServingSigner(
        Commitment calldata c,
        uint64 modelId,
        address worker,
        bytes calldata signature,
        uint256 minStakeWei,
        uint256 index
    ) private view {
        uint256 word = _stakerWord(_stakers[worker]);
        if (!_isServingWord(word, minStakeWei)) revert ComputeLedgerNotServing(modelId, worker);
        address recovered = _recoverCommitmentSigner(c, signature);
        if (recovered == address(0) || recovered != address(uint160(word))) revert ComputeLedgerInvalidSignature(index);
    }

    /// @dev The signer of `c`'s EIP-712 digest, or zero for an invalid signature. Equivalent to OZ
    /// `ECDSA.tryRecoverCalldata(keccak256("\x19\x01" ++ domainSeparator ++ structHash(c)), signature)` (zero where it
    /// reports an error: a high `s`, a `v` other than 27/28, no signer), in one assembly block. The struct hash
    /// is `keccak256(COMMITMENT_TYPEHASH ++ the struct's 8 calldata words)`: every narrow field was read (and so
    /// ABI-validated) by `submitCommitments` (model, round) and `_acceptOne` (stage, worker, itemCount)
    /// before, so the raw words equal `abi.encode` of the fields. It also takes the 64-byte
    /// EIP-2098 form `r ++ (yParity << 255 | s)` of the same signature (the SDK submits that form: 33 fewer
    /// calldata bytes per commitment). Any other length is invalid.
    function _recoverCommitmentSigner(Commitment calldata c, bytes calldata signature)
        private
        view
        returns (address recovered)
    {
        bytes32 typeHash = COMMITMENT_TYPEHASH;
        bytes32 domain = _domainSeparatorV4();
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, typeHash)
            calldatacopy(add(ptr, 0x20), c, 0x100)
            let structHash := keccak256(ptr, 0x120)
            mstore(ptr, 0x1901)
            mstore(add(ptr, 0x20), domain)
            mstore(add(ptr, 0x40), structHash)
            let digest := keccak256(add(ptr, 0x1e), 0x42)
            let r := calldataload(signature.offset)
            let s := calldataload(add(signature.offset, 0x20))
            let v := 0 // invalid unless set below: the precompile returns nothing for v other than 27/28
            switch signature.length
            case 65 { v := byte(0, calldataload(add(signature.offset, 0x40))) }
            case 64 {
                v := add(27, shr(255, s))
                s := and(s, 0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff)
            }
            // secp256k1n / 2: a larger s is the malleable twin of a valid signature
            if gt(s, 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0) { v := 0 }
            mstore(ptr, digest)
            mstore(add(ptr, 0x20), v)
            mstore(add(ptr, 0x40), r)
            mstore(add(ptr, 0x60), s)
            if staticcall(gas(), 0x01, ptr, 0x80, 0x00, 0x20) { recovered := mul(mload(0x00), eq(returndatasize(), 0x20)) }
        }
    }

    /// @dev Writes the packed slot of `c`, reusing the ring slot of round - RING_SIZE once it is
    /// settled; false (nothing written) when the slot already holds exactly this commitment. The slot of
    /// `_commitments[modelId][worker][_slotKey(stage, round)]` and the event are computed in assembly.
    function _record(Commitment calldata c, uint64 modelId, uint64 round, uint256 stage, address worker, uint256 units)
        private
        returns (bool recorded)
    {
        uint256 packed = _packCommitment(round, units, _storedDigest(c));
        uint256 key = stage * RING_SIZE + (round % RING_SIZE); // stage < 2^16: no overflow
        uint256 slot;
        uint256 previous;
        assembly ("memory-safe") {
            mstore(0x00, modelId)
            mstore(0x20, _commitments.slot)
            mstore(0x20, keccak256(0x00, 0x40))
            mstore(0x00, worker)
            mstore(0x20, keccak256(0x00, 0x40))
            mstore(0x00, key)
            slot := keccak256(0x00, 0x40)
            previous := sload(slot)
        }
        if (previous == packed) return false;
        if (_slotHas(previous, _FLAG_EXISTS)) {
            uint64 previousRound = _slotRound(previous);
            if (previousRound == round) revert ComputeLedgerAlreadyCommitted(modelId, round, uint16(stage), worker);
            // The slot still carries an older round's claim; overwriting it would silently drop that reward.
            if (!_slotHas(previous, _FLAG_REWARDED | _FLAG_SLASHED | _FLAG_VOIDED)) {
                revert ComputeLedgerPreviousCommitmentUnsettled(modelId, uint16(stage), worker, previousRound);
            }
        }
        bytes32 topic = CommitmentAccepted.selector;
        // emit CommitmentAccepted(modelId, round, worker, uint16(stage), c.itemsRoot, uint64(units))
        assembly ("memory-safe") {
            sstore(slot, packed)
            let ptr := mload(0x40)
            mstore(ptr, stage)
            mstore(add(ptr, 0x20), calldataload(add(c, 0x80)))
            mstore(add(ptr, 0x40), units)
            log4(ptr, 0x60, topic, modelId, round, worker)
        }
        return true;
    }

    function _addRoundUnits(uint64 modelId, uint64 round, uint256 units) private {
        RoundState storage r = _rounds[modelId][round];
        uint256 total = r.totalUnits + units;
        if (total > type(uint96).max) revert ComputeLedgerUnitsOverflow();
        r.totalUnits = uint96(total);
    }

    // ---------------------------------------------------------------- views

    /// @notice The EIP-712 domain separator (name "Shardholder", version "1", this chain, this contract).
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @notice The stored record of the commitment (model, round, stage, worker), if the ring still holds it.
    function commitmentOf(uint64 modelId, uint64 round, uint16 stage, address worker)
        external
        view
        returns (CommitmentRecord memory record)
    {
        uint256 slot = _commitments[modelId][worker][_slotKey(stage, round)];
        if (!_slotIsRound(slot, round)) return record;
        record = CommitmentRecord({
            found: true,
            units: _slotUnits(slot),
            slashed: _slotHas(slot, _FLAG_SLASHED),
            rewarded: _slotHas(slot, _FLAG_REWARDED),
            voided: _slotHas(slot, _FLAG_VOIDED),
            digestPrefix: bytes18(bytes32(slot >> _PREFIX_SHIFT << _PREFIX_SHIFT))
        });
    }
}
