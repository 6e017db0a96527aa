// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ModelToken} from "../ModelToken.sol";
import {IModelToken} from "../interfaces/IModelToken.sol";
import {EconomyBase} from "./economy/EconomyBase.sol";

/// @notice Fuzzed distribution maths: pro-rata shares, rounding bounds, transfers and claims.
contract ModelTokenFuzzTest is EconomyBase {
    ModelToken internal token;
    address internal alice = makeAddr("alice");
    address internal bob = makeAddr("bob");
    address internal carol = makeAddr("carol");

    function setUp() public {
        _deployRegistry();
        (, token) = _register(_spec(1)); // cap 1e24, minimum distribution supply cap >> 20
        vm.deal(address(this), type(uint128).max);
    }

    function testFuzz_deposit_sharesProRataWithinDustBound(uint96 a, uint96 b, uint128 depositWei) public {
        uint256 minSupply = token.minDistributionSupply();
        a = uint96(bound(a, minSupply, token.cap() / 2));
        b = uint96(bound(b, 0, token.cap() / 2));
        depositWei = uint128(bound(depositWei, 1, 1e24)); // 1M ETH: far inside the per-share cap
        _mint(token, alice, a);
        _mint(token, bob, b);
        token.depositRevenue{value: depositWei}();
        uint256 supply = uint256(a) + b;
        uint256 exactA = uint256(depositWei) * a / supply;
        uint256 exactB = uint256(depositWei) * b / supply;
        uint256 bound_ = supply / token.MAGNITUDE() + 1;
        uint256 gotA = token.claimable(alice);
        uint256 gotB = token.claimable(bob);
        assertLe(gotA, exactA + 1, "alice over-paid");
        assertLe(gotB, exactB + 1, "bob over-paid");
        assertGe(gotA + bound_, exactA, "alice short beyond dust bound");
        assertGe(gotB + bound_, exactB, "bob short beyond dust bound");
        assertLe(gotA + gotB + token.undistributedRevenue(), depositWei, "credited more than deposited");
        assertGe(gotA + gotB + token.undistributedRevenue() + 2, depositWei, "revenue lost");
    }

    function testFuzz_transfer_neverMovesAccruedRevenue(
        uint96 a,
        uint96 b,
        uint96 moved,
        uint128 before,
        uint128 afterWei
    ) public {
        a = uint96(bound(a, token.minDistributionSupply(), token.cap() / 2));
        b = uint96(bound(b, 1, token.cap() / 2));
        moved = uint96(bound(moved, 0, a));
        before = uint128(bound(before, 1, 1e27));
        afterWei = uint128(bound(afterWei, 1, 1e27));
        _mint(token, alice, a);
        _mint(token, bob, b);
        token.depositRevenue{value: before}();
        uint256 accruedA = token.claimable(alice);
        uint256 accruedB = token.claimable(bob);
        vm.prank(alice);
        token.transfer(bob, moved);
        assertEq(token.claimable(alice), accruedA, "sender's accrued changed");
        assertEq(token.claimable(bob), accruedB, "recipient's accrued changed");
        // later revenue follows the new balances
        uint256 carried = token.undistributedRevenue();
        token.depositRevenue{value: afterWei}();
        uint256 supply = uint256(a) + b;
        uint256 newA = token.claimable(alice) - accruedA;
        uint256 newB = token.claimable(bob) - accruedB;
        uint256 pot = uint256(afterWei) + carried + 1;
        assertLe(newA, pot * (a - moved) / supply + 1);
        assertLe(newB, pot * (uint256(b) + moved) / supply + 1);
    }

    function testFuzz_claim_paysExactlyClaimable_andNeverMoreThanDeposited(
        uint96 a,
        uint96 b,
        uint128[3] memory deposits
    ) public {
        a = uint96(bound(a, token.minDistributionSupply(), token.cap() / 2));
        b = uint96(bound(b, 1, token.cap() / 2));
        _mint(token, alice, a);
        _mint(token, bob, b);
        uint256 total;
        for (uint256 i; i < 3; ++i) {
            uint256 d = bound(deposits[i], 1, 1e27);
            token.depositRevenue{value: d}();
            total += d;
            uint256 expected = token.claimable(alice);
            vm.prank(alice);
            uint256 paid = token.claim(alice);
            assertEq(paid, expected);
            assertEq(token.claimable(alice), 0);
        }
        vm.prank(bob);
        token.claim(bob);
        assertEq(alice.balance + bob.balance + address(token).balance, total);
        assertLe(address(token).balance, token.undistributedRevenue() + 3, "dust above bound");
    }

    function testFuzz_heldRevenue_creditedToFirstHolders(uint128 depositWei, uint96 a) public {
        depositWei = uint128(bound(depositWei, 1, 1e24)); // 1M ETH: far inside the per-share cap
        a = uint96(bound(a, token.minDistributionSupply(), token.cap()));
        token.depositRevenue{value: depositWei}();
        assertEq(token.undistributedRevenue(), depositWei);
        _mint(token, alice, a);
        uint256 got = token.claimable(alice);
        assertLe(got, depositWei);
        assertGe(got + uint256(a) / token.MAGNITUDE() + 1, depositWei);
    }

    /// @dev The argument-free claim (the assembly hot path) pays exactly what `claimable` showed, to the
    /// caller, once, and leaves the account accruing later revenue as before.
    function testFuzz_claim_noArgument_paysClaimableOnce(uint96 a, uint96 b, uint128 first, uint128 second) public {
        a = uint96(bound(a, token.minDistributionSupply(), token.cap() / 2));
        b = uint96(bound(b, 1, token.cap() / 2));
        first = uint128(bound(first, 1, 1e24));
        second = uint128(bound(second, 1, 1e24));
        _mint(token, alice, a);
        _mint(token, bob, b);
        token.depositRevenue{value: first}();
        uint256 owed = token.claimable(alice);
        uint256 before = alice.balance;
        if (owed != 0) {
            vm.expectEmit(address(token));
            emit IModelToken.RevenueClaimed(alice, alice, owed);
        }
        vm.prank(alice);
        assertEq(token.claim(), owed);
        assertEq(alice.balance, before + owed);
        assertEq(token.claimable(alice), 0);
        vm.prank(alice);
        assertEq(token.claim(), 0, "second claim pays nothing");
        token.depositRevenue{value: second}();
        uint256 bobOwed = token.claimable(bob);
        uint256 expected = uint256(second) * a / (uint256(a) + b);
        // on top of its share: its own sub-wei fraction and its share of the remainder carried from deposit 1
        assertLe(token.claimable(alice), expected + (uint256(a) + b) / token.MAGNITUDE() + 2, "over-paid after a claim");
        assertGe(token.claimable(alice) + (uint256(a) + b) / token.MAGNITUDE() + 2, expected, "short after a claim");
        vm.prank(bob);
        assertEq(token.claim(bob), bobOwed, "claim(to) and claim() agree");
    }
}
