// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ModelToken} from "../ModelToken.sol";
import {EconomyBase} from "./economy/EconomyBase.sol";
import {CommonBase} from "forge-std/Base.sol";
import {StdCheats} from "forge-std/StdCheats.sol";
import {StdUtils} from "forge-std/StdUtils.sol";
import {IModelToken} from "../interfaces/IModelToken.sol";
import {RevenueClaimer} from "../RevenueClaimer.sol";

/// @title Drives random mints, deposits, transfers and claims across several model tokens and actors
/// @dev Ghosts: per token, wei deposited and claimed; and a flag raised if any transfer changed an
/// account's accrued revenue (invariant 5, docs/PROTOCOL.md "Invariants") or any mint lowered one.
contract TokenHandler is CommonBase, StdCheats, StdUtils {
    ModelToken[] public tokens;
    address[] public actors;
    address public immutable minter;
    RevenueClaimer public immutable claimer;

    mapping(address token => uint256) public depositedWei;
    mapping(address token => uint256) public claimedWei;
    bool public accruedChangedByTransfer;
    bool public accruedLoweredByMint;
    uint256 public transfers;

    constructor(ModelToken[] memory tokens_, address[] memory actors_, address minter_) {
        tokens = tokens_;
        actors = actors_;
        minter = minter_;
        claimer = new RevenueClaimer();
    }

    function tokenCount() external view returns (uint256) {
        return tokens.length;
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function mint(uint256 tokenSeed, uint256 actorSeed, uint256 amount) external {
        ModelToken t = _token(tokenSeed);
        address to = _actor(actorSeed);
        uint256 room = t.cap() - t.totalSupply();
        if (room == 0) return;
        amount = bound(amount, 0, room < 1e24 ? room : 1e24);
        uint256[] memory before = _claimables(t);
        vm.prank(minter);
        t.mint(to, amount);
        uint256[] memory afterMint = _claimables(t);
        for (uint256 i; i < actors.length; ++i) {
            if (afterMint[i] < before[i]) accruedLoweredByMint = true;
        }
    }

    function deposit(uint256 tokenSeed, uint256 amountWei) external {
        ModelToken t = _token(tokenSeed);
        amountWei = bound(amountWei, 1, 1000 ether);
        vm.deal(address(this), amountWei);
        t.depositRevenue{value: amountWei}();
        depositedWei[address(t)] += amountWei;
    }

    function transfer(uint256 tokenSeed, uint256 fromSeed, uint256 toSeed, uint256 amount) external {
        ModelToken t = _token(tokenSeed);
        address from = _actor(fromSeed);
        address to = _actor(toSeed);
        amount = bound(amount, 0, t.balanceOf(from));
        uint256[] memory before = _claimables(t);
        vm.prank(from);
        t.transfer(to, amount);
        uint256[] memory afterTransfer = _claimables(t);
        for (uint256 i; i < actors.length; ++i) {
            if (afterTransfer[i] != before[i]) accruedChangedByTransfer = true;
        }
        ++transfers;
    }

    function claim(uint256 tokenSeed, uint256 actorSeed) external {
        ModelToken t = _token(tokenSeed);
        address who = _actor(actorSeed);
        vm.prank(who);
        claimedWei[address(t)] += t.claim(who);
    }

    function claimAll(uint256 actorSeed) external {
        address who = _actor(actorSeed);
        IModelToken[] memory list = new IModelToken[](tokens.length);
        for (uint256 i; i < tokens.length; ++i) {
            list[i] = tokens[i];
            claimedWei[address(tokens[i])] += tokens[i].claimable(who);
        }
        vm.prank(who);
        claimer.claimAll(list);
    }

    function _claimables(ModelToken t) private view returns (uint256[] memory amounts) {
        amounts = new uint256[](actors.length);
        for (uint256 i; i < actors.length; ++i) {
            amounts[i] = t.claimable(actors[i]);
        }
    }

    function _token(uint256 seed) private view returns (ModelToken) {
        return tokens[seed % tokens.length];
    }

    function _actor(uint256 seed) private view returns (address) {
        return actors[seed % actors.length];
    }
}

/// @notice Invariants 1 and 5 (docs/PROTOCOL.md) under random mints, deposits, transfers and (batch) claims over
/// three tokens: a registered one (cap 1e24, revenue held below cap >> 20), another registered one, and a
/// tiny-cap token where every supply distributes and rounding dust is at its relative worst.
contract ModelTokenInvariantTest is EconomyBase {
    TokenHandler internal handler;
    ModelToken[] internal tokens;
    address[] internal actors;

    function setUp() public {
        _deployRegistry();
        (, ModelToken a) = _register(_spec(2));
        (, ModelToken b) = _register(_spec(3));
        ModelToken tiny = _freshToken();
        tiny.initialize("Tiny", "TNY", minter, 1000);
        tokens.push(a);
        tokens.push(b);
        tokens.push(tiny);
        for (uint256 i; i < 4; ++i) {
            actors.push(makeAddr(string(abi.encodePacked("actor", vm.toString(i)))));
        }
        handler = new TokenHandler(tokens, actors, minter);
        targetContract(address(handler));
    }

    /// @dev 1: per token, deposited == claimed + claimable + held undistributed + dust, with
    /// 0 <= dust <= one wei per account plus one (each floor loses under a wei; nothing is over-paid).
    function invariant_revenueConserved() public view {
        for (uint256 i; i < tokens.length; ++i) {
            ModelToken t = tokens[i];
            uint256 deposited = handler.depositedWei(address(t));
            uint256 claimed = handler.claimedWei(address(t));
            assertEq(address(t).balance, deposited - claimed, "ETH held != deposited - claimed");
            uint256 owed = t.undistributedRevenue();
            for (uint256 a; a < actors.length; ++a) {
                owed += t.claimable(actors[a]);
            }
            assertLe(owed, address(t).balance, "owes more than it holds");
            assertLe(address(t).balance - owed, actors.length + 1, "dust above bound");
        }
    }

    /// @dev 5: no transfer changed any account's accrued revenue; no mint lowered any.
    function invariant_transfersNeverChangeAccruedRevenue() public view {
        assertFalse(handler.accruedChangedByTransfer(), "a transfer moved accrued revenue");
        assertFalse(handler.accruedLoweredByMint(), "a mint lowered accrued revenue");
    }

    /// @dev Supply never exceeds the cap and equals the sum of balances.
    function invariant_supplyWithinCap() public view {
        for (uint256 i; i < tokens.length; ++i) {
            ModelToken t = tokens[i];
            uint256 sum;
            for (uint256 a; a < actors.length; ++a) {
                sum += t.balanceOf(actors[a]);
            }
            assertEq(sum, t.totalSupply());
            assertLe(t.totalSupply(), t.cap());
        }
    }
}
