// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ModelToken} from "../ModelToken.sol";
import {RevenueClaimer} from "../RevenueClaimer.sol";
import {IModelToken} from "../interfaces/IModelToken.sol";
import {EconomyBase} from "./economy/EconomyBase.sol";
import {GasMeter} from "./economy/GasMeter.sol";
import {PlainERC20} from "./economy/PlainERC20.sol";

/// @notice Gas of the token's hot paths against the DESIGN targets, as transaction gas (see GasMeter).
contract ModelTokenGasTest is EconomyBase, GasMeter {
    ModelToken internal token;
    PlainERC20 internal plain;
    address internal alice = makeAddr("alice");
    address internal bob = makeAddr("bob");

    function setUp() public {
        _deployRegistry();
        (, token) = _register(_spec(2));
        plain = new PlainERC20();
        _mint(token, alice, 10e18);
        _mint(token, bob, 10e18);
        plain.mint(alice, 10e18);
        plain.mint(bob, 10e18);
        vm.deal(address(this), 10 ether);
        vm.deal(alice, 1 ether);
        token.depositRevenue{value: 1 ether}(); // non-zero accumulator and corrections, as in steady state
    }

    function test_gas_transfer_existingHolder_within130PercentOfPlainERC20() public {
        _compareTransfers(bob, "existing holder");
    }

    function test_gas_transfer_newHolder_within130PercentOfPlainERC20() public {
        _compareTransfers(makeAddr("carol"), "new holder");
    }

    /// @dev DESIGN target: 40k. Floor of any ETH-paying claim with a separate accumulator slot:
    /// 21000 + calldata 432 + value send 9100 + 2 cold reads 4200 + 1 write 2900 + event 1756 = 39.4k; the
    /// ERC-1167 hop adds ~3k (cold implementation). Measured ~45k: guarded here as a regression bound.
    function test_gas_claim_toSelf_withinBound() public {
        (ModelToken t, address a) = (token, alice);
        _warm(address(t));
        _warm(a);
        vm.prank(a);
        uint256 paid = t.claim(a);
        uint256 txGas = _lastTxGas(abi.encodeCall(t.claim, (a)));
        assertGt(paid, 0);
        emit log_named_uint("ModelToken claim, tx gas", txGas);
        emit log_named_uint("ModelToken claim, execution gas (tx - 21000 - calldata)", _lastCallExecGas());
        assertLe(txGas, 46_000, "claim gas regressed");
    }

    function test_gas_depositRevenue() public {
        ModelToken t = token;
        _warm(address(t));
        t.depositRevenue{value: 1 ether}();
        uint256 txGas = _lastTxGas(abi.encodeCall(t.depositRevenue, ()));
        emit log_named_uint("ModelToken depositRevenue, tx gas", txGas);
    }

    function test_gas_claimAll_threeTokens() public {
        RevenueClaimer claimer = new RevenueClaimer();
        IModelToken[] memory tokens = new IModelToken[](3);
        tokens[0] = token;
        for (uint256 i = 1; i < 3; ++i) {
            (, ModelToken t) = _register(_spec(1));
            _mint(t, alice, 1e18);
            t.depositRevenue{value: 1 ether}();
            tokens[i] = t;
        }
        _warm(address(claimer));
        _warm(alice);
        vm.prank(alice);
        uint256 paid = claimer.claimAll(tokens);
        uint256 txGas = _lastTxGas(abi.encodeCall(claimer.claimAll, (tokens)));
        emit log_named_uint("RevenueClaimer.claimAll over 3 tokens, tx gas", txGas);
        assertGt(paid, 2 ether);
    }

    function _compareTransfers(address to, string memory label) private {
        (ModelToken t, PlainERC20 p, address from) = (token, plain, alice);
        _warm(address(t));
        _warm(address(p));
        _warm(from);
        bytes memory data = abi.encodeCall(t.transfer, (to, 1e18));
        vm.prank(from);
        t.transfer(to, 1e18);
        (uint256 ours, uint256 oursExec) = (_lastTxGas(data), _lastCallExecGas());
        vm.prank(from);
        p.transfer(to, 1e18);
        (uint256 base, uint256 baseExec) = (_lastTxGas(data), _lastCallExecGas());
        emit log_named_string("transfer to", label);
        emit log_named_uint("ModelToken transfer, tx gas", ours);
        emit log_named_uint("OZ ERC20 transfer, tx gas", base);
        emit log_named_uint("ratio x1000", ours * 1000 / base);
        emit log_named_uint("execution-only ratio x1000", oursExec * 1000 / baseExec);
        assertLe(ours * 100, base * 130, "transfer above 1.3x OZ");
    }
}
