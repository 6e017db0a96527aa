// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IModelToken} from "../interfaces/IModelToken.sol";
import {ModelToken} from "../ModelToken.sol";
import {RevenueClaimer} from "../RevenueClaimer.sol";
import {EconomyBase} from "./economy/EconomyBase.sol";

contract RevenueClaimerTest is EconomyBase {
    RevenueClaimer internal claimer;
    IModelToken[] internal tokens;
    address internal alice = makeAddr("alice");
    address internal bob = makeAddr("bob");

    function setUp() public {
        _deployRegistry();
        claimer = new RevenueClaimer();
        vm.deal(address(this), 100 ether);
        for (uint256 i; i < 3; ++i) {
            (, ModelToken t) = _register(_spec(1));
            // power-of-two supplies keep the shares exact, so amounts can be compared to the wei
            _mint(t, alice, 2 ** 60);
            _mint(t, bob, 2 ** 60);
            t.depositRevenue{value: (i + 1) * 1 ether}();
            tokens.push(t);
        }
    }

    function test_claimAll_paysCallerAcrossTokens() public {
        vm.prank(alice);
        uint256 paid = claimer.claimAll(tokens);
        assertEq(paid, 3 ether); // (1 + 2 + 3) / 2
        assertEq(alice.balance, 3 ether);
        for (uint256 i; i < 3; ++i) {
            assertEq(tokens[i].claimable(alice), 0);
            assertEq(tokens[i].claimable(bob), (i + 1) * 0.5 ether);
        }
        assertEq(address(claimer).balance, 0);
    }

    function test_claimAll_skipsTokensWithNothing_andSecondCallPaysZero() public {
        vm.startPrank(alice);
        tokens[1].claim(alice);
        assertEq(claimer.claimAll(tokens), 2 ether);
        assertEq(claimer.claimAll(tokens), 0);
        vm.stopPrank();
        assertEq(alice.balance, 3 ether);
    }

    function test_claimAll_emptyList_paysNothing() public {
        IModelToken[] memory none;
        vm.prank(alice);
        assertEq(claimer.claimAll(none), 0);
    }

    function test_claimAll_nonHolder_paysNothing() public {
        address stranger = makeAddr("stranger");
        vm.prank(stranger);
        assertEq(claimer.claimAll(tokens), 0);
        assertEq(stranger.balance, 0);
    }

    function test_claimableAll_matchesPerToken() public view {
        (uint256[] memory amounts, uint256 total) = claimer.claimableAll(bob, tokens);
        assertEq(amounts.length, 3);
        for (uint256 i; i < 3; ++i) {
            assertEq(amounts[i], tokens[i].claimable(bob));
        }
        assertEq(total, 3 ether);
    }
}
