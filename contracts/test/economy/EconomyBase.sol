// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Test} from "forge-std/Test.sol";
import {IModelRegistry} from "../../interfaces/IModelRegistry.sol";
import {ModelRegistry} from "../../ModelRegistry.sol";
import {ModelToken} from "../../ModelToken.sol";

/// @title Shared deployment and spec builders for the economy tests (registry, token, escrow, claimer)
/// @dev `minter` stands in for the compute ledger as the tokens' minter: the tests here mint directly.
abstract contract EconomyBase is Test {
    ModelToken internal tokenImpl;
    ModelRegistry internal registry;
    address internal minter = makeAddr("minter");
    address internal designer = makeAddr("designer");

    function _deployRegistry() internal {
        tokenImpl = new ModelToken();
        registry = new ModelRegistry(address(tokenImpl));
        registry.bindLedger(minter);
    }

    /// @dev A valid spec with `stages` stages; tests mutate one field to hit one error.
    function _spec(uint256 stages) internal pure returns (IModelRegistry.ModelSpec memory s) {
        s.name = "Tiny Char Transformer";
        s.symbol = "TCT";
        s.specHash = keccak256("spec");
        s.initialWeightsRoots = new bytes32[](stages);
        s.unitsPerMicrobatch = new uint64[](stages);
        for (uint256 i; i < stages; ++i) {
            s.initialWeightsRoots[i] = keccak256(abi.encode("root", i));
            s.unitsPerMicrobatch[i] = uint64(100 + i);
        }
        s.microbatchesPerRound = 8;
        s.emission = IModelRegistry.Emission({tokensPerRound: 1000e18, decayBps: 100, capTokens: 1_000_000e18});
        s.protocolFeeBps = 300;
        s.operatorFeeBps = 5000;
        s.designerEmissionBps = 1000;
        s.minRequestFeeWei = 1e12;
        s.timing = IModelRegistry.Timing({commitWindowSec: 600, challengeWindowSec: 300, voteWindowSec: 120});
        s.minWorkerStakeWei = 1 ether;
        s.minValidatorStakeWei = 2 ether;
        s.metadataURI = "ipfs://meta";
    }

    function _register(IModelRegistry.ModelSpec memory s) internal returns (uint64 modelId, ModelToken token) {
        vm.prank(designer);
        address t;
        (modelId, t) = registry.registerModel(s);
        token = ModelToken(t);
    }

    /// @dev An uninitialized token deployed as the registry deploys one: a copy of the implementation's runtime
    /// code (the registry's 30-byte init code, with CREATE instead of CREATE2).
    function _freshToken() internal returns (ModelToken token) {
        bytes memory initCode = abi.encodePacked(hex"73", address(tokenImpl), hex"803b805f5f843c5ff3");
        address t;
        assembly ("memory-safe") {
            t := create(0, add(initCode, 0x20), mload(initCode))
        }
        require(t != address(0), "token copy failed");
        token = ModelToken(t);
    }

    function _mint(ModelToken token, address to, uint256 amount) internal {
        vm.prank(minter);
        token.mint(to, amount);
    }
}
