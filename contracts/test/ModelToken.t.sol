// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IModelToken} from "../interfaces/IModelToken.sol";
import {IModelTokenErrors} from "../interfaces/IModelTokenErrors.sol";
import {ModelToken} from "../ModelToken.sol";
import {EconomyBase} from "./economy/EconomyBase.sol";
import {EtherRejecter, ReentrantClaimer} from "./economy/ReentrantClaimer.sol";

contract ModelTokenTest is EconomyBase {
    ModelToken internal token;
    address internal alice = makeAddr("alice");
    address internal bob = makeAddr("bob");
    address internal carol = makeAddr("carol");

    function setUp() public {
        _deployRegistry();
        (, token) = _register(_spec(2));
        vm.deal(address(this), 1_000_000 ether);
    }

    // ------------------------------------------------------------ initialization

    function test_initialize_implementationIsLocked() public {
        vm.expectRevert(IModelTokenErrors.ModelTokenAlreadyInitialized.selector);
        tokenImpl.initialize("X", "X", minter, 1e18);
    }

    function test_initialize_zeroMinter_reverts() public {
        ModelToken t = _freshToken();
        vm.expectRevert(IModelTokenErrors.ModelTokenZeroMinter.selector);
        t.initialize("X", "X", address(0), 1e18);
    }

    function test_initialize_badCap_reverts() public {
        ModelToken t = _freshToken();
        vm.expectRevert(abi.encodeWithSelector(IModelTokenErrors.ModelTokenInvalidCap.selector, 0));
        t.initialize("X", "X", minter, 0);
        uint256 tooBig = uint256(type(uint96).max) + 1;
        vm.expectRevert(abi.encodeWithSelector(IModelTokenErrors.ModelTokenInvalidCap.selector, tooBig));
        t.initialize("X", "X", minter, tooBig);
    }

    function test_initialize_onceAndEmits() public {
        ModelToken t = _freshToken();
        vm.expectEmit(address(t));
        emit IModelToken.ModelTokenInitialized("Name", "SYM", minter, 5e18);
        t.initialize("Name", "SYM", minter, 5e18);
        assertEq(t.name(), "Name");
        assertEq(t.cap(), 5e18);
        vm.expectRevert(IModelTokenErrors.ModelTokenAlreadyInitialized.selector);
        t.initialize("Name", "SYM", minter, 5e18);
    }

    // ------------------------------------------------------------ minting

    function test_mint_byMinter_increasesSupplyAndEmits() public {
        vm.expectEmit(address(token));
        emit IERC20.Transfer(address(0), alice, 10e18);
        _mint(token, alice, 10e18);
        assertEq(token.balanceOf(alice), 10e18);
        assertEq(token.totalSupply(), 10e18);
    }

    function test_mint_byOther_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IModelTokenErrors.ModelTokenUnauthorizedMinter.selector, alice));
        vm.prank(alice);
        token.mint(alice, 1);
    }

    function test_mint_pastCap_reverts() public {
        _mint(token, alice, token.cap() - 1);
        vm.expectRevert(
            abi.encodeWithSelector(IModelTokenErrors.ModelTokenCapExceeded.selector, token.cap() + 1, token.cap())
        );
        _mint(token, bob, 2);
        _mint(token, bob, 1);
        assertEq(token.totalSupply(), token.cap());
    }

    function test_mint_toZero_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InvalidReceiver.selector, address(0)));
        _mint(token, address(0), 1);
    }

    function test_mint_zeroAmount_isNoop() public {
        _mint(token, alice, 0);
        assertEq(token.totalSupply(), 0);
    }

    // ------------------------------------------------------------ ERC-20

    function test_transfer_movesBalance() public {
        _mint(token, alice, 10e18);
        vm.expectEmit(address(token));
        emit IERC20.Transfer(alice, bob, 4e18);
        vm.prank(alice);
        assertTrue(token.transfer(bob, 4e18));
        assertEq(token.balanceOf(alice), 6e18);
        assertEq(token.balanceOf(bob), 4e18);
        assertEq(token.totalSupply(), 10e18);
    }

    function test_transfer_insufficientBalance_reverts() public {
        _mint(token, alice, 1e18);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, alice, 1e18, 1e18 + 1));
        vm.prank(alice);
        token.transfer(bob, 1e18 + 1);
    }

    function test_transfer_toZero_reverts() public {
        _mint(token, alice, 1e18);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InvalidReceiver.selector, address(0)));
        vm.prank(alice);
        token.transfer(address(0), 1);
    }

    function test_transfer_toSelf_keepsBalanceAndRevenue() public {
        _mint(token, alice, 10e18);
        token.depositRevenue{value: 1 ether}();
        uint256 before = token.claimable(alice);
        vm.prank(alice);
        token.transfer(alice, 7e18);
        assertEq(token.balanceOf(alice), 10e18);
        assertEq(token.claimable(alice), before);
    }

    /// @dev Issue 11 finding 4: tokens held by the token contract would earn revenue nobody can claim.
    function test_transfer_toTokenContract_reverts() public {
        _mint(token, alice, 10e18);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InvalidReceiver.selector, address(token)));
        vm.prank(alice);
        token.transfer(address(token), 1);
        vm.prank(alice);
        token.approve(bob, 1e18);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InvalidReceiver.selector, address(token)));
        vm.prank(bob);
        token.transferFrom(alice, address(token), 1);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InvalidReceiver.selector, address(token)));
        _mint(token, address(token), 1);
        assertEq(token.balanceOf(address(token)), 0);
    }

    /// @dev With no way in, every wei deposited is claimable by the holders (up to the carried remainder).
    function testFuzz_transfer_toTokenContract_neverStrandsRevenue(uint96 amount, uint96 revenueWei) public {
        amount = uint96(bound(amount, 1, 10e18));
        revenueWei = uint96(bound(revenueWei, 1, 1000 ether));
        _mint(token, alice, 10e18);
        vm.prank(alice);
        try token.transfer(address(token), amount) {
            fail();
        } catch {}
        token.depositRevenue{value: revenueWei}();
        assertEq(token.balanceOf(address(token)), 0);
        uint256 accounted = token.claimable(alice) + token.undistributedRevenue();
        assertLe(accounted, revenueWei);
        assertGe(accounted + 1, revenueWei, "more than rounding is stranded");
    }

    function test_approveAndTransferFrom_spendsAllowance() public {
        _mint(token, alice, 10e18);
        vm.expectEmit(address(token));
        emit IERC20.Approval(alice, bob, 5e18);
        vm.prank(alice);
        token.approve(bob, 5e18);
        vm.prank(bob);
        token.transferFrom(alice, carol, 3e18);
        assertEq(token.allowance(alice, bob), 2e18);
        assertEq(token.balanceOf(carol), 3e18);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, bob, 2e18, 3e18));
        vm.prank(bob);
        token.transferFrom(alice, carol, 3e18);
    }

    function test_transferFrom_infiniteAllowance_notDecreased() public {
        _mint(token, alice, 10e18);
        vm.prank(alice);
        token.approve(bob, type(uint256).max);
        vm.prank(bob);
        token.transferFrom(alice, carol, 3e18);
        assertEq(token.allowance(alice, bob), type(uint256).max);
    }

    function test_transferFrom_zeroAddresses_revert() public {
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InvalidSender.selector, address(0)));
        token.transferFrom(address(0), bob, 0);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InvalidReceiver.selector, address(0)));
        token.transferFrom(alice, address(0), 0);
    }

    function test_approve_zeroSpender_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InvalidSpender.selector, address(0)));
        token.approve(address(0), 1);
    }

    // ------------------------------------------------------------ revenue

    function test_depositRevenue_zero_reverts() public {
        vm.expectRevert(IModelTokenErrors.ModelTokenZeroDeposit.selector);
        token.depositRevenue();
    }

    function test_depositRevenue_splitsProRata() public {
        _mint(token, alice, 30e18);
        _mint(token, bob, 10e18);
        vm.expectEmit(address(token));
        emit IModelToken.RevenueDeposited(address(this), 4 ether);
        token.depositRevenue{value: 4 ether}();
        _assertShare(token.claimable(alice), 3 ether, 40e18);
        _assertShare(token.claimable(bob), 1 ether, 40e18);
        assertEq(token.claimable(carol), 0);
        // what rounding withheld is carried, not lost
        assertEq(token.claimable(alice) + token.claimable(bob) + token.undistributedRevenue() + 1, 4 ether);
    }

    function test_depositRevenue_atZeroSupply_heldUntilFirstMint() public {
        token.depositRevenue{value: 2 ether}();
        assertEq(token.undistributedRevenue(), 2 ether);
        assertEq(token.revenuePerShareMagnified(), 0);
        _mint(token, alice, 8e18);
        // 2 ether * 2^56 / 8e18 is exact, so everything is credited
        assertEq(token.claimable(alice), 2 ether);
        assertEq(token.undistributedRevenue(), 0);
        // a later holder gets none of it
        _mint(token, bob, 8e18);
        assertEq(token.claimable(bob), 0);
    }

    function test_depositRevenue_belowMinDistributionSupply_heldUntilReached() public {
        uint256 minSupply = token.minDistributionSupply();
        assertEq(minSupply, token.cap() >> 20);
        _mint(token, alice, minSupply / 2);
        token.depositRevenue{value: 1 ether}();
        assertEq(token.claimable(alice), 0);
        assertEq(token.undistributedRevenue(), 1 ether);
        _mint(token, bob, minSupply - minSupply / 2);
        // both holders of the supply that reached the minimum share it
        uint256 a = token.claimable(alice);
        uint256 b = token.claimable(bob);
        _assertShare(a, 0.5 ether, minSupply);
        _assertShare(b, 0.5 ether, minSupply);
        assertGe(a + b + token.undistributedRevenue(), 1 ether - 2);
    }

    function test_depositRevenue_overflowingAccounting_reverts() public {
        uint256 huge = 2 ** 104;
        vm.deal(address(this), huge);
        vm.expectRevert(IModelTokenErrors.ModelTokenRevenueOverflow.selector);
        token.depositRevenue{value: huge}();
    }

    function test_depositRevenue_perShareCap_holdsExcessAndKeepsAccountingSafe() public {
        // smallest cap: any supply distributes; the per-share cap is (2^159-1)/cap
        IModelTokenCap memory c = _tinyCapToken();
        ModelToken t = c.token;
        _mint(t, alice, 1);
        uint256 deposit = 2 ** 90;
        vm.deal(address(this), deposit);
        t.depositRevenue{value: deposit}();
        uint256 maxRps = uint256(uint160(type(int160).max)) / t.cap();
        assertEq(t.revenuePerShareMagnified(), maxRps);
        assertGt(t.undistributedRevenue(), 0);
        // minting the rest of the cap and moving it around stays exact (no int160 overflow)
        uint256 rest = t.cap() - 1;
        _mint(t, bob, rest);
        uint256 aliceBefore = t.claimable(alice);
        vm.prank(bob);
        t.transfer(alice, rest);
        assertEq(t.claimable(alice), aliceBefore);
        assertEq(t.claimable(bob), 0);
        assertLe(t.claimable(alice) + t.undistributedRevenue(), deposit);
        vm.prank(alice);
        t.claim(alice);
        assertEq(alice.balance, aliceBefore);
    }

    struct IModelTokenCap {
        ModelToken token;
    }

    function _tinyCapToken() private returns (IModelTokenCap memory c) {
        c.token = _freshToken();
        c.token.initialize("T", "T", minter, 2 ** 20);
    }

    function test_claim_paysAndEmits() public {
        _mint(token, alice, 1e18);
        token.depositRevenue{value: 1 ether}();
        vm.expectEmit(address(token));
        emit IModelToken.RevenueClaimed(alice, carol, 1 ether);
        vm.prank(alice);
        assertEq(token.claim(carol), 1 ether);
        assertEq(carol.balance, 1 ether);
        assertEq(token.claimable(alice), 0);
        assertEq(address(token).balance, 0);
    }

    function test_claim_nothing_returnsZero() public {
        _mint(token, alice, 1e18);
        vm.prank(alice);
        assertEq(token.claim(alice), 0);
        assertEq(alice.balance, 0);
    }

    function test_claim_twice_paysOnce() public {
        _mint(token, alice, 1e18);
        token.depositRevenue{value: 1 ether}();
        vm.startPrank(alice);
        token.claim(alice);
        assertEq(token.claim(alice), 0);
        vm.stopPrank();
        assertEq(alice.balance, 1 ether);
    }

    function test_claim_toZero_reverts() public {
        vm.expectRevert(IModelTokenErrors.ModelTokenZeroRecipient.selector);
        token.claim(address(0));
    }

    function test_claimFor_paysTheAccountItself() public {
        _mint(token, alice, 1e18);
        token.depositRevenue{value: 1 ether}();
        vm.prank(bob);
        assertEq(token.claimFor(alice), 1 ether);
        assertEq(alice.balance, 1 ether);
        assertEq(bob.balance, 0);
        vm.expectRevert(IModelTokenErrors.ModelTokenZeroRecipient.selector);
        token.claimFor(address(0));
    }

    function test_claim_rejectingRecipient_revertsAndKeepsRevenue() public {
        EtherRejecter rejecter = new EtherRejecter();
        _mint(token, address(rejecter), 1e18);
        token.depositRevenue{value: 1 ether}();
        vm.expectRevert(abi.encodeWithSelector(IModelTokenErrors.ModelTokenTransferFailed.selector, address(rejecter)));
        token.claimFor(address(rejecter));
        assertEq(token.claimable(address(rejecter)), 1 ether);
    }

    function test_claim_reentrantReceiver_isPaidOnceExactly() public {
        ReentrantClaimer attacker = new ReentrantClaimer(token, carol);
        _mint(token, address(attacker), 1e18);
        _mint(token, alice, 1e18);
        token.depositRevenue{value: 2 ether}();
        attacker.claim();
        assertEq(attacker.received(), 1 ether);
        assertEq(attacker.reentrantClaimPaid(), 0);
        assertEq(attacker.accompliceClaimPaid(), 0);
        assertEq(token.balanceOf(carol), 1e18);
        assertEq(address(token).balance, 1 ether);
        assertEq(token.claimable(alice), 1 ether);
        assertEq(token.claimable(carol), 0);
    }

    function test_claim_afterTransfer_keepsAccruedRevenue() public {
        _mint(token, alice, 10e18);
        token.depositRevenue{value: 1 ether}();
        uint256 accrued = token.claimable(alice);
        _assertShare(accrued, 1 ether, 10e18);
        vm.prank(alice);
        token.transfer(bob, 10e18);
        assertEq(token.claimable(alice), accrued);
        assertEq(token.claimable(bob), 0);
        // the sub-wei remainder carried from the first deposit goes with the next one to the holders then
        uint256 carried = token.undistributedRevenue();
        token.depositRevenue{value: 3 ether}();
        assertEq(token.claimable(alice), accrued);
        _assertShare(token.claimable(bob), 3 ether + carried + 1, 10e18 * 2);
        uint256 bobAccrued = token.claimable(bob);
        vm.prank(alice);
        token.claim(alice);
        vm.prank(bob);
        token.claim(bob);
        assertEq(alice.balance, accrued);
        assertEq(bob.balance, bobAccrued);
    }

    function test_claim_thenReceiveTokens_doesNotPayTwice() public {
        _mint(token, alice, 5e18);
        _mint(token, bob, 5e18);
        token.depositRevenue{value: 2 ether}();
        uint256 bobAccrued = token.claimable(bob);
        _assertShare(bobAccrued, 1 ether, 10e18);
        vm.prank(alice);
        token.claim(alice);
        vm.prank(bob);
        token.transfer(alice, 5e18);
        assertEq(token.claimable(alice), 0);
        assertEq(token.claimable(bob), bobAccrued);
    }

    function test_dust_isCarriedForward_neverLost() public {
        ModelToken t = _tinyCapToken().token;
        _mint(t, alice, 1);
        _mint(t, bob, 2);
        // 1 wei over 3 token wei: each part is fractional; nobody is over-paid, the fractions stay
        t.depositRevenue{value: 1}();
        assertEq(t.claimable(alice) + t.claimable(bob), 0);
        t.depositRevenue{value: 1}();
        t.depositRevenue{value: 1}();
        assertEq(t.claimable(alice), 1);
        assertEq(t.claimable(bob), 2);
        assertEq(t.undistributedRevenue(), 0);
    }

    /// @dev A holder's claimable never exceeds its exact share and trails it by at most the carried
    /// remainder's bound `supply / MAGNITUDE` plus one wei of per-account flooring.
    function _assertShare(uint256 actual, uint256 exact, uint256 supply) private view {
        assertLe(actual, exact, "over-paid");
        assertGe(actual + supply / token.MAGNITUDE() + 1, exact, "dust above bound");
    }

    // ------------------------------------------------------------ permit on a copy of the implementation

    bytes32 private constant _DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 private constant _PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

    function test_permit_onCopy_usesTokenAddressInDomain() public {
        bytes32 expected = keccak256(
            abi.encode(
                _DOMAIN_TYPEHASH, keccak256("Shardholder ModelToken"), keccak256("1"), block.chainid, address(token)
            )
        );
        assertEq(token.DOMAIN_SEPARATOR(), expected);
        (, string memory name, string memory version, uint256 chainId, address verifying,,) = token.eip712Domain();
        assertEq(name, "Shardholder ModelToken");
        assertEq(version, "1");
        assertEq(chainId, block.chainid);
        assertEq(verifying, address(token));
    }

    function test_permit_validSignature_setsAllowanceOnce() public {
        (address owner, uint256 key) = makeAddrAndKey("owner");
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(token, key, owner, bob, 7e18, 0, deadline);
        token.permit(owner, bob, 7e18, deadline, v, r, s);
        assertEq(token.allowance(owner, bob), 7e18);
        assertEq(token.nonces(owner), 1);
        // replay: the nonce moved on, so the recovered signer differs
        vm.expectRevert();
        token.permit(owner, bob, 7e18, deadline, v, r, s);
    }

    function test_permit_expired_reverts() public {
        (address owner, uint256 key) = makeAddrAndKey("owner");
        vm.warp(1000);
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(token, key, owner, bob, 1, 0, 999);
        vm.expectRevert(abi.encodeWithSelector(IModelTokenErrors.ERC2612ExpiredSignature.selector, 999));
        token.permit(owner, bob, 1, 999, v, r, s);
    }

    function test_permit_signatureForOtherToken_rejected() public {
        (, ModelToken other) = _register(_spec(1));
        (address owner, uint256 key) = makeAddrAndKey("owner");
        uint256 deadline = block.timestamp + 1;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(other, key, owner, bob, 1, 0, deadline);
        bytes32 digest = keccak256(
            abi.encodePacked(
                "\x19\x01",
                token.DOMAIN_SEPARATOR(),
                keccak256(abi.encode(_PERMIT_TYPEHASH, owner, bob, 1, 0, deadline))
            )
        );
        address wrongSigner = ecrecover(digest, v, r, s);
        vm.expectRevert(abi.encodeWithSelector(IModelTokenErrors.ERC2612InvalidSigner.selector, wrongSigner, owner));
        token.permit(owner, bob, 1, deadline, v, r, s);
        other.permit(owner, bob, 1, deadline, v, r, s);
        assertEq(other.allowance(owner, bob), 1);
    }

    function _signPermit(
        ModelToken t,
        uint256 key,
        address owner,
        address spender,
        uint256 value,
        uint256 nonce,
        uint256 deadline
    ) private view returns (uint8 v, bytes32 r, bytes32 s) {
        bytes32 digest = keccak256(
            abi.encodePacked(
                "\x19\x01",
                t.DOMAIN_SEPARATOR(),
                keccak256(abi.encode(_PERMIT_TYPEHASH, owner, spender, value, nonce, deadline))
            )
        );
        (v, r, s) = vm.sign(key, digest);
    }

    receive() external payable {}
}
