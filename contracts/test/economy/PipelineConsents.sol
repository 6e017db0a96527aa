// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Test} from "forge-std/Test.sol";
import {InferenceEscrow} from "../../InferenceEscrow.sol";

/// @title Operators with signing keys, and pipeline registration with every operator's EIP-712 consent
/// @dev The consent digest is rebuilt here from the PipelineConsent type string (not read from the escrow),
/// so a digest bug in the escrow cannot hide.
abstract contract PipelineConsents is Test {
    bytes32 internal constant CONSENT_TYPEHASH_SPEC =
        keccak256("PipelineConsent(uint64 modelId,address[] stageOperators,uint64 deadline)");
    bytes32 internal constant DOMAIN_TYPEHASH_SPEC_ =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");

    mapping(address operator => uint256) internal operatorKeys;

    /// @dev An operator address whose key the helpers can sign with.
    function _operator(string memory name) internal returns (address operator) {
        uint256 key;
        (operator, key) = makeAddrAndKey(name);
        operatorKeys[operator] = key;
    }

    function _consentDigest(InferenceEscrow escrow, uint64 modelId, address[] memory ops, uint64 deadline)
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
    function _consents(InferenceEscrow escrow, uint64 modelId, address[] memory ops, uint64 deadline, address sender)
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
    function _registerPipeline(InferenceEscrow escrow, uint64 modelId, address[] memory ops) internal returns (bytes32 key) {
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
