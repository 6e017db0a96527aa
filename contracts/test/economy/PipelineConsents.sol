// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Test} from "forge-std/Test.sol";
import {IInferenceEscrow} from "../../interfaces/IInferenceEscrow.sol";

/// @title Operators with signing keys, pipeline registration with every operator's EIP-712 consent, and
/// fulfilments with every stage's signed serving commitment
/// @dev The digests are rebuilt here from the type strings (not read from the escrow), so a digest bug in
/// the escrow cannot hide.
abstract contract PipelineConsents is Test {
    bytes32 internal constant CONSENT_TYPEHASH_SPEC =
        keccak256("PipelineConsent(uint64 modelId,address[] stageOperators,uint64 deadline)");
    bytes32 internal constant DOMAIN_TYPEHASH_SPEC_ =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");

    bytes32 internal constant SERVING_TYPEHASH_SPEC = keccak256(
        "ServingCommitment(uint256 requestId,uint16 stage,bytes32 weightsRoot,bytes32 sampling,bytes32 outputsRoot,uint32 positions)"
    );
    bytes32 internal constant FRAME_TYPEHASH_SPEC =
        keccak256("ServingFrame(uint256 requestId,uint16 stage,uint32 position,bytes32 payloadHash)");

    mapping(address operator => uint256) internal operatorKeys;

    /// @dev An operator address whose key the helpers can sign with.
    function _operator(string memory name) internal returns (address operator) {
        uint256 key;
        (operator, key) = makeAddrAndKey(name);
        operatorKeys[operator] = key;
    }

    function _escrowDomain(IInferenceEscrow escrow) internal view returns (bytes32) {
        return keccak256(
            abi.encode(DOMAIN_TYPEHASH_SPEC_, keccak256("Shardholder"), keccak256("1"), block.chainid, address(escrow))
        );
    }

    /// @dev Stage `s`'s commitment of request `requestId`: outputs root of `outputsOf(requestId, s)` (8 positions).
    function _servingCommitments(uint256 requestId, uint256 stages)
        internal
        pure
        returns (IInferenceEscrow.ServingCommitment[] memory c)
    {
        c = new IInferenceEscrow.ServingCommitment[](stages);
        for (uint256 s; s < stages; ++s) {
            c[s] = IInferenceEscrow.ServingCommitment({
                weightsRoot: keccak256(abi.encode("weights", s)),
                sampling: s + 1 == stages ? keccak256(abi.encode(uint64(requestId), uint32(0), uint32(0))) : bytes32(0),
                outputsRoot: _outputsRoot(requestId, s),
                positions: 2
            });
        }
    }

    /// @dev The committed output hash of `stage` at `position` in the test's two-position outputs trees.
    function _servedOutput(uint256 requestId, uint256 stage, uint32 position) internal pure returns (bytes32) {
        return keccak256(abi.encode("output", requestId, stage, position));
    }

    /// @dev Root of the standard Merkle tree of positions 0 and 1 (sorted pair of double-hashed leaves).
    function _outputsRoot(uint256 requestId, uint256 stage) internal pure returns (bytes32) {
        bytes32 a = _outputLeaf(0, _servedOutput(requestId, stage, 0));
        bytes32 b = _outputLeaf(1, _servedOutput(requestId, stage, 1));
        return a < b ? keccak256(abi.encode(a, b)) : keccak256(abi.encode(b, a));
    }

    function _outputLeaf(uint32 position, bytes32 outputHash) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(position, outputHash))));
    }

    /// @dev The proof of position `position` (0 or 1) in `_outputsRoot`: the other leaf.
    function _outputProof(uint256 requestId, uint256 stage, uint32 position) internal pure returns (bytes32[] memory proof) {
        proof = new bytes32[](1);
        uint32 other = 1 - position;
        proof[0] = _outputLeaf(other, _servedOutput(requestId, stage, other));
    }

    function _servingStructHash(uint256 requestId, uint256 stage, IInferenceEscrow.ServingCommitment memory c)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(
            abi.encode(SERVING_TYPEHASH_SPEC, requestId, uint16(stage), c.weightsRoot, c.sampling, c.outputsRoot, c.positions)
        );
    }

    function _servingRootOf(uint256 requestId, IInferenceEscrow.ServingCommitment[] memory c) internal pure returns (bytes32) {
        bytes32[] memory hashes = new bytes32[](c.length);
        for (uint256 s; s < c.length; ++s) {
            hashes[s] = _servingStructHash(requestId, s, c[s]);
        }
        return keccak256(abi.encodePacked(hashes));
    }

    /// @dev Each stage operator's EIP-2098 compact signature of its commitment, concatenated (64 zero bytes
    /// for an operator without a known key).
    function _servingSignatures(
        IInferenceEscrow escrow,
        uint256 requestId,
        address[] memory ops,
        IInferenceEscrow.ServingCommitment[] memory c
    ) internal view returns (bytes memory sigs) {
        bytes32 domain = _escrowDomain(escrow);
        for (uint256 s; s < ops.length; ++s) {
            uint256 key = operatorKeys[ops[s]];
            bytes32 digest = keccak256(abi.encodePacked("\x19\x01", domain, _servingStructHash(requestId, s, c[s])));
            sigs = bytes.concat(sigs, key == 0 ? new bytes(64) : _signCompact(key, digest));
        }
    }

    function _signCompact(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (bytes32 r, bytes32 vs) = vm.signCompact(key, digest);
        return abi.encodePacked(r, vs);
    }

    /// @dev `caller` fulfils request `id` through `ops`, every stage's commitment signed by its operator.
    function _fulfillAs(
        IInferenceEscrow escrow,
        address caller,
        uint256 id,
        IInferenceEscrow.InferenceRequest memory req,
        bytes32 outputHash,
        address[] memory ops
    ) internal {
        IInferenceEscrow.ServingCommitment[] memory c = _servingCommitments(id, ops.length);
        bytes memory sigs = _servingSignatures(escrow, id, ops, c);
        vm.prank(caller);
        escrow.fulfill(id, req, outputHash, c, sigs, ops);
    }

    /// @dev Waits out request `id`'s challenge window and releases its operators' shares.
    function _releaseAfterWindow(
        IInferenceEscrow escrow,
        uint256 id,
        IInferenceEscrow.InferenceRequest memory req,
        bytes32 outputHash,
        address[] memory ops
    ) internal {
        (, uint64 fulfilledAt,,,) = escrow.fulfilment(id);
        uint256 until = fulfilledAt + escrow.challengeWindowSec(req.modelId);
        if (block.timestamp < until) vm.warp(until);
        escrow.release(id, req, outputHash, _servingRootOf(id, _servingCommitments(id, ops.length)), ops);
    }

    function _consentDigest(IInferenceEscrow escrow, uint64 modelId, address[] memory ops, uint64 deadline)
        internal
        view
        returns (bytes32)
    {
        bytes32 domain = keccak256(
            abi.encode(DOMAIN_TYPEHASH_SPEC_, keccak256("Shardholder"), keccak256("1"), block.chainid, address(escrow))
        );
        bytes32 structHash = keccak256(abi.encode(CONSENT_TYPEHASH_SPEC, modelId, keccak256(abi.encodePacked(ops)), deadline));
        return keccak256(abi.encodePacked("\x19\x01", domain, structHash));
    }

    function _sign(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    /// @dev One entry per stage: a signature at each distinct operator's first index, except `sender`'s.
    function _consents(IInferenceEscrow escrow, uint64 modelId, address[] memory ops, uint64 deadline, address sender)
        internal
        view
        returns (bytes[] memory consents)
    {
        bytes32 digest = _consentDigest(escrow, modelId, ops, deadline);
        consents = new bytes[](ops.length);
        for (uint256 i; i < ops.length; ++i) {
            if (ops[i] == sender || _seenBefore(ops, i)) continue;
            uint256 key = operatorKeys[ops[i]];
            require(key != 0, "PipelineConsents: unknown operator key");
            consents[i] = _sign(key, digest);
        }
    }

    /// @dev Registers `ops` for `modelId`, sent by `ops[0]`, with every other operator's consent.
    function _registerPipeline(IInferenceEscrow escrow, uint64 modelId, address[] memory ops) internal returns (bytes32 key) {
        uint64 deadline = uint64(block.timestamp + 1 hours);
        bytes[] memory consents = _consents(escrow, modelId, ops, deadline, ops[0]);
        vm.prank(ops[0]);
        key = escrow.registerPipeline(modelId, ops, deadline, consents);
    }

    function _seenBefore(address[] memory ops, uint256 i) private pure returns (bool) {
        for (uint256 j; j < i; ++j) {
            if (ops[j] == ops[i]) return true;
        }
        return false;
    }

    function _keys1(bytes32 a) internal pure returns (bytes32[] memory keys) {
        keys = new bytes32[](1);
        keys[0] = a;
    }

    function _keys2(bytes32 a, bytes32 b) internal pure returns (bytes32[] memory keys) {
        keys = new bytes32[](2);
        keys[0] = a;
        keys[1] = b;
    }
}
