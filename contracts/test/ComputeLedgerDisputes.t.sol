// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Vm} from "forge-std/Vm.sol";
import {console} from "forge-std/console.sol";
import {LedgerTestBase} from "./ledger/LedgerTestBase.sol";

/// @dev The verification game of issue 11: bonded challenges, committees drawn later from a block
/// hash, stake-weighted seats, seat-weighted votes, appeals, voter rewards and penalties, one slash
/// per commitment, data availability and the sealed attestation seed.
contract ComputeLedgerDisputesTest is LedgerTestBase {
    address internal constant DEAD = address(0xdEaD);
    uint32 internal constant BAD_INDEX = 2;
    uint256 internal constant PENALTY_PER_SEAT = MIN_VALIDATOR_STAKE / 10; // VOTE_PENALTY_BPS of the bond

    Commitment internal upC; // worker 0, stage 0, leaf BAD_INDEX forged (output does not chain)
    Commitment internal downC; // worker 1, stage 1, honest
    Commitment internal sideC; // worker 2, stage 0, honest
    ItemLeaf[] internal upLeaves;
    bytes32[] internal upHashes;
    ItemLeaf[] internal downLeaves;
    bytes32[] internal downHashes;
    address internal challenger;
    uint256 internal bond;
    /// stakers created by a test besides the base workers and validators (kept in the books)
    address[] internal extraStakers;

    function setUp() public override {
        super.setUp();
        challenger = validators[0];
        bond = ledger.challengeBondWei(modelId);
        _warpToCommit(modelId, 0);
        // one pipeline: every leaf of worker 0 (stage 0) names worker 1 downstream and back
        ItemLeaf memory forged = _linked(_leaf(0, BAD_INDEX, keccak256("forged")), modelId, 0, 0);
        (ItemLeaf[] memory ul, bytes32[] memory uh) = _linkedItems(modelId, 0, 0, true, BAD_INDEX, forged);
        ItemLeaf memory none;
        (ItemLeaf[] memory dl, bytes32[] memory dh) = _linkedItems(modelId, 1, 1, false, 0, none);
        for (uint256 i; i < 4; ++i) {
            upLeaves.push(ul[i]);
            upHashes.push(uh[i]);
            downLeaves.push(dl[i]);
            downHashes.push(dh[i]);
        }
        (bytes32 upRoot,) = _tree(uh, 0);
        (bytes32 downRoot,) = _tree(dh, 0);
        upC = _commitment(modelId, 0, 0, 0, upRoot, 4);
        downC = _commitment(modelId, 0, 1, 1, downRoot, 4);
        _submit(upC, _sign(signingKeys[0], upC));
        _submit(downC, _sign(signingKeys[1], downC));
        sideC = _commit(modelId, 0, 0, 2); // an honest bystander on stage 0
        _warpToChallenge(modelId, 0);
    }

    // ---------------------------------------------------------------- helpers

    function _upItem(uint32 index) internal view returns (CommittedItem memory) {
        return _committedItem(upC, upLeaves, upHashes, index);
    }

    function _downItem(uint32 index) internal view returns (CommittedItem memory) {
        return _committedItem(downC, downLeaves, downHashes, index);
    }

    function _side(uint32 index) internal view returns (CommittedItem memory) {
        ItemLeaf memory none;
        (ItemLeaf[] memory l, bytes32[] memory h) = _items(0, false, 0, none);
        return _committedItem(sideC, l, h, index);
    }

    function _challengeBad() internal returns (uint256 id) {
        vm.prank(challenger);
        id = ledger.challengeItem{value: bond}(_upItem(BAD_INDEX));
    }

    function _challengeUp(uint32 index) internal returns (uint256 id) {
        vm.prank(challenger);
        id = ledger.challengeItem{value: bond}(_upItem(index));
    }

    function _payments(address a) internal view returns (uint256) {
        return ledger.paymentsOf(a);
    }

    function _panel(uint256 id) internal view returns (PanelSeat[] memory) {
        return ledger.panel(id, ledger.dispute(id).level);
    }

    function _seatsOf(PanelSeat[] memory p, address a) internal pure returns (uint256) {
        for (uint256 i; i < p.length; ++i) {
            if (p[i].member == a) return p[i].seats;
        }
        return 0;
    }

    function _seatTotal(PanelSeat[] memory p) internal pure returns (uint256 total) {
        for (uint256 i; i < p.length; ++i) total += p[i].seats;
    }

    /// @dev Appeals the current level (after its vote is over) and draws the next committee.
    function _appealAndDraw(uint256 id, address appellant, bool fraud) internal {
        uint256 appealBond = ledger.appealBondWei(id);
        vm.deal(appellant, appellant.balance + appealBond);
        vm.prank(appellant);
        ledger.appeal{value: appealBond}(id, fraud);
        _draw(id);
    }

    function _allStakers() internal view returns (address[] memory all) {
        all = new address[](workers.length + validators.length + extraStakers.length);
        uint256 k;
        for (uint256 i; i < workers.length; ++i) all[k++] = workers[i];
        for (uint256 i; i < validators.length; ++i) all[k++] = validators[i];
        for (uint256 i; i < extraStakers.length; ++i) all[k++] = extraStakers[i];
    }

    struct Books {
        uint256 stakes;
        uint256 payments;
        uint256 burned;
        uint256 balance;
    }

    function _books() internal view returns (Books memory b) {
        address[] memory all = _allStakers();
        for (uint256 i; i < all.length; ++i) {
            b.stakes += ledger.staker(all[i]).stakeWei;
            b.payments += ledger.paymentsOf(all[i]);
        }
        b.burned = DEAD.balance;
        b.balance = address(ledger).balance;
    }

    /// @dev Bonds of open disputes (challenge + appeals) and open availability challenges.
    function _openBonds() internal view returns (uint256 owed) {
        uint256 n = ledger.disputeCount();
        for (uint256 id = 1; id <= n; ++id) {
            Dispute memory d = ledger.dispute(id);
            if (d.status != DisputeStatus.Open) continue;
            owed += d.bondWei;
            for (uint8 l = 1; l <= d.level; ++l) owed += ledger.appealOf(id, l).bondWei;
        }
        n = ledger.availabilityChallengeCount();
        for (uint256 id = 1; id <= n; ++id) {
            AvailabilityChallenge memory a = ledger.availabilityChallenge(id);
            if (a.status == 1) owed += a.bondWei;
        }
    }

    /// @dev Everything credited + burned == bonds paid in + stake taken (slashes and penalties), to
    /// the wei, and the ledger holds exactly stakes + credits + open bonds.
    function _assertConserved(Books memory before, uint256 bondsInWei) internal view {
        Books memory a = _books();
        assertEq(
            (a.payments - before.payments) + (a.burned - before.burned),
            bondsInWei + (before.stakes - a.stakes),
            "credited + burned != bonds in + stake taken"
        );
        assertEq(a.balance, a.stakes + a.payments + _openBonds(), "ledger balance != stakes + credits + open bonds");
    }

    // ---------------------------------------------------------------- challenge opens, committee comes later

    function test_challengeItem_opensDisputeWithoutCommittee() public {
        uint256 id = _challengeBad();
        Dispute memory d = ledger.dispute(id);
        assertEq(uint8(d.status), uint8(DisputeStatus.Open));
        assertEq(uint8(d.kind), uint8(DisputeKind.Item));
        assertEq(d.accused, workers[0]);
        assertEq(d.challenger, challenger);
        assertEq(d.bondWei, bond);
        assertEq(d.index, BAD_INDEX);
        assertEq(d.drawBlock, block.number);
        assertEq(d.voteDeadline, 0);
        assertEq(d.seats, 0);
        assertEq(d.level, 0);
        assertEq(ledger.panel(id, 0).length, 0);
        assertEq(ledger.openDisputeOfItem(modelId, 0, 0, workers[0], BAD_INDEX), id);
        assertEq(ledger.roundState(modelId, 0).openDisputes, 1);
        assertEq(ledger.staker(workers[0]).openDisputes, 1);
        assertEq(address(ledger).balance, 4 * 2 ether + 5 * 1 ether + bond);
    }

    function test_committee_notKnownAtChallengeTime() public {
        vm.recordLogs();
        uint256 id = _challengeBad();
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            assertTrue(logs[i].topics[0] != CommitteeDrawn.selector, "committee drawn with the challenge");
        }
        // nobody can draw it in the block that locked the bond
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerDrawNotReady.selector, id, block.number));
        ledger.drawCommittee(id);
        // nor vote
        vm.prank(validators[1]);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerCommitteeNotDrawn.selector, id));
        ledger.vote(id, true);
        // a later block fixes it
        vm.roll(block.number + 1);
        vm.recordLogs();
        ledger.drawCommittee(id);
        logs = vm.getRecordedLogs();
        bool drawn;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].topics[0] == CommitteeDrawn.selector) drawn = true;
        }
        assertTrue(drawn);
        Dispute memory d = ledger.dispute(id);
        assertEq(d.seats, 5);
        assertEq(d.voteDeadline, block.timestamp + VOTE_SEC);
        assertEq(_seatTotal(ledger.panel(id, 0)), 5);
    }

    function test_drawCommittee_isDeterministicAndCannotBeRerolled() public {
        uint256 id = _challengeBad();
        uint256 drawBlock = block.number;
        uint256 snap = vm.snapshotState();
        vm.roll(drawBlock + 1);
        ledger.drawCommittee(id);
        PanelSeat[] memory first = ledger.panel(id, 0);
        // the same call again cannot re-roll
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerCommitteeAlreadyDrawn.selector, id));
        ledger.drawCommittee(id);
        vm.roll(block.number + 10);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerCommitteeAlreadyDrawn.selector, id));
        ledger.drawCommittee(id);

        // another caller, 100 blocks later: the same committee (a pure function of the draw block's hash)
        vm.revertToState(snap);
        vm.roll(drawBlock + 100);
        vm.prank(makeAddr("someone else"));
        ledger.drawCommittee(id);
        PanelSeat[] memory second = ledger.panel(id, 0);
        assertEq(second.length, first.length);
        for (uint256 i; i < first.length; ++i) {
            assertEq(second[i].member, first[i].member);
            assertEq(second[i].seats, first[i].seats);
        }
    }

    function test_drawCommittee_after256Blocks_deferredToANewBlock() public {
        uint256 id = _challengeBad();
        vm.roll(block.number + 257);
        vm.expectEmit(address(ledger));
        emit CommitteeDrawDeferred(id, 0, block.number);
        ledger.drawCommittee(id);
        Dispute memory d = ledger.dispute(id);
        assertEq(d.drawBlock, block.number);
        assertEq(d.voteDeadline, 0);
        assertEq(ledger.panel(id, 0).length, 0);
        // the new block is as unknown as the first was
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerDrawNotReady.selector, id, block.number));
        ledger.drawCommittee(id);
        _draw(id);
        assertEq(ledger.dispute(id).seats, 5);
    }

    function test_drawCommittee_unknownOrResolvedDispute_reverts() public {
        vm.expectRevert(ComputeLedgerDisputeNotOpen.selector);
        ledger.drawCommittee(42);
        uint256 id = _challengeBad();
        _decide(id, true);
        vm.expectRevert(ComputeLedgerDisputeNotOpen.selector);
        ledger.drawCommittee(id);
    }

    // ---------------------------------------------------------------- stake-weighted seats

    /// @dev Validators 1..4 top up by fuzzed amounts; over 4 disputes taken to the 61-seat level
    /// (340 seats) each one's seat share stays within 5 standard deviations (+1%) of its stake share
    /// among the eligible non-parties (the challenger, validator 0, is never seated).
    /// hardhat-config: fuzz.runs = 24
    function testFuzz_draw_seatShareTracksStakeShare(uint64[4] memory extraStake, uint32 startBlock) public {
        vm.roll(bound(startBlock, 300, 1e8));
        uint256[4] memory stakes;
        for (uint256 i; i < 4; ++i) {
            uint256 extra = bound(extraStake[i], 0, 20 ether);
            address v = validators[i + 1];
            vm.deal(v, v.balance + extra);
            vm.prank(v);
            ledger.stake{value: extra}(v, v);
            stakes[i] = 1 ether + extra;
            assertEq(ledger.validatorWeight(v), stakes[i]);
        }
        assertEq(ledger.totalValidatorWeight(modelId, VALIDATOR_STAGE), stakes[0] + stakes[1] + stakes[2] + stakes[3] + 1 ether);
        // all challenges inside the challenge window, then every level of every dispute
        uint256[4] memory ids;
        for (uint32 k; k < 4; ++k) ids[k] = _challengeUp(k);
        uint256[4] memory seatCount;
        for (uint8 level; level <= 2; ++level) {
            vm.roll(block.number + 1);
            for (uint256 k; k < 4; ++k) {
                ledger.drawCommittee(ids[k]);
                assertEq(ledger.dispute(ids[k]).seats, ledger.committeeSeats(level));
                _countSeats(ledger.panel(ids[k], level), seatCount);
            }
            // nobody votes: each level's verdict (a dismissal) is appealable once its deadline passed
            vm.warp(block.timestamp + VOTE_SEC + 1);
            if (level < 2) {
                for (uint256 k; k < 4; ++k) {
                    uint256 appealBond = ledger.appealBondWei(ids[k]);
                    vm.deal(workers[3], appealBond);
                    vm.prank(workers[3]);
                    ledger.appeal{value: appealBond}(ids[k], level == 0);
                }
            }
        }
        _assertShares(stakes, seatCount, 4 * (5 + 19 + 61));
    }

    function _countSeats(PanelSeat[] memory p, uint256[4] memory seatCount) internal view {
        for (uint256 j; j < p.length; ++j) {
            assertTrue(p[j].member != challenger && p[j].member != workers[0], "party seated");
            bool known;
            for (uint256 i; i < 4; ++i) {
                if (p[j].member == validators[i + 1]) {
                    seatCount[i] += p[j].seats;
                    known = true;
                }
            }
            assertTrue(known, "seat to a non-validator");
        }
    }

    function _assertShares(uint256[4] memory stakes, uint256[4] memory seatCount, uint256 totalSeats) internal pure {
        uint256 eligible = stakes[0] + stakes[1] + stakes[2] + stakes[3];
        uint256 counted = seatCount[0] + seatCount[1] + seatCount[2] + seatCount[3];
        assertEq(counted, totalSeats);
        for (uint256 i; i < 4; ++i) {
            uint256 expectedBps = stakes[i] * 10_000 / eligible;
            uint256 gotBps = seatCount[i] * 10_000 / totalSeats;
            uint256 sigmaBps = _sqrt(expectedBps * (10_000 - expectedBps) / totalSeats);
            assertApproxEqAbs(gotBps, expectedBps, 5 * sigmaBps + 100, "seat share off its stake share");
        }
    }

    function _sqrt(uint256 x) internal pure returns (uint256 y) {
        if (x == 0) return 0;
        y = x;
        uint256 z = (x + 1) / 2;
        while (z < y) {
            y = z;
            z = (x / z + z) / 2;
        }
    }

    function test_draw_floodOfEmptyValidators_neverDrawn_neverBlocksChallenge() public {
        uint256 countBefore = ledger.validatorCount(modelId, VALIDATOR_STAGE);
        uint256 weightBefore = ledger.totalValidatorWeight(modelId, VALIDATOR_STAGE);
        for (uint256 i; i < 3000; ++i) {
            address a = address(uint160(0x5EED0000 + i));
            vm.startPrank(a);
            ledger.stake(a, a); // no stake, only addresses
            ledger.setValidator(modelId, VALIDATOR_STAGE, true);
            vm.stopPrank();
        }
        assertEq(ledger.validatorCount(modelId, VALIDATOR_STAGE), countBefore + 3000);
        assertEq(ledger.totalValidatorWeight(modelId, VALIDATOR_STAGE), weightBefore);
        uint256 id = _challengeBad();
        vm.roll(block.number + 1);
        uint256 gasBefore = gasleft();
        ledger.drawCommittee(id);
        uint256 drawGas = gasBefore - gasleft();
        console.log("drawCommittee, 5 seats, 3005 entries (gas):", drawGas);
        assertLt(drawGas, 1_000_000, "flood made the draw expensive");
        // appeal twice: 85 seats, none to an empty entry
        _voteAll(id, false);
        vm.warp(block.timestamp + 1);
        _appealAndDraw(id, workers[3], true);
        _voteAll(id, true);
        vm.warp(block.timestamp + 1);
        _appealAndDraw(id, workers[3], false);
        for (uint8 level; level <= 2; ++level) {
            PanelSeat[] memory p = ledger.panel(id, level);
            assertEq(_seatTotal(p), ledger.committeeSeats(level));
            for (uint256 j; j < p.length; ++j) {
                bool staked;
                for (uint256 k = 1; k < N_VALIDATORS; ++k) {
                    if (p[j].member == validators[k]) staked = true;
                }
                assertTrue(staked, "a zero-stake entry was drawn");
            }
        }
    }

    function test_draw_validatorUnderModelMinimum_neverSeated() public {
        // a validator of another (cheaper) model may hold less than this model's minimum
        address small = makeAddr("small validator");
        vm.deal(small, 1 ether);
        vm.startPrank(small);
        ledger.stake{value: MIN_VALIDATOR_STAKE - 1}(small, small);
        ledger.setValidator(modelId, VALIDATOR_STAGE, true);
        vm.stopPrank();
        extraStakers.push(small);
        uint256 id = _challengeBad();
        _draw(id);
        _voteAll(id, false);
        vm.warp(block.timestamp + 1);
        _appealAndDraw(id, workers[3], true);
        _voteAll(id, true);
        vm.warp(block.timestamp + 1);
        _appealAndDraw(id, workers[3], false);
        for (uint8 level; level <= 2; ++level) assertEq(_seatsOf(ledger.panel(id, level), small), 0);
    }

    function test_draw_partiesNeverSeated() public {
        // both workers of the chain break are validators with stake: still never drawn
        vm.prank(workers[0]);
        ledger.setValidator(modelId, VALIDATOR_STAGE, true);
        vm.prank(workers[1]);
        ledger.setValidator(modelId, VALIDATOR_STAGE, true);
        for (uint256 i = 1; i < N_VALIDATORS; ++i) {
            vm.prank(validators[i]);
            ledger.stake{value: 2 ether}(validators[i], validators[i]);
        }
        vm.prank(challenger);
        uint256 id = ledger.challengeChainBreak{value: bond}(_upItem(BAD_INDEX), _downItem(BAD_INDEX));
        _draw(id);
        _voteAll(id, false);
        vm.warp(block.timestamp + 1);
        _appealAndDraw(id, validators[1], true);
        _voteAll(id, true);
        vm.warp(block.timestamp + 1);
        _appealAndDraw(id, validators[1], false);
        for (uint8 level; level <= 2; ++level) {
            PanelSeat[] memory p = ledger.panel(id, level);
            assertLe(_seatTotal(p), ledger.committeeSeats(level));
            assertGt(_seatTotal(p), 0);
            assertEq(_seatsOf(p, workers[0]), 0, "accused seated");
            assertEq(_seatsOf(p, workers[1]), 0, "counterparty seated");
            assertEq(_seatsOf(p, challenger), 0, "challenger seated");
        }
    }

    function test_draw_noEligibleCommittee_dismissesWithFee() public {
        for (uint256 i = 1; i < N_VALIDATORS; ++i) {
            vm.prank(validators[i]);
            ledger.requestUnbond();
        }
        uint256 id = _challengeBad(); // a challenge never depends on who could be drawn
        _draw(id);
        Dispute memory d = ledger.dispute(id);
        assertEq(d.seats, 0);
        assertEq(ledger.panel(id, 0).length, 0);
        vm.prank(validators[1]);
        vm.expectRevert(ComputeLedgerNotCommitteeMember.selector);
        ledger.vote(id, true);
        vm.warp(uint256(d.voteDeadline) + VOTE_SEC + 1);
        ledger.resolveDispute(id);
        assertEq(uint8(ledger.dispute(id).status), uint8(DisputeStatus.Dismissed));
        assertEq(_payments(challenger), bond - bond / 10);
        assertEq(_payments(workers[0]), bond / 10);
    }

    // ---------------------------------------------------------------- seat-weighted votes

    function test_vote_weightedBySeats() public {
        // validator 1 holds most of the eligible stake
        vm.prank(validators[1]);
        ledger.stake{value: 6 ether}(validators[1], validators[1]);
        uint256 id = _challengeBad();
        _draw(id);
        PanelSeat[] memory p = ledger.panel(id, 0);
        // 5 seats over at most 4 members: somebody holds at least 2
        uint256 top;
        for (uint256 i = 1; i < p.length; ++i) {
            if (p[i].seats > p[top].seats) top = i;
        }
        assertGe(p[top].seats, 2);
        vm.expectEmit(address(ledger));
        emit Voted(id, p[top].member, 0, true, p[top].seats);
        vm.prank(p[top].member);
        ledger.vote(id, true);
        for (uint256 i; i < p.length; ++i) {
            if (i == top) continue;
            vm.prank(p[i].member);
            ledger.vote(id, false);
        }
        Dispute memory d = ledger.dispute(id);
        assertEq(d.fraudSeats, p[top].seats);
        assertEq(d.honestSeats, 5 - p[top].seats);
        vm.warp(block.timestamp + VOTE_SEC);
        ledger.resolveDispute(id);
        // one member against all the others: the seats decide, not the head count
        DisputeStatus expected = p[top].seats >= 3 ? DisputeStatus.Fraud : DisputeStatus.Honest;
        assertEq(uint8(ledger.dispute(id).status), uint8(expected));
    }

    function test_vote_notCommitteeMember_reverts() public {
        uint256 id = _challengeBad();
        _draw(id);
        vm.prank(challenger);
        vm.expectRevert(ComputeLedgerNotCommitteeMember.selector);
        ledger.vote(id, true);
    }

    function test_vote_twice_reverts() public {
        uint256 id = _challengeBad();
        _draw(id);
        PanelSeat memory m = ledger.panel(id, 0)[0];
        vm.startPrank(m.member);
        ledger.vote(id, true);
        assertEq(ledger.panel(id, 0)[0].vote, 1, "vote not recorded");
        // the same seats cannot be counted twice (a member stacking votes would buy the committee)
        vm.expectRevert(ComputeLedgerAlreadyVoted.selector);
        ledger.vote(id, true);
        vm.expectRevert(ComputeLedgerAlreadyVoted.selector);
        ledger.vote(id, false);
        vm.stopPrank();
        assertEq(ledger.dispute(id).fraudSeats, m.seats);
        assertEq(ledger.dispute(id).honestSeats, 0);
    }

    function test_vote_afterDeadline_reverts() public {
        uint256 id = _challengeBad();
        _draw(id);
        address m = ledger.panel(id, 0)[0].member;
        vm.warp(block.timestamp + VOTE_SEC + 1);
        vm.prank(m);
        vm.expectRevert(ComputeLedgerVoteWindowClosed.selector);
        ledger.vote(id, true);
    }

    function test_vote_unknownDispute_reverts() public {
        vm.expectRevert(ComputeLedgerDisputeNotOpen.selector);
        ledger.vote(42, true);
    }

    function test_vote_previousLevelMember_cannotVoteAfterAppeal() public {
        uint256 id = _challengeBad();
        _draw(id);
        PanelSeat[] memory p0 = ledger.panel(id, 0);
        _voteAll(id, false);
        _appealAndDraw(id, workers[3], true);
        PanelSeat[] memory p1 = ledger.panel(id, 1);
        for (uint256 i; i < p0.length; ++i) {
            if (_seatsOf(p1, p0[i].member) != 0) continue;
            vm.prank(p0[i].member);
            vm.expectRevert(ComputeLedgerNotCommitteeMember.selector);
            ledger.vote(id, true);
        }
    }

    // ---------------------------------------------------------------- outcomes and exact accounting

    function test_resolve_fraud_slashesWorkerPaysChallengerAndCoherentSeats() public {
        uint256 totalBefore = ledger.roundState(modelId, 0).totalUnits;
        Books memory b0 = _books();
        uint256 id = _challengeBad();
        _draw(id);
        PanelSeat[] memory p = ledger.panel(id, 0);
        _voteAll(id, true);
        vm.warp(block.timestamp + VOTE_SEC);
        // 1 ETH slashed: 0.5 to the challenger, 0.25 to the 5 coherent seats, 0.25 burned
        vm.expectEmit(address(ledger));
        emit WorkerSlashed(modelId, 0, workers[0], 1 ether, 0.5 ether, 0.25 ether, 40);
        ledger.resolveDispute(id);

        assertEq(uint8(ledger.dispute(id).status), uint8(DisputeStatus.Fraud));
        assertEq(ledger.staker(workers[0]).stakeWei, 1 ether);
        assertTrue(ledger.staker(workers[0]).jailed);
        assertFalse(ledger.isServingOperator(modelId, workers[0]));
        assertEq(_payments(challenger), bond + 0.5 ether);
        for (uint256 i; i < p.length; ++i) {
            assertEq(_payments(p[i].member), 0.25 ether * p[i].seats / 5);
            assertEq(ledger.staker(p[i].member).stakeWei, 1 ether, "coherent seat penalized");
            assertEq(ledger.staker(p[i].member).openDisputes, 0);
        }
        assertEq(DEAD.balance - b0.burned, 0.25 ether);
        _assertConserved(b0, bond);
        assertTrue(ledger.commitmentOf(modelId, 0, 0, workers[0]).slashed);
        assertEq(ledger.roundState(modelId, 0).totalUnits, totalBefore - 40);
        assertEq(ledger.roundState(modelId, 0).openDisputes, 0);
        assertEq(ledger.staker(workers[0]).openDisputes, 0);
        assertEq(ledger.openDisputeOfItem(modelId, 0, 0, workers[0], BAD_INDEX), 0);

        _warpPastChallenge(modelId, 0);
        ledger.finalizeRound(modelId, 0);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerNothingToMint.selector, modelId, 0, workers[0]));
        ledger.mintReward(modelId, 0, workers[0]);
        uint256 before = challenger.balance;
        vm.prank(challenger);
        ledger.withdrawPayments();
        assertEq(challenger.balance - before, bond + 0.5 ether);
    }

    function test_resolve_fraud_voidsWorkersOtherStagesOfTheRound() public {
        _warpToCommit(modelId, 1);
        _commit(modelId, 1, 0, 3);
        _commit(modelId, 1, 1, 3);
        _warpToChallenge(modelId, 1);
        ItemLeaf memory none;
        (ItemLeaf[] memory l, bytes32[] memory h) = _items(0, false, 0, none);
        Commitment memory c = _commitment(modelId, 1, 0, 3, _itemsRoot(0), 4);
        vm.prank(challenger);
        uint256 id = ledger.challengeItem{value: bond}(_committedItem(c, l, h, 1));
        _decide(id, true);
        assertTrue(ledger.commitmentOf(modelId, 1, 1, workers[3]).slashed);
        assertEq(ledger.roundState(modelId, 1).totalUnits, 0);
    }

    function test_resolve_honest_forfeitsBondToWorkerVotersAndBurn() public {
        Books memory b0 = _books();
        uint256 id = _challengeBad();
        _draw(id);
        PanelSeat[] memory p = ledger.panel(id, 0);
        _voteAll(id, false);
        vm.warp(block.timestamp + VOTE_SEC);
        ledger.resolveDispute(id);
        assertEq(uint8(ledger.dispute(id).status), uint8(DisputeStatus.Honest));
        assertEq(ledger.staker(workers[0]).stakeWei, 2 ether);
        assertFalse(ledger.staker(workers[0]).jailed);
        assertEq(_payments(workers[0]), bond / 2);
        assertEq(_payments(challenger), 0);
        for (uint256 i; i < p.length; ++i) assertEq(_payments(p[i].member), (bond / 4) * p[i].seats / 5);
        assertEq(DEAD.balance - b0.burned, bond / 4);
        assertFalse(ledger.commitmentOf(modelId, 0, 0, workers[0]).slashed);
        _assertConserved(b0, bond);
    }

    function test_resolve_noVotes_dismissesPenalizesAbsentSeatsAndPaysDismissalFee() public {
        Books memory b0 = _books();
        uint256 id = _challengeBad();
        _draw(id);
        PanelSeat[] memory p = ledger.panel(id, 0);
        Dispute memory d = ledger.dispute(id);
        // resolvable only once the vote and the appeal window are over
        vm.warp(d.voteDeadline);
        vm.expectRevert(ComputeLedgerVotingNotOver.selector);
        ledger.resolveDispute(id);
        vm.warp(uint256(d.voteDeadline) + VOTE_SEC - 1);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerAppealWindowOpen.selector, id));
        ledger.resolveDispute(id);
        vm.warp(uint256(d.voteDeadline) + VOTE_SEC);
        ledger.resolveDispute(id);
        assertEq(uint8(ledger.dispute(id).status), uint8(DisputeStatus.Dismissed));
        // dismissal fee: 10% of the bond to the accused, the rest back to the challenger
        assertEq(_payments(challenger), bond - bond / 10);
        assertEq(_payments(workers[0]), bond / 10);
        assertEq(ledger.staker(workers[0]).stakeWei, 2 ether);
        assertEq(ledger.staker(workers[0]).openDisputes, 0);
        // every absent seat lost 10% of the bond; nobody was coherent: all of it burned
        for (uint256 i; i < p.length; ++i) {
            assertEq(ledger.staker(p[i].member).stakeWei, 1 ether - PENALTY_PER_SEAT * p[i].seats);
            assertEq(_payments(p[i].member), 0);
        }
        assertEq(DEAD.balance - b0.burned, 5 * PENALTY_PER_SEAT);
        _assertConserved(b0, bond);
    }

    function test_resolve_tie_dismissesWithoutPenalizingVoters() public {
        Books memory b0 = _books();
        uint256 id = _challengeBad();
        _draw(id);
        PanelSeat[] memory p = ledger.panel(id, 0);
        // two members with equal seats vote opposite ways, the others stay away
        (uint256 a, uint256 b) = (type(uint256).max, type(uint256).max);
        for (uint256 i; i < p.length && a == type(uint256).max; ++i) {
            for (uint256 j = i + 1; j < p.length; ++j) {
                if (p[i].seats == p[j].seats) {
                    (a, b) = (i, j);
                    break;
                }
            }
        }
        assertTrue(a != type(uint256).max, "no two members with equal seats");
        vm.prank(p[a].member);
        ledger.vote(id, true);
        vm.prank(p[b].member);
        ledger.vote(id, false);
        vm.warp(uint256(ledger.dispute(id).voteDeadline) + VOTE_SEC);
        ledger.resolveDispute(id);
        assertEq(uint8(ledger.dispute(id).status), uint8(DisputeStatus.Dismissed));
        assertEq(_payments(challenger), bond - bond / 10);
        uint256 absentSeats;
        for (uint256 i; i < p.length; ++i) {
            uint256 expected = 1 ether;
            if (i != a && i != b) {
                expected -= PENALTY_PER_SEAT * p[i].seats;
                absentSeats += p[i].seats;
            }
            assertEq(ledger.staker(p[i].member).stakeWei, expected);
        }
        assertEq(DEAD.balance - b0.burned, absentSeats * PENALTY_PER_SEAT);
        _assertConserved(b0, bond);
    }

    /// @dev The first member votes fraud, the others honest except the last one (absent when there
    /// are 3+ members): every credit and penalty checked to the wei against the rules.
    function test_voters_coherentRewarded_incoherentAndAbsentPenalized_exactWei() public {
        Books memory b0 = _books();
        uint256 id = _challengeBad();
        _draw(id);
        PanelSeat[] memory p = ledger.panel(id, 0);
        uint256[] memory cast = new uint256[](p.length); // 0 absent, 1 fraud, 2 honest
        cast[0] = 1;
        for (uint256 i = 1; i < p.length; ++i) {
            if (p.length >= 3 && i == p.length - 1) continue;
            cast[i] = 2;
        }
        for (uint256 i; i < p.length; ++i) {
            if (cast[i] == 0) continue;
            vm.prank(p[i].member);
            ledger.vote(id, cast[i] == 1);
        }
        vm.warp(uint256(ledger.dispute(id).voteDeadline) + VOTE_SEC);
        ledger.resolveDispute(id);
        uint256 burn = _checkLevelSettlement(id, p, cast);
        assertEq(DEAD.balance - b0.burned, burn, "burn");
        _assertConserved(b0, bond);
    }

    /// @dev Checks one-level settlement against the rules; returns the wei that must have been burned.
    function _checkLevelSettlement(uint256 id, PanelSeat[] memory p, uint256[] memory cast)
        internal
        view
        returns (uint256 burn)
    {
        Dispute memory d = ledger.dispute(id);
        uint256 fraudSeats;
        uint256 honestSeats;
        for (uint256 i; i < p.length; ++i) {
            if (cast[i] == 1) fraudSeats += p[i].seats;
            if (cast[i] == 2) honestSeats += p[i].seats;
        }
        assertEq(d.fraudSeats, fraudSeats);
        assertEq(d.honestSeats, honestSeats);
        uint256 coherentVote = fraudSeats > honestSeats ? 1 : (honestSeats > fraudSeats ? 2 : 0);
        uint256 pool;
        if (coherentVote == 1) {
            assertEq(uint8(d.status), uint8(DisputeStatus.Fraud));
            (pool, burn) = (0.25 ether, 0.25 ether); // of the 1 ETH slashed
        } else if (coherentVote == 2) {
            assertEq(uint8(d.status), uint8(DisputeStatus.Honest));
            (pool, burn) = (bond / 4, bond / 4); // of the forfeited bond
        } else {
            assertEq(uint8(d.status), uint8(DisputeStatus.Dismissed));
        }
        uint256 coherentSeats;
        for (uint256 i; i < p.length; ++i) {
            if (coherentVote != 0 && cast[i] == coherentVote) coherentSeats += p[i].seats;
            else if (cast[i] == 0 || coherentVote != 0) pool += PENALTY_PER_SEAT * p[i].seats;
        }
        uint256 paid;
        for (uint256 i; i < p.length; ++i) {
            if (coherentVote != 0 && cast[i] == coherentVote) {
                uint256 share = pool * p[i].seats / coherentSeats;
                paid += share;
                assertEq(_payments(p[i].member), share, "coherent seat share");
                assertEq(ledger.staker(p[i].member).stakeWei, 1 ether, "coherent seat penalized");
            } else if (cast[i] == 0 || coherentVote != 0) {
                assertEq(_payments(p[i].member), 0);
                assertEq(ledger.staker(p[i].member).stakeWei, 1 ether - PENALTY_PER_SEAT * p[i].seats, "penalty");
            } else {
                assertEq(ledger.staker(p[i].member).stakeWei, 1 ether, "tie voter penalized");
            }
        }
        burn += coherentSeats == 0 ? pool : pool - paid;
    }

    // ---------------------------------------------------------------- appeals

    function test_appeal_sameVerdict_reverts() public {
        uint256 id = _challengeBad();
        _draw(id);
        _voteAll(id, true);
        uint256 appealBond = ledger.appealBondWei(id);
        vm.prank(workers[0]);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerAppealSameVerdict.selector, id));
        ledger.appeal{value: appealBond}(id, true);
        vm.prank(workers[0]);
        ledger.appeal{value: appealBond}(id, false);
        assertEq(ledger.dispute(id).level, 1);
    }

    function test_appeal_wrongBond_reverts() public {
        uint256 id = _challengeBad();
        _draw(id);
        _voteAll(id, true);
        assertEq(ledger.appealBondWei(id), 2 * bond);
        vm.prank(workers[0]);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerWrongBond.selector, 2 * bond, bond));
        ledger.appeal{value: bond}(id, false);
        vm.prank(workers[0]);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerWrongBond.selector, 2 * bond, 0));
        ledger.appeal(id, false);
    }

    function test_appeal_window_timing() public {
        uint256 id = _challengeBad();
        vm.deal(workers[3], 100 ether);
        uint256 appealBond = ledger.appealBondWei(id);
        // not drawn yet
        vm.prank(workers[3]);
        vm.expectRevert(ComputeLedgerVotingNotOver.selector);
        ledger.appeal{value: appealBond}(id, false);
        _draw(id);
        Dispute memory d = ledger.dispute(id);
        // one vote cast, others pending: still voting
        PanelSeat[] memory p = ledger.panel(id, 0);
        vm.prank(p[0].member);
        ledger.vote(id, true);
        vm.prank(workers[3]);
        vm.expectRevert(ComputeLedgerVotingNotOver.selector);
        ledger.appeal{value: appealBond}(id, false);
        // at the deadline still voting; right after it the window is [deadline, deadline + VOTE_SEC)
        vm.warp(d.voteDeadline);
        vm.prank(workers[3]);
        vm.expectRevert(ComputeLedgerVotingNotOver.selector);
        ledger.appeal{value: appealBond}(id, false);
        vm.warp(uint256(d.voteDeadline) + VOTE_SEC);
        vm.prank(workers[3]);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerAppealClosed.selector, id));
        ledger.appeal{value: appealBond}(id, false);
        vm.warp(uint256(d.voteDeadline) + VOTE_SEC - 1);
        vm.expectEmit(address(ledger));
        emit DisputeAppealed(id, 1, workers[3], false, appealBond, block.number);
        vm.prank(workers[3]);
        ledger.appeal{value: appealBond}(id, false);
        d = ledger.dispute(id);
        assertEq(d.level, 1);
        assertEq(d.drawBlock, block.number);
        assertEq(d.voteDeadline, 0);
        assertEq(d.seats, 0);
        Appeal memory a = ledger.appealOf(id, 1);
        assertEq(a.appellant, workers[3]);
        assertEq(a.bondWei, appealBond);
        assertFalse(a.fraud);
        // the new committee is as unknown as the first was
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerDrawNotReady.selector, id, block.number));
        ledger.drawCommittee(id);
        // everyone voted: the window opens at once and lasts VOTE_SEC
        _draw(id);
        _voteAll(id, true);
        uint256 end = block.timestamp + VOTE_SEC;
        assertEq(ledger.dispute(id).appealDeadline, end);
        vm.warp(end);
        vm.prank(workers[3]);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerAppealClosed.selector, id));
        ledger.appeal{value: 2 * appealBond}(id, false);
    }

    function test_appeal_maxAppeals_committeeGrows_lastLevelFinal() public {
        uint256 id = _challengeBad();
        _draw(id);
        assertEq(ledger.dispute(id).seats, 5);
        _voteAll(id, false);
        assertEq(ledger.appealBondWei(id), 2 * bond);
        _appealAndDraw(id, workers[3], true);
        assertEq(ledger.dispute(id).seats, 19);
        assertEq(_seatTotal(ledger.panel(id, 1)), 19);
        _voteAll(id, true);
        assertEq(ledger.appealBondWei(id), 4 * bond);
        _appealAndDraw(id, workers[3], false);
        assertEq(ledger.dispute(id).level, ledger.MAX_APPEALS());
        assertEq(ledger.dispute(id).seats, 61);
        assertEq(_seatTotal(ledger.panel(id, 2)), 61);
        _voteAll(id, true);
        vm.deal(workers[3], 100 ether);
        uint256 next = ledger.appealBondWei(id);
        vm.prank(workers[3]);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerNoAppealLeft.selector, id));
        ledger.appeal{value: next}(id, false);
        // no appeal window after the last level: resolvable at once
        ledger.resolveDispute(id);
        assertEq(uint8(ledger.dispute(id).status), uint8(DisputeStatus.Fraud));
    }

    function test_appeal_dismissedVerdict_eitherSideMayAppeal() public {
        uint256 id = _challengeBad();
        _draw(id);
        vm.warp(uint256(ledger.dispute(id).voteDeadline) + 1);
        uint256 snap = vm.snapshotState();
        uint256 appealBond = ledger.appealBondWei(id);
        vm.prank(workers[3]);
        ledger.appeal{value: appealBond}(id, true);
        vm.revertToState(snap);
        vm.prank(workers[3]);
        ledger.appeal{value: appealBond}(id, false);
        assertEq(ledger.dispute(id).level, 1);
    }

    /// @dev Level 0 says honest (wrong: the leaf is forged), worker 3 appeals for fraud; level 1 says
    /// fraud, the accused appeals for honest; level 2 says fraud. Worker 3 is refunded, the accused's
    /// appeal bond goes half to the coherent seats of all levels, half to the burn; level 0's seats
    /// are penalized.
    function test_appeal_bondsRefundedOrForfeitedByFinalVerdict_exactWei() public {
        vm.deal(workers[3], 10 ether);
        vm.deal(workers[0], 10 ether);
        Books memory b0 = _books();
        uint256 id = _challengeBad();
        _draw(id);
        _voteAll(id, false);
        vm.prank(workers[3]);
        ledger.appeal{value: 2 * bond}(id, true);
        _draw(id);
        _voteAll(id, true);
        vm.prank(workers[0]);
        ledger.appeal{value: 4 * bond}(id, false);
        _draw(id);
        _voteAll(id, true);
        uint256 burnedBefore = DEAD.balance;
        uint256[] memory stakesBefore = new uint256[](validators.length);
        for (uint256 i; i < validators.length; ++i) stakesBefore[i] = ledger.staker(validators[i]).stakeWei;
        ledger.resolveDispute(id);
        assertEq(uint8(ledger.dispute(id).status), uint8(DisputeStatus.Fraud));
        assertEq(_payments(workers[3]), 2 * bond, "winning appeal refunded");
        assertEq(_payments(workers[0]), 0, "losing appeal forfeited");
        assertEq(_payments(challenger), bond + 0.5 ether);
        // pool: 25% of the 1 ETH slash + half the forfeited 2 ETH appeal + level 0's penalties
        uint256 pool = 0.25 ether + 2 * bond + 5 * PENALTY_PER_SEAT;
        uint256 paid = _checkAppealShares(id, pool, stakesBefore);
        // burned: 25% of the slash, the other half of the forfeited appeal, and the rounding of the shares
        assertEq(DEAD.balance - burnedBefore, 0.25 ether + 2 * bond + (pool - paid));
        _assertConserved(b0, bond + 2 * bond + 4 * bond);
    }

    /// @dev Levels 1 and 2 (80 seats) were coherent, level 0 not: checks shares and penalties.
    function _checkAppealShares(uint256 id, uint256 pool, uint256[] memory stakesBefore)
        internal
        view
        returns (uint256 paid)
    {
        PanelSeat[] memory p0 = ledger.panel(id, 0);
        PanelSeat[] memory p1 = ledger.panel(id, 1);
        PanelSeat[] memory p2 = ledger.panel(id, 2);
        assertEq(_seatTotal(p1) + _seatTotal(p2), 80);
        for (uint256 i = 1; i < validators.length; ++i) {
            // validator 0 is the challenger: never seated, credited its bond and the slash reward
            address v = validators[i];
            uint256 share = pool * _seatsOf(p1, v) / 80 + pool * _seatsOf(p2, v) / 80;
            paid += share;
            assertEq(_payments(v), share, "coherent share");
            assertEq(stakesBefore[i] - ledger.staker(v).stakeWei, PENALTY_PER_SEAT * _seatsOf(p0, v), "penalty");
            assertEq(ledger.staker(v).openDisputes, 0);
        }
    }

    function test_appeal_dismissedFinalVerdict_refundsAllAppeals() public {
        Books memory b0 = _books();
        uint256 id = _challengeBad();
        _draw(id);
        _voteAll(id, true);
        _appealAndDraw(id, workers[3], false); // level 1 (2 * bond)
        // nobody votes at level 1: dismissed once the vote and appeal windows are over
        vm.warp(uint256(ledger.dispute(id).voteDeadline) + VOTE_SEC);
        ledger.resolveDispute(id);
        assertEq(uint8(ledger.dispute(id).status), uint8(DisputeStatus.Dismissed));
        assertEq(_payments(workers[3]), 2 * bond, "appeal refunded on dismissal");
        assertEq(_payments(challenger), bond - bond / 10);
        assertEq(_payments(workers[0]), bond / 10);
        assertEq(ledger.staker(workers[0]).stakeWei, 2 ether);
        _assertConserved(b0, 3 * bond);
    }

    // ---------------------------------------------------------------- one slash per commitment

    /// @dev The old attack: three disputes on three leaves of one commitment, all decided fraud,
    /// took 2 ETH down to 0.25 ETH. A commitment is now slashed once: 1 ETH is left.
    function test_oneSlashPerCommitment_threeConcurrentDisputesLeaveHalf() public {
        Books memory b0 = _books();
        uint256 id1 = _challengeUp(0);
        uint256 id2 = _challengeUp(1);
        uint256 id3 = _challengeUp(BAD_INDEX);
        assertEq(ledger.staker(workers[0]).openDisputes, 3);
        _decide(id1, true);
        _decide(id2, true);
        _decide(id3, true);
        for (uint256 id = id1; id <= id3; ++id) assertEq(uint8(ledger.dispute(id).status), uint8(DisputeStatus.Fraud));
        assertEq(ledger.staker(workers[0]).stakeWei, 1 ether);
        assertEq(ledger.staker(workers[0]).openDisputes, 0);
        // one slash reward, three refunded bonds
        assertEq(_payments(challenger), 3 * bond + 0.5 ether);
        _assertConserved(b0, 3 * bond);
        // and no new challenge of the slashed commitment
        _warpToChallenge(modelId, 0);
        vm.prank(challenger);
        vm.expectRevert(ComputeLedgerCommitmentSlashed.selector);
        ledger.challengeItem{value: bond}(_upItem(3));
    }

    function test_oneSlashPerCommitment_chainBreakAfterItemFraud() public {
        uint256 id1 = _challengeUp(1);
        vm.prank(validators[1]);
        uint256 id2 = ledger.challengeChainBreak{value: bond}(_upItem(BAD_INDEX), _downItem(BAD_INDEX));
        _decide(id1, true);
        _decide(id2, true);
        assertEq(ledger.staker(workers[0]).stakeWei, 1 ether);
        assertFalse(ledger.staker(workers[1]).jailed);
        assertGe(_payments(validators[1]), bond);
    }

    // ---------------------------------------------------------------- chain break

    function test_challengeChainBreak_fraud_slashesUpstream() public {
        Books memory b0 = _books();
        vm.prank(challenger);
        uint256 id = ledger.challengeChainBreak{value: bond}(_upItem(BAD_INDEX), _downItem(BAD_INDEX));
        Dispute memory d = ledger.dispute(id);
        assertEq(uint8(d.kind), uint8(DisputeKind.ChainBreak));
        assertEq(d.accused, workers[0]);
        assertEq(d.counterparty, workers[1]);
        assertEq(d.bondWei, bond);
        assertEq(ledger.staker(workers[1]).openDisputes, 1);
        assertEq(ledger.openDisputeOfItem(modelId, 0, 1, workers[1], BAD_INDEX), id);
        _decide(id, true);
        assertTrue(ledger.staker(workers[0]).jailed);
        assertFalse(ledger.staker(workers[1]).jailed);
        assertEq(_payments(challenger), bond + 0.5 ether, "bond back + slash reward");
        assertEq(ledger.staker(workers[1]).openDisputes, 0);
        assertEq(ledger.openDisputeOfItem(modelId, 0, 1, workers[1], BAD_INDEX), 0);
        _assertConserved(b0, bond);
    }

    function test_challengeChainBreak_honest_slashesDownstream() public {
        vm.prank(challenger);
        uint256 id = ledger.challengeChainBreak{value: bond}(_upItem(BAD_INDEX), _downItem(BAD_INDEX));
        _decide(id, false);
        assertFalse(ledger.staker(workers[0]).jailed);
        assertTrue(ledger.staker(workers[1]).jailed);
        assertTrue(ledger.commitmentOf(modelId, 0, 1, workers[1]).slashed);
        assertEq(_payments(challenger), bond + 0.5 ether);
    }

    function test_challengeChainBreak_needsABond() public {
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerWrongBond.selector, bond, 0));
        ledger.challengeChainBreak(_upItem(BAD_INDEX), _downItem(BAD_INDEX));
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerWrongBond.selector, bond, bond + 1));
        ledger.challengeChainBreak{value: bond + 1}(_upItem(BAD_INDEX), _downItem(BAD_INDEX));
    }

    function test_challengeChainBreak_intactChain_reverts() public {
        vm.prank(challenger);
        vm.expectRevert(ComputeLedgerNotAChainBreak.selector);
        ledger.challengeChainBreak{value: bond}(_upItem(1), _downItem(1));
    }

    function test_challengeChainBreak_differentMicrobatch_reverts() public {
        vm.prank(challenger);
        vm.expectRevert(ComputeLedgerNotAChainBreak.selector);
        ledger.challengeChainBreak{value: bond}(_upItem(BAD_INDEX), _downItem(1));
    }

    function test_challengeChainBreak_nonAdjacentStages_reverts() public {
        CommittedItem memory down = _downItem(BAD_INDEX);
        down.stage = 0;
        vm.prank(challenger);
        vm.expectRevert(ComputeLedgerNotAChainBreak.selector);
        ledger.challengeChainBreak{value: bond}(_upItem(BAD_INDEX), down);
    }

    function test_challengeChainBreak_otherRound_reverts() public {
        CommittedItem memory down = _downItem(BAD_INDEX);
        down.round = 1;
        vm.prank(challenger);
        vm.expectRevert(ComputeLedgerNotAChainBreak.selector);
        ledger.challengeChainBreak{value: bond}(_upItem(BAD_INDEX), down);
    }

    function test_challengeChainBreak_forgedDownstreamLeaf_reverts() public {
        // a challenger cannot manufacture a break by editing an honest leaf
        CommittedItem memory down = _downItem(1);
        down.leaf.inputGradHash = keccak256("fake");
        vm.prank(challenger);
        vm.expectRevert(ComputeLedgerInvalidProof.selector);
        ledger.challengeChainBreak{value: bond}(_upItem(1), down);
    }

    function test_challengeChainBreak_byParty_reverts() public {
        vm.prank(workers[1]);
        ledger.setValidator(modelId, VALIDATOR_STAGE, true);
        vm.prank(workers[1]);
        vm.expectRevert(ComputeLedgerNotEligibleValidator.selector);
        ledger.challengeChainBreak{value: bond}(_upItem(BAD_INDEX), _downItem(BAD_INDEX));
    }

    function test_challengeChainBreak_leafAlreadyDisputed_reverts() public {
        uint256 id = _challengeBad();
        vm.prank(validators[1]);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerItemAlreadyDisputed.selector, id));
        ledger.challengeChainBreak{value: bond}(_upItem(BAD_INDEX), _downItem(BAD_INDEX));
    }

    // ---------------------------------------------------------------- challenge validation

    function test_challengeItem_duringCommitWindow_reverts() public {
        _warpToCommit(modelId, 0);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerOutsideChallengeWindow.selector, modelId, 0));
        ledger.challengeItem{value: bond}(_upItem(BAD_INDEX));
    }

    function test_challengeItem_afterChallengeWindow_reverts() public {
        _warpPastChallenge(modelId, 0);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerOutsideChallengeWindow.selector, modelId, 0));
        ledger.challengeItem{value: bond}(_upItem(BAD_INDEX));
    }

    function test_challengeItem_notValidator_reverts() public {
        address nobody = makeAddr("nobody");
        vm.deal(nobody, 1 ether);
        vm.prank(nobody);
        vm.expectRevert(ComputeLedgerNotEligibleValidator.selector);
        ledger.challengeItem{value: bond}(_upItem(BAD_INDEX));
    }

    function test_challengeItem_unbondingValidator_reverts() public {
        vm.prank(challenger);
        ledger.requestUnbond();
        vm.prank(challenger);
        vm.expectRevert(ComputeLedgerNotEligibleValidator.selector);
        ledger.challengeItem{value: bond}(_upItem(BAD_INDEX));
    }

    function test_challengeItem_selfChallenge_reverts() public {
        vm.startPrank(workers[0]);
        ledger.setValidator(modelId, VALIDATOR_STAGE, true);
        vm.expectRevert(ComputeLedgerNotEligibleValidator.selector);
        ledger.challengeItem{value: bond}(_upItem(BAD_INDEX));
        vm.stopPrank();
    }

    function test_challengeItem_wrongBond_reverts() public {
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerWrongBond.selector, bond, bond - 1));
        ledger.challengeItem{value: bond - 1}(_upItem(BAD_INDEX));
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerWrongBond.selector, bond, 0));
        ledger.challengeItem(_upItem(BAD_INDEX));
    }

    function test_challengeItem_bondIsMinValidatorStake() public view {
        assertEq(bond, MIN_VALIDATOR_STAKE);
    }

    function test_challengeItem_otherRoot_reverts() public {
        CommittedItem memory item = _upItem(BAD_INDEX);
        item.itemsRoot = keccak256("framed root");
        vm.prank(challenger);
        vm.expectRevert(ComputeLedgerUnknownCommitment.selector);
        ledger.challengeItem{value: bond}(item);
    }

    function test_challengeItem_otherWeightsRoot_reverts() public {
        CommittedItem memory item = _upItem(BAD_INDEX);
        item.weightsRootAfter = keccak256("other weights");
        vm.prank(challenger);
        vm.expectRevert(ComputeLedgerUnknownCommitment.selector);
        ledger.challengeItem{value: bond}(item);
    }

    function test_challengeItem_missingCommitment_reverts() public {
        CommittedItem memory item = _upItem(BAD_INDEX);
        item.worker = workers[3];
        vm.prank(challenger);
        vm.expectRevert(ComputeLedgerUnknownCommitment.selector);
        ledger.challengeItem{value: bond}(item);
    }

    function test_challengeItem_forgedLeaf_reverts() public {
        CommittedItem memory item = _upItem(BAD_INDEX);
        item.leaf.gradRoot = keccak256("not committed");
        vm.prank(challenger);
        vm.expectRevert(ComputeLedgerInvalidProof.selector);
        ledger.challengeItem{value: bond}(item);
    }

    function test_challengeItem_forgedProof_reverts() public {
        CommittedItem memory item = _upItem(BAD_INDEX);
        item.proof[0] = keccak256("not a sibling");
        vm.prank(challenger);
        vm.expectRevert(ComputeLedgerInvalidProof.selector);
        ledger.challengeItem{value: bond}(item);
    }

    function test_challengeItem_indexOutOfRange_reverts() public {
        CommittedItem memory item = _upItem(BAD_INDEX);
        item.leaf.index = MICROBATCHES;
        vm.prank(challenger);
        vm.expectRevert(ComputeLedgerLeafIndexOutOfRange.selector);
        ledger.challengeItem{value: bond}(item);
    }

    /// @dev A leaf's microbatch must be one of the round's, as its slot must be below the round's count.
    function test_challengeItem_microbatchOutOfRange_reverts() public {
        CommittedItem memory item = _upItem(BAD_INDEX);
        item.leaf.microbatch = MICROBATCHES;
        vm.prank(challenger);
        vm.expectRevert(ComputeLedgerLeafIndexOutOfRange.selector);
        ledger.challengeItem{value: bond}(item);
    }

    function test_challengeItem_alreadySlashedCommitment_reverts() public {
        uint256 id = _challengeBad();
        _decide(id, true);
        vm.prank(validators[1]);
        vm.expectRevert(ComputeLedgerCommitmentSlashed.selector);
        ledger.challengeItem{value: bond}(_upItem(1));
    }

    function test_challengeItem_leafAlreadyDisputed_reverts() public {
        uint256 id = _challengeBad();
        vm.prank(validators[1]);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerItemAlreadyDisputed.selector, id));
        ledger.challengeItem{value: bond}(_upItem(BAD_INDEX));
        // another leaf of the same commitment is fine
        vm.prank(validators[1]);
        ledger.challengeItem{value: bond}(_upItem(1));
    }

    // ---------------------------------------------------------------- resolve validation

    function test_resolve_beforeAllVotesAndDeadline_reverts() public {
        uint256 id = _challengeBad();
        vm.expectRevert(ComputeLedgerVotingNotOver.selector);
        ledger.resolveDispute(id); // not drawn
        _draw(id);
        PanelSeat[] memory p = ledger.panel(id, 0);
        vm.prank(p[0].member);
        ledger.vote(id, true);
        vm.expectRevert(ComputeLedgerVotingNotOver.selector);
        ledger.resolveDispute(id);
    }

    function test_resolve_duringAppealWindow_reverts() public {
        uint256 id = _challengeBad();
        _draw(id);
        _voteAll(id, true);
        vm.warp(block.timestamp + VOTE_SEC - 1);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerAppealWindowOpen.selector, id));
        ledger.resolveDispute(id);
        vm.warp(block.timestamp + 1);
        ledger.resolveDispute(id);
    }

    function test_resolve_twice_reverts() public {
        uint256 id = _challengeBad();
        _decide(id, true);
        vm.expectRevert(ComputeLedgerDisputeNotOpen.selector);
        ledger.resolveDispute(id);
    }

    // ---------------------------------------------------------------- disputes lock stakes and rounds

    function test_finalize_withOpenDispute_reverts() public {
        uint256 id = _challengeBad();
        _warpPastChallenge(modelId, 0);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerDisputesOpen.selector, modelId, 0, 1));
        ledger.finalizeRound(modelId, 0);
        _decide(id, false);
        ledger.finalizeRound(modelId, 0);
    }

    function test_withdrawStake_whileDisputeOpen_reverts() public {
        vm.prank(workers[0]);
        ledger.requestUnbond();
        uint256 id = _challengeBad();
        vm.warp(block.timestamp + ledger.UNBONDING_DELAY_SEC());
        vm.prank(workers[0]);
        vm.expectRevert(ComputeLedgerStakeAtRisk.selector);
        ledger.withdrawStake();
        _draw(id);
        vm.warp(uint256(ledger.dispute(id).voteDeadline) + VOTE_SEC);
        ledger.resolveDispute(id); // nobody voted: dismissed
        vm.prank(workers[0]);
        ledger.withdrawStake();
        assertEq(ledger.staker(workers[0]).stakeWei, 0);
    }

    function test_committeeMember_stakeLockedUntilResolved() public {
        uint256 id = _challengeBad();
        _draw(id);
        address m = ledger.panel(id, 0)[0].member;
        assertEq(ledger.staker(m).openDisputes, 1);
        vm.prank(m);
        ledger.requestUnbond();
        assertEq(ledger.validatorWeight(m), 0);
        vm.warp(block.timestamp + ledger.UNBONDING_DELAY_SEC());
        vm.prank(m);
        vm.expectRevert(ComputeLedgerStakeAtRisk.selector);
        ledger.withdrawStake();
        ledger.resolveDispute(id); // nobody voted: its absent seats pay first
        assertEq(ledger.staker(m).openDisputes, 0);
        uint256 left = ledger.staker(m).stakeWei;
        assertLt(left, 1 ether);
        uint256 before = m.balance;
        vm.prank(m);
        ledger.withdrawStake();
        assertEq(m.balance - before, left);
    }

    function test_stake_whileJailed_reverts() public {
        uint256 id = _challengeBad();
        _decide(id, true);
        assertEq(ledger.validatorWeight(workers[0]), 0);
        vm.prank(workers[0]);
        vm.expectRevert(ComputeLedgerJailed.selector);
        ledger.stake{value: 1 ether}(payouts[0], vm.addr(signingKeys[0]));
    }

    function test_unbondingWorker_stillSlashable() public {
        vm.prank(workers[0]);
        ledger.requestUnbond();
        uint256 id = _challengeBad();
        _decide(id, true);
        assertEq(ledger.staker(workers[0]).stakeWei, 1 ether);
        vm.warp(block.timestamp + ledger.UNBONDING_DELAY_SEC());
        uint256 before = workers[0].balance;
        vm.prank(workers[0]);
        ledger.withdrawStake();
        assertEq(workers[0].balance - before, 1 ether);
    }

    // ---------------------------------------------------------------- data availability

    function _demand(address worker, uint16 stage, uint32 index) internal returns (uint256 id) {
        uint256 aBond = ledger.availabilityBondWei(modelId);
        vm.prank(challenger);
        id = ledger.challengeAvailability{value: aBond}(modelId, 0, stage, worker, index);
    }

    function test_availability_bondAndRecord() public {
        uint256 aBond = ledger.availabilityBondWei(modelId);
        assertEq(aBond, bond / 10);
        uint256 id = _demand(workers[0], 0, 1);
        AvailabilityChallenge memory a = ledger.availabilityChallenge(id);
        assertEq(a.status, 1);
        assertEq(a.worker, workers[0]);
        assertEq(a.index, 1);
        assertEq(a.bondWei, aBond);
        assertEq(a.challenger, challenger);
        assertEq(a.deadline, block.timestamp + VOTE_SEC);
        assertEq(ledger.openAvailabilityOfItem(modelId, 0, 0, workers[0], 1), id);
        assertEq(ledger.staker(workers[0]).openDisputes, 1);
        assertEq(ledger.roundState(modelId, 0).openDisputes, 1);
    }

    function test_availability_indexAtOrPastItemCount_reverts() public {
        uint256 aBond = ledger.availabilityBondWei(modelId);
        vm.prank(challenger);
        vm.expectRevert(ComputeLedgerLeafIndexOutOfRange.selector);
        ledger.challengeAvailability{value: aBond}(modelId, 0, 0, workers[0], 4); // itemCount 4 < MICROBATCHES
    }

    function test_availability_validation_reverts() public {
        uint256 aBond = ledger.availabilityBondWei(modelId);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerWrongBond.selector, aBond, 0));
        ledger.challengeAvailability(modelId, 0, 0, workers[0], 0);
        vm.prank(challenger);
        vm.expectRevert(ComputeLedgerUnknownCommitment.selector);
        ledger.challengeAvailability{value: aBond}(modelId, 0, 0, workers[3], 0);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerNotStageValidator.selector, modelId, uint16(1)));
        ledger.challengeAvailability{value: aBond}(modelId, 0, 1, workers[1], 0);
        vm.startPrank(workers[0]);
        ledger.setValidator(modelId, VALIDATOR_STAGE, true);
        vm.expectRevert(ComputeLedgerNotEligibleValidator.selector);
        ledger.challengeAvailability{value: aBond}(modelId, 0, 0, workers[0], 0);
        vm.stopPrank();
        _warpPastChallenge(modelId, 0);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerOutsideChallengeWindow.selector, modelId, 0));
        ledger.challengeAvailability{value: aBond}(modelId, 0, 0, workers[0], 0);
    }

    function test_availability_unanswered_slashedAfterDeadlineNotBefore() public {
        Books memory b0 = _books();
        uint256 aBond = ledger.availabilityBondWei(modelId);
        uint256 id = _demand(workers[0], 0, 1);
        uint40 deadline = ledger.availabilityChallenge(id).deadline;
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerResponseWindowOpen.selector, id));
        ledger.slashUnavailable(id);
        vm.warp(deadline);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerResponseWindowOpen.selector, id));
        ledger.slashUnavailable(id);
        vm.warp(uint256(deadline) + 1);
        vm.expectEmit(address(ledger));
        emit AvailabilitySlashed(id, workers[0]);
        ledger.slashUnavailable(id);
        assertEq(ledger.availabilityChallenge(id).status, 3);
        assertEq(ledger.staker(workers[0]).stakeWei, 1 ether);
        assertTrue(ledger.staker(workers[0]).jailed);
        assertTrue(ledger.commitmentOf(modelId, 0, 0, workers[0]).slashed);
        assertEq(_payments(challenger), aBond + 0.5 ether);
        assertEq(DEAD.balance - b0.burned, 0.5 ether);
        assertEq(ledger.staker(workers[0]).openDisputes, 0);
        assertEq(ledger.roundState(modelId, 0).openDisputes, 0);
        _assertConserved(b0, aBond);
        // the late answer is refused, and nothing is slashed twice
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerAvailabilityNotOpen.selector, id));
        ledger.revealItem(id, _upItem(1));
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerAvailabilityNotOpen.selector, id));
        ledger.slashUnavailable(id);
    }

    function test_availability_answered_bondToWorkerAndItemRevealed() public {
        Books memory b0 = _books();
        uint256 aBond = ledger.availabilityBondWei(modelId);
        uint256 id = _demand(workers[0], 0, 1);
        CommittedItem memory item = _upItem(1);
        vm.expectEmit(address(ledger));
        emit ItemRevealed(id, workers[0], item.itemsRoot, item.leaf);
        vm.prank(makeAddr("any relayer"));
        ledger.revealItem(id, item);
        assertEq(ledger.availabilityChallenge(id).status, 2);
        assertEq(_payments(workers[0]), aBond);
        assertEq(ledger.staker(workers[0]).stakeWei, 2 ether);
        assertEq(ledger.staker(workers[0]).openDisputes, 0);
        assertEq(ledger.openAvailabilityOfItem(modelId, 0, 0, workers[0], 1), 0);
        vm.warp(block.timestamp + VOTE_SEC + 1);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerAvailabilityNotOpen.selector, id));
        ledger.slashUnavailable(id);
        _assertConserved(b0, aBond);
    }

    function test_availability_revealValidation_reverts() public {
        uint256 id = _demand(workers[0], 0, 1);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerRevealMismatch.selector, id));
        ledger.revealItem(id, _upItem(0)); // another leaf
        CommittedItem memory forged = _upItem(1);
        forged.leaf.gradRoot = keccak256("made up now");
        vm.expectRevert(ComputeLedgerInvalidProof.selector);
        ledger.revealItem(id, forged);
        vm.warp(uint256(ledger.availabilityChallenge(id).deadline) + 1);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerResponseWindowClosed.selector, id));
        ledger.revealItem(id, _upItem(1));
    }

    /// @dev A worker signs itemCount 4 over a tree holding one leaf: paid for 4 microbatches of
    /// work it never produced. Any missing index demanded gets it slashed; the index it has is fine.
    function testFuzz_availability_oneLeafTreeClaimingFour_slashed(uint32 missing) public {
        missing = uint32(bound(missing, 1, 3));
        _warpToCommit(modelId, 1);
        ItemLeaf memory only = _honestLeaf(0, 0);
        bytes32 root = _leafHash(only);
        Commitment memory c = _commitment(modelId, 1, 0, 3, root, 4);
        _submit(c, _sign(signingKeys[3], c));
        assertEq(ledger.commitmentOf(modelId, 1, 0, workers[3]).units, 40);
        _warpToChallenge(modelId, 1);
        uint256 aBond = ledger.availabilityBondWei(modelId);
        // index 0 exists: answered with an empty proof
        vm.prank(challenger);
        uint256 ok = ledger.challengeAvailability{value: aBond}(modelId, 1, 0, workers[3], 0);
        CommittedItem memory item = CommittedItem({
            modelId: modelId,
            round: 1,
            stage: 0,
            worker: workers[3],
            itemsRoot: root,
            weightsRootBefore: c.weightsRootBefore,
            weightsRootAfter: c.weightsRootAfter,
            leaf: only,
            proof: new bytes32[](0)
        });
        ledger.revealItem(ok, item);
        // the missing one cannot be answered: the only leaf relabelled does not prove
        vm.prank(challenger);
        uint256 id = ledger.challengeAvailability{value: aBond}(modelId, 1, 0, workers[3], missing);
        item.leaf.index = missing;
        vm.expectRevert(ComputeLedgerInvalidProof.selector);
        ledger.revealItem(id, item);
        vm.warp(uint256(ledger.availabilityChallenge(id).deadline) + 1);
        ledger.slashUnavailable(id);
        assertTrue(ledger.commitmentOf(modelId, 1, 0, workers[3]).slashed);
        assertEq(ledger.staker(workers[3]).stakeWei, 1 ether);
        assertEq(ledger.roundState(modelId, 1).totalUnits, 0);
    }

    function test_availability_duplicateOpenChallenge_reverts() public {
        uint256 id = _demand(workers[0], 0, 1);
        uint256 aBond = ledger.availabilityBondWei(modelId);
        vm.prank(validators[1]);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerAvailabilityAlreadyChallenged.selector, id));
        ledger.challengeAvailability{value: aBond}(modelId, 0, 0, workers[0], 1);
        // once answered, the same leaf may be demanded again
        ledger.revealItem(id, _upItem(1));
        vm.prank(validators[1]);
        ledger.challengeAvailability{value: aBond}(modelId, 0, 0, workers[0], 1);
    }

    function test_availability_roundCannotFinalizeWhileOpen() public {
        uint256 id = _demand(workers[0], 0, 1);
        _warpPastChallenge(modelId, 0);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerDisputesOpen.selector, modelId, 0, 1));
        ledger.finalizeRound(modelId, 0);
        ledger.slashUnavailable(id); // past the challenge window, past the response deadline too
        assertEq(ledger.roundState(modelId, 0).openDisputes, 0);
        ledger.finalizeRound(modelId, 0);
    }

    function test_availability_workerStakeLockedWhileOpen() public {
        vm.prank(workers[0]);
        ledger.requestUnbond();
        uint256 id = _demand(workers[0], 0, 1);
        vm.warp(block.timestamp + ledger.UNBONDING_DELAY_SEC());
        vm.prank(workers[0]);
        vm.expectRevert(ComputeLedgerStakeAtRisk.selector);
        ledger.withdrawStake();
        ledger.slashUnavailable(id);
        vm.prank(workers[0]);
        ledger.withdrawStake();
    }

    function test_availability_alreadySlashedCommitment_refundsWithoutSecondSlash() public {
        uint256 aId = _demand(workers[0], 0, 1);
        uint256 id = _challengeBad();
        _decide(id, true);
        assertEq(ledger.staker(workers[0]).stakeWei, 1 ether);
        vm.warp(uint256(ledger.availabilityChallenge(aId).deadline) + 1);
        ledger.slashUnavailable(aId);
        assertEq(ledger.staker(workers[0]).stakeWei, 1 ether, "slashed twice");
    }

    // ---------------------------------------------------------------- sealed attestation seed

    function test_sealRoundSeed_firstCallNamesBlock_sealedOneBlockLater() public {
        vm.expectEmit(address(ledger));
        emit RoundSeedRequested(modelId, 0, block.number);
        bytes32 seed = ledger.sealRoundSeed(modelId, 0);
        assertEq(seed, bytes32(0));
        uint256 named = block.number;
        assertEq(ledger.seedBlock(modelId, 0), named);
        assertEq(ledger.roundSeed(modelId, 0), bytes32(0));

        // grinding: calling again in the same block changes nothing and emits nothing
        vm.recordLogs();
        assertEq(ledger.sealRoundSeed(modelId, 0), bytes32(0));
        vm.prank(validators[2]);
        assertEq(ledger.sealRoundSeed(modelId, 0), bytes32(0));
        assertEq(vm.getRecordedLogs().length, 0);
        assertEq(ledger.seedBlock(modelId, 0), named);

        vm.roll(block.number + 3);
        bytes32 expected = keccak256(abi.encode(blockhash(named), modelId, uint64(0)));
        vm.expectEmit(address(ledger));
        emit RoundSeedSealed(modelId, 0, expected);
        seed = ledger.sealRoundSeed(modelId, 0);
        assertEq(seed, expected);
        assertEq(ledger.roundSeed(modelId, 0), expected);
        vm.roll(block.number + 5);
        assertEq(ledger.sealRoundSeed(modelId, 0), expected); // idempotent
        assertEq(ledger.seedBlock(modelId, 0), named);
    }

    function test_sealRoundSeed_hashGoneAfter256Blocks_namesANewBlock() public {
        ledger.sealRoundSeed(modelId, 0);
        vm.roll(block.number + 300);
        vm.expectEmit(address(ledger));
        emit RoundSeedRequested(modelId, 0, block.number);
        assertEq(ledger.sealRoundSeed(modelId, 0), bytes32(0));
        assertEq(ledger.seedBlock(modelId, 0), block.number);
        vm.roll(block.number + 1);
        assertTrue(ledger.sealRoundSeed(modelId, 0) != bytes32(0));
    }

    function test_sealRoundSeed_outsideChallengeWindow_reverts() public {
        _warpToCommit(modelId, 0);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerOutsideChallengeWindow.selector, modelId, 0));
        ledger.sealRoundSeed(modelId, 0);
    }

    function test_attestItems_beforeSealing_reverts() public {
        CommittedItem[] memory items = new CommittedItem[](1);
        items[0] = _side(0);
        uint32[] memory draws = new uint32[](1);
        vm.prank(validators[1]);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerSeedNotSealed.selector, modelId, 0));
        ledger.attestItems(items, draws);
        // named but not sealed yet: still refused in the same block
        ledger.sealRoundSeed(modelId, 0);
        vm.prank(validators[1]);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerSeedNotSealed.selector, modelId, 0));
        ledger.attestItems(items, draws);
    }

    function test_attestItems_drawsWithinItemCount() public {
        _sealSeed(modelId, 0);
        for (uint256 v = 1; v < N_VALIDATORS; ++v) {
            for (uint32 k; k < ledger.attestDraws(modelId); ++k) {
                assertLt(ledger.sampledIndex(modelId, 0, validators[v], workers[2], 0, k), 4);
            }
        }
    }

    // ---------------------------------------------------------------- gas

    /// @dev 64 more validators with equal stakes so the 61-seat committee has many distinct members;
    /// levels 0 and 1 vote the wrong way (penalized), level 2 decides fraud: the heaviest resolution.
    function test_gas_drawCommitteeByLevel_andResolveAtLastLevel() public {
        for (uint256 i; i < 64; ++i) {
            address v = address(uint160(0xA11CE000 + i));
            vm.deal(v, 2 ether);
            vm.startPrank(v);
            ledger.stake{value: 1 ether}(v, v);
            ledger.setValidator(modelId, VALIDATOR_STAGE, true);
            vm.stopPrank();
            extraStakers.push(v);
        }
        Books memory b0 = _books();
        uint256 id = _challengeBad();
        uint256[3] memory drawGas;
        for (uint8 level; level <= 2; ++level) {
            if (level != 0) {
                uint256 appealBond = ledger.appealBondWei(id);
                vm.deal(workers[3], appealBond);
                vm.prank(workers[3]);
                ledger.appeal{value: appealBond}(id, true);
            }
            vm.roll(block.number + 1);
            uint256 g = gasleft();
            ledger.drawCommittee(id);
            drawGas[level] = g - gasleft();
            _voteAll(id, level == 2);
        }
        uint256 g2 = gasleft();
        ledger.resolveDispute(id);
        uint256 resolveGas = g2 - gasleft();
        console.log("drawCommittee gas,  5 seats:", drawGas[0]);
        console.log("drawCommittee gas, 19 seats:", drawGas[1]);
        console.log("drawCommittee gas, 61 seats:", drawGas[2]);
        console.log("resolveDispute gas, level 2:", resolveGas);
        console.log("members per level:", ledger.panel(id, 0).length, ledger.panel(id, 1).length);
        console.log("members level 2:", ledger.panel(id, 2).length);
        assertEq(uint8(ledger.dispute(id).status), uint8(DisputeStatus.Fraud));
        assertLt(drawGas[2], 6_000_000);
        assertLt(resolveGas, 10_000_000);
        _assertConserved(b0, bond + 2 * bond + 4 * bond);
    }
}
