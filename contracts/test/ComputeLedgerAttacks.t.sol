// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {console} from "forge-std/console.sol";
import {LedgerTestBase} from "./ledger/LedgerTestBase.sol";
import {CaptureOrRevertChallenger} from "./attacks/CaptureOrRevertChallenger.sol";

/// @dev The attacks of the adversarial review (issue 11), replayed against the real registry, token
/// and ledger (both modules). Each test asserts the outcome it measures and logs its figures as
/// `attack <key> <value>` lines, which `scripts/bench-attacks.ts` parses into bench/attacks.json.
/// Test economics (LedgerTestBase): worker stake 2 ETH (minimum 1), validator stake 1 ETH (minimum
/// 0.5), challenge bond 0.5 ETH, availability bond 0.05 ETH, vote penalty 0.05 ETH a seat, appeal bonds
/// 1 and 2 ETH, 1000 tokens a round, 8 microbatches a round (1 attestation draw per commitment).
contract ComputeLedgerAttacksTest is LedgerTestBase {
    uint256 internal constant K_DISPUTES = 30;
    uint256 internal constant FLOOD_ENTRIES = 3000;
    uint256 internal constant UNDER_MIN_ENTRIES = 60;
    bytes32 internal constant FRAUD_SALT = keccak256("fraud");
    bytes32 internal constant PIPELINE_B = keccak256("pipeline B");

    mapping(address => bool) internal _isSybil;
    address[] internal _sybils;

    // ---------------------------------------------------------------- helpers

    function _log(string memory key, uint256 value) internal pure {
        console.log(string.concat("attack ", key), value);
    }

    /// @dev Validators hold one stage, and these attacks dispute both stages of the model: every
    /// validator of the test (base, honest or sybil) has a twin of equal stake on stage 1, so each
    /// stage's pool has the same make-up. `_twin[a]` is `a`'s stage-1 twin.
    mapping(address => address) internal _twin;

    function setUp() public override {
        super.setUp();
        for (uint256 i; i < N_VALIDATORS; ++i) _addTwin(validators[i], 1 ether);
    }

    function _stake(address account, uint256 stakeWei, uint16 stage) internal {
        vm.deal(account, stakeWei + 100 ether);
        vm.startPrank(account);
        ledger.stake{value: stakeWei}(account, account);
        ledger.setValidator(modelId, stage, true);
        vm.stopPrank();
    }

    function _addTwin(address account, uint256 stakeWei) internal {
        address twin = makeAddr(string.concat("twin of ", vm.toString(account)));
        _stake(twin, stakeWei, 1);
        _twin[account] = twin;
    }

    /// @dev The validator of `stage` standing for `account` (itself on stage 0, its twin on stage 1).
    function _on(address account, uint16 stage) internal view returns (address) {
        return stage == 0 ? account : _twin[account];
    }

    function _addValidator(address account, uint256 stakeWei) internal {
        _stake(account, stakeWei, VALIDATOR_STAGE);
        _addTwin(account, stakeWei);
    }

    function _addSybils(uint256 n, uint256 stakeWei) internal {
        for (uint256 i; i < n; ++i) {
            address s = makeAddr(string.concat("sybil", vm.toString(i)));
            _addValidator(s, stakeWei);
            _isSybil[s] = true;
            _isSybil[_twin[s]] = true;
            _sybils.push(s);
        }
    }

    /// @dev The four leaves of `stage` every worker of the test commits: honest, or with every output wrong.
    function _leavesOf(uint16 stage, bool fraud) internal pure returns (ItemLeaf[] memory leaves, bytes32[] memory hashes) {
        leaves = new ItemLeaf[](4);
        hashes = new bytes32[](4);
        for (uint32 i; i < 4; ++i) {
            leaves[i] = fraud ? _leaf(stage, i, FRAUD_SALT) : _honestLeaf(stage, i);
            hashes[i] = _leafHash(leaves[i]);
        }
    }

    function _commitLeaves(uint256 w, uint16 stage, ItemLeaf[] memory leaves, uint32 itemCount)
        internal
        returns (Commitment memory c, bytes32[] memory hashes)
    {
        hashes = new bytes32[](leaves.length);
        for (uint256 i; i < leaves.length; ++i) hashes[i] = _leafHash(leaves[i]);
        (bytes32 root,) = _tree(hashes, 0);
        c = _commitment(modelId, 0, stage, w, root, itemCount);
        _submit(c, _sign(signingKeys[w], c));
    }

    /// @dev Every worker commits both stages (4 leaves each) in round 0: `cs[w * 2 + stage]`.
    function _commitAll(bool fraud) internal returns (Commitment[] memory cs) {
        cs = new Commitment[](N_WORKERS * 2);
        for (uint256 w; w < N_WORKERS; ++w) {
            for (uint16 stage; stage < 2; ++stage) {
                (ItemLeaf[] memory leaves,) = _leavesOf(stage, fraud);
                (cs[w * 2 + stage],) = _commitLeaves(w, stage, leaves, 4);
            }
        }
    }

    /// @dev Challenges leaf i % 4 of commitment i / 4 for i < k, one block apart; the challenger is
    /// `fixedChallenger`, or the honest validators in turn when it is zero.
    function _challengeMany(Commitment[] memory cs, bool fraud, uint256 k, address fixedChallenger)
        internal
        returns (uint256[] memory ids)
    {
        uint256 bond = ledger.challengeBondWei(modelId);
        ids = new uint256[](k);
        for (uint256 i; i < k; ++i) {
            uint16 stage = uint16((i / 4) % 2);
            (ItemLeaf[] memory leaves, bytes32[] memory hashes) = _leavesOf(stage, fraud);
            address challenger = fixedChallenger == address(0) ? validators[i % N_VALIDATORS] : fixedChallenger;
            vm.prank(_on(challenger, stage));
            ids[i] = ledger.challengeItem{value: bond}(_committedItem(cs[i / 4], leaves, hashes, uint32(i % 4)));
            vm.roll(block.number + 1);
        }
    }

    function _seats(uint256 id, uint8 level) internal view returns (uint256 sybilSeats, uint256 otherSeats) {
        PanelSeat[] memory p = ledger.panel(id, level);
        for (uint256 i; i < p.length; ++i) {
            if (_isSybil[p[i].member]) sybilSeats += p[i].seats;
            else otherSeats += p[i].seats;
        }
    }

    /// @dev Sybils vote `sybilFraud`, every other member the opposite.
    function _voteSides(uint256 id, uint8 level, bool sybilFraud) internal {
        PanelSeat[] memory p = ledger.panel(id, level);
        for (uint256 i; i < p.length; ++i) {
            vm.prank(p[i].member);
            ledger.vote(id, _isSybil[p[i].member] ? sybilFraud : !sybilFraud);
        }
    }

    function _attackerHoldings(address framer) internal view returns (uint256 paymentsWei, uint256 stakeWei) {
        paymentsWei = ledger.paymentsOf(framer);
        stakeWei = ledger.staker(framer).stakeWei;
        for (uint256 i; i < _sybils.length; ++i) {
            paymentsWei += ledger.paymentsOf(_sybils[i]);
            stakeWei += ledger.staker(_sybils[i]).stakeWei;
        }
    }

    function _status(uint256 id) internal view returns (DisputeStatus) {
        return ledger.dispute(id).status;
    }

    // ---------------------------------------------------------------- 1. pay without checkable work

    /// @dev k = 1 real leaf, itemCount c = 8: undetected it is paid 8 leaves; demanded any missing
    /// index it cannot answer and loses half its stake, and the round pays it nothing.
    function test_attack1_overclaim_oneLeafTree_slashedByAvailability() public {
        _warpToCommit(modelId, 0);
        ItemLeaf[] memory one = new ItemLeaf[](1);
        one[0] = _honestLeaf(0, 0);
        (Commitment memory cheat, bytes32[] memory oneHash) = _commitLeaves(0, 0, one, MICROBATCHES);
        _commit(modelId, 0, 0, 1); // an honest peer: 4 leaves, itemCount 4
        uint256 upm = registry.unitsPerMicrobatch(modelId, 0);
        _warpToChallenge(modelId, 0);
        uint256 snap = vm.snapshotState();

        // Undetected: the round pays the signed count.
        _warpPastChallenge(modelId, 0);
        ledger.finalizeRound(modelId, 0);
        (uint256 cheatTokens,) = ledger.mintReward(modelId, 0, workers[0]);
        (uint256 peerTokens,) = ledger.mintReward(modelId, 0, workers[1]);
        assertApproxEqAbs(cheatTokens, 2 * peerTokens, 10, "8 signed items pay twice the peer's 4");
        _log("overclaim.k", 1);
        _log("overclaim.c", MICROBATCHES);
        _log("overclaim.unitsPerMicrobatch", upm);
        _log("overclaim.undetectedWorkerTokens", cheatTokens);
        _log("overclaim.peerWorkerTokens", peerTokens);
        vm.revertToState(snap);

        // Detected: an auditor demands index 5; no such leaf exists.
        uint256 bond = ledger.availabilityBondWei(modelId);
        vm.prank(validators[0]);
        uint256 cid = ledger.challengeAvailability{value: bond}(modelId, 0, 0, workers[0], 5);
        CommittedItem memory only = _committedItem(cheat, one, oneHash, 0);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerRevealMismatch.selector, cid));
        ledger.revealItem(cid, only);
        uint256 stakeBefore = ledger.staker(workers[0]).stakeWei;
        vm.warp(block.timestamp + VOTE_SEC + 1);
        ledger.slashUnavailable(cid);
        uint256 slashed = stakeBefore - ledger.staker(workers[0]).stakeWei;
        assertEq(slashed, stakeBefore / 2, "half the stake");
        assertTrue(ledger.staker(workers[0]).jailed, "jailed");
        assertEq(ledger.paymentsOf(validators[0]), bond + slashed / 2, "auditor: bond back + half the slash");
        _warpPastChallenge(modelId, 0);
        ledger.finalizeRound(modelId, 0);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerNothingToMint.selector, modelId, uint64(0), workers[0]));
        ledger.mintReward(modelId, 0, workers[0]);
        _log("overclaim.stakeWei", stakeBefore);
        _log("overclaim.slashedWei", slashed);
        _log("overclaim.auditorRewardWei", slashed / 2);
        _log("overclaim.availabilityBondWei", bond);
        _log("overclaim.attestDraws", ledger.attestDraws(modelId));
        _log("overclaim.validators", N_VALIDATORS);
    }

    /// @dev The same over-claim with fabricated leaves behind the missing indices: every demand is
    /// answered (and the auditor's bond goes to the cheater); only a full item challenge catches it.
    function test_attack1b_overclaim_fabricatedLeaves_answerDemands_itemChallengeSlashes() public {
        ItemLeaf[] memory leaves = new ItemLeaf[](8);
        leaves[0] = _honestLeaf(0, 0);
        for (uint32 i = 1; i < 8; ++i) leaves[i] = _leaf(0, i, keccak256("fabricated"));
        (Commitment memory c, bytes32[] memory hashes) = _commitLeaves(0, 0, leaves, 8);
        _warpToChallenge(modelId, 0);
        uint256 bond = ledger.availabilityBondWei(modelId);
        vm.prank(validators[0]);
        uint256 cid = ledger.challengeAvailability{value: bond}(modelId, 0, 0, workers[0], 5);
        ledger.revealItem(cid, _committedItem(c, leaves, hashes, 5));
        assertEq(ledger.paymentsOf(workers[0]), bond, "the demand is answered: the auditor's bond goes to the cheater");
        uint256 itemBond = ledger.challengeBondWei(modelId);
        vm.prank(validators[1]);
        uint256 id = ledger.challengeItem{value: itemBond}(_committedItem(c, leaves, hashes, 5));
        _decide(id, true);
        assertEq(uint8(_status(id)), uint8(DisputeStatus.Fraud));
        assertEq(ledger.staker(workers[0]).stakeWei, 1 ether, "slashed by the item dispute");
        _log("overclaimFabricated.bondToCheaterWei", bond);
        _log("overclaimFabricated.itemChallengeBondWei", itemBond);
        _log("overclaimFabricated.slashedWei", 1 ether);
    }

    /// @dev A colluding validator front-runs the auditor's demand of a missing leaf (one open demand
    /// per leaf) and settles first: the coalition gets half of the slash back, the auditor nothing.
    function test_attack1c_colluderFrontRunsDemand_coalitionLosesQuarter_auditorGetsNothing() public {
        address colluder = makeAddr("colluder");
        _addValidator(colluder, MIN_VALIDATOR_STAKE);
        ItemLeaf[] memory one = new ItemLeaf[](1);
        one[0] = _honestLeaf(0, 0);
        _commitLeaves(0, 0, one, MICROBATCHES);
        _warpToChallenge(modelId, 0);
        uint256 bond = ledger.availabilityBondWei(modelId);
        vm.prank(colluder);
        uint256 mine = ledger.challengeAvailability{value: bond}(modelId, 0, 0, workers[0], 3);
        vm.prank(validators[0]);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerAvailabilityAlreadyChallenged.selector, mine));
        ledger.challengeAvailability{value: bond}(modelId, 0, 0, workers[0], 3);
        vm.prank(validators[0]);
        uint256 theirs = ledger.challengeAvailability{value: bond}(modelId, 0, 0, workers[0], 4);
        vm.warp(block.timestamp + VOTE_SEC + 1);
        ledger.slashUnavailable(mine);
        ledger.slashUnavailable(theirs);
        uint256 slashed = 2 ether - ledger.staker(workers[0]).stakeWei;
        assertEq(slashed, 1 ether, "slashed once");
        assertEq(ledger.paymentsOf(colluder), bond + slashed / 2, "the colluder collects the winner's share");
        assertEq(ledger.paymentsOf(validators[0]), bond, "the honest auditor only gets its bond back");
        _log("colludeDemand.slashedWei", slashed);
        _log("colludeDemand.coalitionLossWei", slashed - slashed / 2);
        _log("colludeDemand.auditorRewardWei", ledger.paymentsOf(validators[0]) - bond);
    }

    // ---------------------------------------------------------------- 2. committee for sale

    function test_attack2_committeeForSale_noCommitteeWhenChallengeLands_drawDeterministic() public {
        Commitment memory c = _commit(modelId, 0, 0, 0);
        (ItemLeaf[] memory leaves, bytes32[] memory hashes) = _leavesOf(0, false);
        _warpToChallenge(modelId, 0);
        vm.deal(address(this), 100 ether);
        CaptureOrRevertChallenger attacker = new CaptureOrRevertChallenger{value: 10 ether}(ledger);
        attacker.join(MIN_VALIDATOR_STAKE, modelId, VALIDATOR_STAGE);
        uint256 bond = ledger.challengeBondWei(modelId);
        (uint256 id, uint256 members, bytes memory drawError) =
            attacker.challengeAndInspect(_committedItem(c, leaves, hashes, 1), bond);
        assertEq(members, 0, "no panel exists inside the challenge transaction");
        assertEq(ledger.dispute(id).voteDeadline, 0);
        assertEq(drawError, abi.encodeWithSelector(ComputeLedgerDrawNotReady.selector, id, block.number));

        vm.roll(block.number + 1);
        uint256 snap = vm.snapshotState();
        vm.prank(validators[0]);
        ledger.drawCommittee(id);
        PanelSeat[] memory first = ledger.panel(id, 0);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerCommitteeAlreadyDrawn.selector, id));
        ledger.drawCommittee(id);
        vm.revertToState(snap);
        vm.roll(block.number + 100);
        vm.prank(makeAddr("anyone else"));
        ledger.drawCommittee(id);
        PanelSeat[] memory second = ledger.panel(id, 0);
        assertEq(first.length, second.length, "same panel");
        for (uint256 i; i < first.length; ++i) {
            assertEq(first[i].member, second[i].member);
            assertEq(first[i].seats, second[i].seats);
        }
        _log("committee.panelMembersVisibleAtChallenge", members);
        _log("committee.drawInChallengeBlockReverts", 1);
        _log("committee.redrawIdentical", 1);
    }

    /// @dev 3 minimum-stake sybils (and the framing challenger, a fourth minimum-stake identity)
    /// among 5 honest 1-ETH validators frame honest leaves K times. A wrong level-0 verdict is
    /// appealed by the honest side (19 seats, then 61). Counts captures per level and the money.
    function test_attack2_committeeForSale_kDisputes_honestAppeals() public {
        _addSybils(3, MIN_VALIDATOR_STAKE);
        address framer = makeAddr("framer");
        _addValidator(framer, MIN_VALIDATOR_STAKE);
        address appellant = makeAddr("honest appellant");
        vm.deal(appellant, 100 ether);
        Commitment[] memory cs = _commitAll(false);
        _warpToChallenge(modelId, 0);
        _log(
            "committee.sybilWeightBpsOfDrawable",
            3 * uint256(MIN_VALIDATOR_STAKE) * 10_000 / (ledger.totalValidatorWeight(modelId, VALIDATOR_STAGE) - MIN_VALIDATOR_STAKE)
        );
        uint256[] memory ids = _challengeMany(cs, false, K_DISPUTES, framer);

        uint256[3] memory captured;
        uint256[3] memory reached;
        uint256 appealBondsWei;
        for (uint256 i; i < K_DISPUTES; ++i) {
            uint256 id = ids[i];
            for (uint8 level; level < 3; ++level) {
                if (level > 0) {
                    uint256 appealBond = ledger.appealBondWei(id);
                    appealBondsWei += appealBond;
                    vm.prank(appellant);
                    ledger.appeal{value: appealBond}(id, false);
                }
                vm.roll(block.number + 1);
                ledger.drawCommittee(id);
                reached[level] += 1;
                (uint256 sybilSeats, uint256 honestSeats) = _seats(id, level);
                _voteSides(id, level, true);
                if (sybilSeats <= honestSeats) break;
                captured[level] += 1;
            }
        }
        vm.warp(block.timestamp + VOTE_SEC + 1);
        uint256 finalWins;
        for (uint256 i; i < K_DISPUTES; ++i) {
            ledger.resolveDispute(ids[i]);
            if (_status(ids[i]) == DisputeStatus.Fraud) ++finalWins;
        }
        (uint256 paymentsWei, uint256 stakeAfter) = _attackerHoldings(framer);
        uint256 bondsWei = K_DISPUTES * ledger.challengeBondWei(modelId);
        assertEq(finalWins, 0, "no framing survives the 61-seat level");
        assertLt(paymentsWei + stakeAfter, bondsWei + 4 * uint256(MIN_VALIDATOR_STAKE), "the attacker loses money");
        assertEq(ledger.paymentsOf(appellant), appealBondsWei, "winning appeals are refunded");
        _log("committee.K", K_DISPUTES);
        _log("committee.level0Reached", reached[0]);
        _log("committee.level0Captured", captured[0]);
        _log("committee.level1Reached", reached[1]);
        _log("committee.level1Captured", captured[1]);
        _log("committee.level2Reached", reached[2]);
        _log("committee.level2Captured", captured[2]);
        _log("committee.finalWins", finalWins);
        _log("committee.attackerBondsWei", bondsWei);
        _log("committee.attackerPaymentsWei", paymentsWei);
        _log("committee.attackerStakeLossWei", 4 * uint256(MIN_VALIDATOR_STAKE) - stakeAfter);
        _log("committee.honestAppealBondsWei", appealBondsWei);
    }

    // ---------------------------------------------------------------- 3. validator sybil flood

    function test_attack3_sybilFlood_zeroStakeEntriesNeverSeated() public {
        uint256 g = gasleft();
        for (uint256 i; i < FLOOD_ENTRIES; ++i) {
            address s = address(uint160(0xF10000 + i));
            vm.startPrank(s);
            ledger.stake(s, s);
            ledger.setValidator(modelId, VALIDATOR_STAGE, true);
            vm.stopPrank();
        }
        uint256 floodGas = g - gasleft();
        assertEq(ledger.validatorCount(modelId, VALIDATOR_STAGE), N_VALIDATORS + FLOOD_ENTRIES);
        assertEq(ledger.totalValidatorWeight(modelId, VALIDATOR_STAGE), N_VALIDATORS * 1 ether);
        Commitment[] memory cs = _commitAll(true);
        _warpToChallenge(modelId, 0);
        uint256 k = N_WORKERS * 8;
        uint256[] memory ids = _challengeMany(cs, true, k, address(0));
        uint256 full;
        uint256 floodSeats;
        for (uint256 i; i < k; ++i) {
            vm.roll(block.number + 1);
            ledger.drawCommittee(ids[i]);
            if (ledger.dispute(ids[i]).seats == ledger.committeeSeats(0)) ++full;
            PanelSeat[] memory p = ledger.panel(ids[i], 0);
            for (uint256 j; j < p.length; ++j) {
                if (ledger.validatorWeight(p[j].member) == 0) floodSeats += p[j].seats;
            }
        }
        assertEq(full, k, "every challenge of real fraud gets a full committee");
        assertEq(floodSeats, 0, "no seat for a zero-stake entry");
        _voteAll(ids[0], true);
        vm.warp(block.timestamp + VOTE_SEC);
        ledger.resolveDispute(ids[0]);
        assertEq(uint8(_status(ids[0])), uint8(DisputeStatus.Fraud));
        _log("flood.entries", FLOOD_ENTRIES);
        _log("flood.gasPerEntry", floodGas / FLOOD_ENTRIES);
        _log("flood.challenges", k);
        _log("flood.fullCommittees", full);
        _log("flood.floodSeats", floodSeats);
    }

    /// @dev Own finding: stake just under the model's minimum validator stake is weighted in the
    /// sortition but skipped at the draw, within 3 attempts a seat: it shrinks committees, down to
    /// none (a dismissal: proven fraud goes unslashed), and is never at risk (never seated).
    /// @dev Stake parked just under the model's minimum is drawn but never seated. It used to leave
    /// committees short or empty (an empty one dismissed real fraud); now a short committee is drawn
    /// further by later calls, so the parked stake only costs the honest side a few more draw calls.
    function test_own_underMinimumStake_delaysButCannotEmptyCommittees() public {
        uint256 each = MIN_VALIDATOR_STAKE - 0.01 ether;
        for (uint256 i; i < UNDER_MIN_ENTRIES; ++i) _addValidator(address(uint160(0xD1100 + i)), each);
        Commitment[] memory cs = _commitAll(true);
        _warpToChallenge(modelId, 0);
        uint256[] memory ids = _challengeMany(cs, true, K_DISPUTES, address(0));
        uint256[6] memory histogram;
        uint256 shortAfterOneCall;
        uint256 maxCalls;
        for (uint256 i; i < K_DISPUTES; ++i) {
            uint256 calls;
            do {
                vm.roll(block.number + 1);
                ledger.drawCommittee(ids[i]);
                ++calls;
                if (calls == 1 && ledger.dispute(ids[i]).voteDeadline == 0) ++shortAfterOneCall;
            } while (ledger.dispute(ids[i]).voteDeadline == 0);
            if (calls > maxCalls) maxCalls = calls;
            histogram[ledger.dispute(ids[i]).seats] += 1;
        }
        assertEq(histogram[5], K_DISPUTES, "every committee is full in the end");
        _log("dilution.entries", UNDER_MIN_ENTRIES);
        _log("dilution.lockedWei", UNDER_MIN_ENTRIES * each);
        _log("dilution.eligibleWei", N_VALIDATORS * 1 ether);
        _log("dilution.disputes", K_DISPUTES);
        _log("dilution.shortAfterOneCall", shortAfterOneCall);
        _log("dilution.maxDrawCalls", maxCalls);
        for (uint256 s; s < 6; ++s) _log(string.concat("dilution.seats", vm.toString(s)), histogram[s]);
        // and the fraud behind the first of them is slashed as usual
        uint256 id = ids[0];
        address accused = ledger.dispute(id).accused;
        uint256 stakeBefore = ledger.staker(accused).stakeWei;
        _voteAll(id, true);
        vm.warp(block.timestamp + VOTE_SEC + 1);
        ledger.resolveDispute(id);
        assertEq(uint8(_status(id)), uint8(DisputeStatus.Fraud));
        assertEq(ledger.staker(accused).stakeWei, stakeBefore / 2);
    }

    // ---------------------------------------------------------------- 4. seed grinding

    function test_attack4_seedGrinding_seedIndependentOfCallerAndRepeats() public {
        _commit(modelId, 0, 0, 0);
        _warpToChallenge(modelId, 0);
        address grinder = makeAddr("grinder");
        uint256 b = block.number;
        uint256 snap = vm.snapshotState();
        vm.prank(validators[0]);
        ledger.sealRoundSeed(modelId, 0);
        vm.roll(b + 1);
        vm.prank(validators[1]);
        bytes32 seedA = ledger.sealRoundSeed(modelId, 0);
        assertTrue(seedA != bytes32(0));
        vm.revertToState(snap);

        vm.roll(b);
        for (uint256 i; i < 5; ++i) {
            vm.prank(i % 2 == 0 ? grinder : validators[2]);
            ledger.sealRoundSeed(modelId, 0);
        }
        assertEq(ledger.seedBlock(modelId, 0), b, "repeated calls in the block do not move it");
        vm.roll(b + 7);
        vm.prank(grinder);
        bytes32 seedB = ledger.sealRoundSeed(modelId, 0);
        assertEq(seedB, seedA, "same seed whoever calls, however often");
        assertEq(seedB, keccak256(abi.encode(blockhash(b), modelId, uint64(0))));
        vm.roll(b + 100);
        assertEq(ledger.sealRoundSeed(modelId, 0), seedA, "sealed for good");
        vm.revertToState(snap);

        // Withholding: nobody seals for 256 blocks; the hash is gone and the block moves (a re-roll).
        vm.roll(b);
        vm.prank(grinder);
        ledger.sealRoundSeed(modelId, 0);
        vm.roll(b + 257);
        vm.prank(grinder);
        assertEq(ledger.sealRoundSeed(modelId, 0), bytes32(0));
        assertEq(ledger.seedBlock(modelId, 0), b + 257, "the seed block moved");
        vm.roll(b + 258);
        bytes32 seedC = ledger.sealRoundSeed(modelId, 0);
        assertTrue(seedC != seedA, "a different seed");
        _log("seed.callsBySameCaller", 5);
        _log("seed.identicalAcrossCallers", 1);
        _log("seed.rerollAfterWithheldBlocks", 257);
    }

    // ---------------------------------------------------------------- 5. copying a commitment

    /// @dev Worker 2 copies worker 1's stage-1 commitment verbatim (only `worker` changed), so its
    /// leaves name worker 0 as their upstream, whose stage-0 leaves name worker 1, whose leaves name
    /// worker 0 back: the copy is voided by a pure proof (no bond, no committee) and earns nothing.
    function test_attack5_copyCommitment_voidedAndEarnsNothing() public {
        Commitment memory up = _commitLinked(modelId, 0, 0, 0);
        Commitment memory original = _commitLinked(modelId, 0, 1, 1);
        Commitment memory copy = _copyAs(original, 2);
        _submit(copy, _sign(signingKeys[2], copy));
        uint256 copyUnits = original.itemCount * _unitsOf(1);
        assertEq(ledger.commitmentOf(modelId, 0, 1, workers[2]).units, copyUnits);
        uint256 totalBefore = ledger.roundState(modelId, 0).totalUnits;
        _warpToChallenge(modelId, 0);

        vm.expectRevert(ComputeLedgerNotUnlinked.selector);
        ledger.proveUnlinked(_linkedItem(original, 1, 2), _linkedItem(up, 0, 2), _linkedItem(original, 1, 2)); // the original is the neighbour's partner
        vm.expectEmit(address(ledger));
        emit CommitmentVoided(modelId, 0, workers[2], 1, workers[0], uint64(copyUnits));
        ledger.proveUnlinked(_linkedItem(copy, 1, 2), _linkedItem(up, 0, 2), _linkedItem(original, 1, 2));
        assertTrue(ledger.commitmentOf(modelId, 0, 1, workers[2]).voided);
        assertEq(ledger.roundState(modelId, 0).totalUnits, totalBefore - copyUnits);

        _warpPastChallenge(modelId, 0);
        ledger.finalizeRound(modelId, 0);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerNothingToMint.selector, modelId, 0, workers[2]));
        ledger.mintReward(modelId, 0, workers[2]);
        (uint256 originalTokens,) = ledger.mintReward(modelId, 0, workers[1]);
        assertGt(originalTokens, 0);
        _log("copy.originalTokens", originalTokens);
        _log("copy.copierTokens", 0);
    }

    /// @dev A stage-0 copy's leaves name the original's downstream, whose leaves are linked to the original.
    function test_attack5_copyOfStageZero_voidedThroughItsDownstream() public {
        Commitment memory original = _commitLinked(modelId, 0, 0, 0);
        Commitment memory down = _commitLinked(modelId, 0, 1, 1);
        Commitment memory copy = _copyAs(original, 3);
        _submit(copy, _sign(signingKeys[3], copy));
        _warpToChallenge(modelId, 0);
        ledger.proveUnlinked(_linkedItem(copy, 0, 1), _linkedItem(down, 1, 1), _linkedItem(original, 0, 1));
        assertTrue(ledger.commitmentOf(modelId, 0, 0, workers[3]).voided);
        assertFalse(ledger.commitmentOf(modelId, 0, 0, workers[3]).slashed, "voided, not slashed");
    }

    /// @dev A copy whose leaves name a made-up upstream (nobody links to it) shares the original's
    /// inputs: voided as a duplicate once the commit window closed (before, its upstream could still
    /// commit); a copy whose upstream really names it is not a duplicate of this original.
    function test_attack5_copyNamingAMadeUpNeighbour_voidedAsDuplicate() public {
        Commitment memory upC = _commitLinked(modelId, 0, 0, 0);
        Commitment memory original = _commitLinked(modelId, 0, 1, 1);
        ItemLeaf memory none;
        (ItemLeaf[] memory leaves, bytes32[] memory hashes) = _linkedItems(modelId, 1, 1, false, 0, none);
        for (uint256 i; i < leaves.length; ++i) {
            leaves[i].upstream = makeAddr("made-up upstream");
            hashes[i] = _leafHash(leaves[i]);
        }
        Commitment memory copy = _commitment(modelId, 0, 1, 2, _rootOf(leaves), 4);
        _submit(copy, _sign(signingKeys[2], copy));
        CommittedItem memory copyItem = _committedItem(copy, leaves, hashes, 2);
        CommittedItem memory originalItem = _linkedItem(original, 1, 2);
        CommittedItem memory up = _linkedItem(upC, 0, 2);
        CommittedItem[] memory nothing = new CommittedItem[](0);
        vm.expectRevert(ComputeLedgerNotADuplicate.selector);
        ledger.proveDuplicate(copyItem, originalItem, up, nothing);
        _warpToChallenge(modelId, 0);
        vm.expectRevert(ComputeLedgerNotADuplicate.selector);
        ledger.proveDuplicate(originalItem, copyItem, up, nothing); // the original's upstream names it
        ledger.proveDuplicate(copyItem, originalItem, up, nothing);
        assertTrue(ledger.commitmentOf(modelId, 0, 1, workers[2]).voided);
    }

    function test_proveDuplicate_refusesACopyWhoseUpstreamNamesIt() public {
        Commitment memory up = _commitLinked(modelId, 0, 0, 0);
        Commitment memory original = _commitLinked(modelId, 0, 1, 1);
        Commitment memory otherUp = _commitLinked(modelId, 0, 0, 2); // its leaves name worker 3 downstream
        Commitment memory other = _commitLinked(modelId, 0, 1, 3); // its leaves name worker 2 upstream: linked
        _warpToChallenge(modelId, 0);
        CommittedItem[] memory theirs = new CommittedItem[](1);
        theirs[0] = _linkedItem(otherUp, 2, 0);
        vm.expectRevert(ComputeLedgerNotADuplicate.selector);
        ledger.proveDuplicate(_linkedItem(other, 3, 0), _linkedItem(original, 1, 0), _linkedItem(up, 0, 0), theirs);
        vm.expectRevert(ComputeLedgerNotADuplicate.selector);
        ledger.proveDuplicate(
            _linkedItem(other, 3, 0), _linkedItem(original, 1, 0), _linkedItem(up, 0, 0), new CommittedItem[](0)
        );
    }

    /// @dev A stage whose leaves name a made-up downstream instead of the worker it fed voids nobody:
    /// nobody it names names it back.
    function test_lyingNeighbourAlone_cannotVoidItsHonestNeighbour() public {
        ItemLeaf memory none;
        (ItemLeaf[] memory leaves, bytes32[] memory hashes) = _linkedItems(modelId, 0, 0, false, 0, none);
        for (uint256 i; i < leaves.length; ++i) {
            leaves[i].downstream = makeAddr("nobody");
            hashes[i] = _leafHash(leaves[i]);
        }
        Commitment memory liar = _commitment(modelId, 0, 0, 0, _rootOf(leaves), 4);
        _submit(liar, _sign(signingKeys[0], liar));
        Commitment memory honest = _commitLinked(modelId, 0, 1, 1);
        _warpToChallenge(modelId, 0);
        for (uint32 i; i < 4; ++i) {
            vm.expectRevert(ComputeLedgerNotUnlinked.selector);
            ledger.proveUnlinked(_linkedItem(honest, 1, i), _committedItem(liar, leaves, hashes, i), _linkedItem(honest, 1, i));
        }
        _warpPastChallenge(modelId, 0);
        ledger.finalizeRound(modelId, 0);
        (uint256 tokens,) = ledger.mintReward(modelId, 0, workers[1]);
        assertGt(tokens, 0, "the honest downstream is paid");
    }

    /// @dev Voiding keeps a copy slashable: a fraud verdict still slashes it, and its units leave
    /// the round once, not twice.
    function test_voidedCopy_staysSlashable_unitsRemovedOnce() public {
        Commitment memory up = _commitLinked(modelId, 0, 0, 0);
        Commitment memory original = _commitLinked(modelId, 0, 1, 1);
        Commitment memory copy = _copyAs(original, 2);
        _submit(copy, _sign(signingKeys[2], copy));
        _warpToChallenge(modelId, 0);
        uint256 totalBefore = ledger.roundState(modelId, 0).totalUnits;
        ledger.proveUnlinked(_linkedItem(copy, 1, 0), _linkedItem(up, 0, 0), _linkedItem(original, 1, 0));
        uint256 bond = ledger.challengeBondWei(modelId);
        vm.prank(_on(validators[0], 1));
        uint256 id = ledger.challengeItem{value: bond}(_linkedItem(copy, 1, 1));
        _decide(id, true);
        assertTrue(ledger.staker(workers[2]).jailed, "the copier is slashed and jailed");
        assertEq(ledger.roundState(modelId, 0).totalUnits, totalBefore - original.itemCount * _unitsOf(1));
    }

    /// @dev Link proofs are refused outside the challenge window, between non-neighbours and across
    /// microbatches, and every leaf is checked against its commitment's tree.
    function test_proveUnlinked_refusesNonNeighboursAndLateProofs() public {
        Commitment memory up = _commitLinked(modelId, 0, 0, 0);
        Commitment memory original = _commitLinked(modelId, 0, 1, 1);
        Commitment memory other = _commitLinked(modelId, 0, 0, 2); // its leaves name worker 3 downstream
        Commitment memory copy = _copyAs(original, 2);
        _submit(copy, _sign(signingKeys[2], copy));
        _warpToChallenge(modelId, 0);
        vm.expectRevert(ComputeLedgerNotUnlinked.selector);
        ledger.proveUnlinked(_linkedItem(copy, 1, 2), _linkedItem(other, 2, 2), _linkedItem(original, 1, 2)); // worker 2 is not the neighbour the copy names
        vm.expectRevert(ComputeLedgerNotUnlinked.selector);
        ledger.proveUnlinked(_linkedItem(copy, 1, 2), _linkedItem(copy, 1, 2), _linkedItem(copy, 1, 2)); // not an adjacent stage
        vm.expectRevert(ComputeLedgerNotUnlinked.selector);
        ledger.proveUnlinked(_linkedItem(copy, 1, 2), _linkedItem(up, 0, 1), _linkedItem(original, 1, 2)); // another microbatch
        CommittedItem memory forged = _linkedItem(up, 0, 2);
        forged.leaf.downstream = workers[2];
        vm.expectRevert(ComputeLedgerInvalidProof.selector);
        ledger.proveUnlinked(_linkedItem(original, 1, 2), forged, _linkedItem(copy, 1, 2)); // the neighbour's leaf is checked against its tree
        _warpPastChallenge(modelId, 0);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerOutsideChallengeWindow.selector, modelId, 0));
        ledger.proveUnlinked(_linkedItem(copy, 1, 2), _linkedItem(up, 0, 2), _linkedItem(original, 1, 2));
    }

    /// @dev A verbatim copy of `c` (a new struct: memory assignment would alias) claimed by worker `w`.
    function _copyAs(Commitment memory c, uint256 w) internal view returns (Commitment memory copy) {
        copy = abi.decode(abi.encode(c), (Commitment));
        copy.worker = workers[w];
    }

    /// @dev Leaf `i` of commitment `c`, whose tree is `_linkedItems` of worker `author` (`c.worker` itself,
    /// or the worker a copy copied).
    function _linkedItem(Commitment memory c, uint256 author, uint32 i) internal view returns (CommittedItem memory) {
        ItemLeaf memory none;
        (ItemLeaf[] memory leaves, bytes32[] memory hashes) = _linkedItems(modelId, c.stage, author, false, 0, none);
        return _committedItem(c, leaves, hashes, i);
    }

    function _unitsOf(uint16 stage) internal view returns (uint256) {
        return registry.unitsPerMicrobatch(modelId, stage);
    }

    // ---------------------------------------------------------------- 8. chain break across pipelines

    /// @dev Pipeline B's leaf `i` of `stage`: worker 2 (stage 0) feeds worker 3 (stage 1), their leaves name each other.
    function _pipelineBLeaf(uint16 stage, uint32 i) internal view returns (ItemLeaf memory leaf) {
        leaf.index = i;
        leaf.microbatch = i;
        leaf.upstream = stage == 0 ? address(0) : workers[2];
        leaf.downstream = stage == 0 ? workers[3] : address(0);
        leaf.inputActHash = keccak256(abi.encode("act", stage, i, PIPELINE_B));
        leaf.outputActHash = keccak256(abi.encode("act", stage + 1, i, PIPELINE_B));
        leaf.upstreamGradHash = keccak256(abi.encode("grad", stage + 1, i, PIPELINE_B));
        leaf.inputGradHash = keccak256(abi.encode("grad", stage, i, PIPELINE_B));
        leaf.gradRoot = keccak256(abi.encode("gradRoot", stage, i, PIPELINE_B));
    }

    /// @dev Commits pipelines A (worker 0 -> worker 1) and B (worker 2 -> worker 3), all honest; returns A's stage-0 leaf 2 and B's stage-1 leaf 2.
    function _crossPipelinePair() internal returns (CommittedItem memory up, CommittedItem memory down) {
        Commitment memory a0 = _commitLinked(modelId, 0, 0, 0);
        _commitLinked(modelId, 0, 1, 1);
        ItemLeaf[] memory b0 = new ItemLeaf[](4);
        ItemLeaf[] memory b1 = new ItemLeaf[](4);
        for (uint32 i; i < 4; ++i) {
            b0[i] = _pipelineBLeaf(0, i);
            b1[i] = _pipelineBLeaf(1, i);
        }
        _commitLeaves(2, 0, b0, 4);
        (Commitment memory cb1, bytes32[] memory hb1) = _commitLeaves(3, 1, b1, 4);
        up = _linkedItem(a0, 0, 2);
        down = _committedItem(cb1, b1, hb1, 2);
    }

    /// @dev The framer pairs A's stage-0 leaf with B's stage-1 leaf, a "break" by hashes. Each
    /// leaf names the neighbour it exchanged its microbatch with (bound in the items tree), and A's
    /// stage-0 leaf names worker 1, not worker 3: the pairing is refused before any bond or committee.
    /// (Under the first rule the pairing slashed B's honest stage-1 worker and paid the framer; under
    /// the second it was dismissed by abstaining committees, costing the framer the dismissal fee.)
    function test_attack8_chainBreakAcrossPipelines_refusedUnlessLinked() public {
        address framer = makeAddr("pipeline framer");
        _addValidator(framer, MIN_VALIDATOR_STAKE);
        (CommittedItem memory up, CommittedItem memory down) = _crossPipelinePair();
        _warpToChallenge(modelId, 0);
        uint256 bond = ledger.challengeBondWei(modelId);
        uint256 stakeBefore = ledger.staker(workers[3]).stakeWei;

        vm.prank(framer);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerNotLinked.selector, workers[0], workers[3]));
        ledger.challengeChainBreak{value: bond}(up, down);
        // lying about the neighbours does not help: they are part of the committed leaves
        up.leaf.downstream = workers[3];
        down.leaf.upstream = workers[0];
        vm.prank(framer);
        vm.expectRevert(ComputeLedgerInvalidProof.selector);
        ledger.challengeChainBreak{value: bond}(up, down);
        assertEq(ledger.staker(workers[3]).stakeWei, stakeBefore, "the honest stage-1 worker keeps its stake");
        _log("chainbreak.bondWei", bond);
        _log("chainbreak.victimSlashedWei", stakeBefore - ledger.staker(workers[3]).stakeWei);
        _log("chainbreak.dismissedLossWei", 0);
    }

    // ---------------------------------------------------------------- 9. cheap griefing

    function _batch3() internal view returns (Commitment[] memory cs, bytes[] memory sigs) {
        cs = new Commitment[](3);
        sigs = new bytes[](3);
        for (uint256 i; i < 3; ++i) {
            cs[i] = _commitment(modelId, 0, 0, i, _itemsRoot(0), 4);
            sigs[i] = _sign(signingKeys[i], cs[i]);
        }
    }

    function test_attack9a_frontRunRelayedBatch_copySkippedBatchLands() public {
        (Commitment[] memory cs, bytes[] memory sigs) = _batch3();
        vm.prank(makeAddr("front-runner"));
        _submit(cs[1], sigs[1]);
        vm.prank(makeAddr("relayer"));
        ledger.submitCommitments(cs, sigs);
        uint256 expected = 3 * 4 * uint256(registry.unitsPerMicrobatch(modelId, 0));
        assertEq(ledger.roundState(modelId, 0).totalUnits, expected, "each commitment counted once");
        for (uint256 i; i < 3; ++i) assertTrue(ledger.commitmentOf(modelId, 0, 0, workers[i]).found);
        _log("frontrun.batchLanded", 1);
        _log("frontrun.totalUnits", ledger.roundState(modelId, 0).totalUnits);
        _log("frontrun.expectedUnits", expected);
    }

    /// @dev Own finding: a worker inside a relayed batch rotates its signing key just before the
    /// batch lands: the all-or-nothing batch reverts for everyone; rotating back revives the same
    /// signatures, so it can be repeated on every relay attempt.
    function test_own_workerRotatesKey_sinksRelayedBatch() public {
        (Commitment[] memory cs, bytes[] memory sigs) = _batch3();
        address relayer = makeAddr("relayer");
        address throwaway = makeAddr("throwaway key");
        address originalKey = vm.addr(signingKeys[2]);
        vm.prank(workers[2]);
        uint256 g = gasleft();
        ledger.rotateSigningKey(throwaway);
        uint256 rotateGas = g - gasleft();
        vm.prank(relayer);
        g = gasleft();
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerInvalidSignature.selector, 2));
        ledger.submitCommitments(cs, sigs);
        uint256 wastedGas = g - gasleft();
        assertFalse(ledger.commitmentOf(modelId, 0, 0, workers[0]).found, "the honest workers' commitments are lost");
        vm.prank(workers[2]);
        ledger.rotateSigningKey(originalKey);
        vm.prank(relayer);
        ledger.submitCommitments(cs, sigs);
        assertTrue(ledger.commitmentOf(modelId, 0, 0, workers[0]).found);
        _log("keyGrief.rotateGas", rotateGas);
        _log("keyGrief.relayerGasWasted", wastedGas);
        _log("keyGrief.batchReverted", 1);
    }

    function test_attack9b_disputeNobodyVotesOn_dismissFeeAndAbsentPenalties() public {
        Commitment memory c = _commit(modelId, 0, 0, 0);
        (ItemLeaf[] memory leaves, bytes32[] memory hashes) = _leavesOf(0, false);
        _warpToChallenge(modelId, 0);
        uint256 bond = ledger.challengeBondWei(modelId);
        vm.prank(validators[0]);
        uint256 id = ledger.challengeItem{value: bond}(_committedItem(c, leaves, hashes, 1));
        _draw(id);
        PanelSeat[] memory p = ledger.panel(id, 0);
        uint256[] memory before = new uint256[](p.length);
        for (uint256 i; i < p.length; ++i) before[i] = ledger.staker(p[i].member).stakeWei;
        vm.warp(block.timestamp + 2 * VOTE_SEC + 1);
        ledger.resolveDispute(id);
        assertEq(uint8(_status(id)), uint8(DisputeStatus.Dismissed));
        uint256 challengerLoss = bond - ledger.paymentsOf(validators[0]);
        assertEq(challengerLoss, bond / 10, "DISMISS_FEE_BPS of the bond");
        assertEq(ledger.paymentsOf(workers[0]), bond / 10, "credited to the accused");
        uint256 penalties;
        uint256 seats;
        for (uint256 i; i < p.length; ++i) {
            uint256 taken = before[i] - ledger.staker(p[i].member).stakeWei;
            assertEq(taken, p[i].seats * bond / 10, "VOTE_PENALTY_BPS of the bond a seat");
            penalties += taken;
            seats += p[i].seats;
        }
        _log("noVote.challengerLossWei", challengerLoss);
        _log("noVote.accusedCreditWei", bond / 10);
        _log("noVote.absentSeats", seats);
        _log("noVote.absentPenaltyPerSeatWei", bond / 10);
        _log("noVote.absentPenaltiesWei", penalties);
    }

    // ---------------------------------------------------------------- own findings

    /// @dev An undrawn dispute blocks the round's finalization, but anyone can draw it; withheld
    /// 256 blocks, the hash is gone and the draw moves to a later block (a new committee).
    function test_own_stallByNeverDrawing_anyoneDraws_redrawAfter256Blocks() public {
        Commitment memory c = _commit(modelId, 0, 0, 0);
        (ItemLeaf[] memory leaves, bytes32[] memory hashes) = _leavesOf(0, false);
        _warpToChallenge(modelId, 0);
        uint256 bond = ledger.challengeBondWei(modelId);
        vm.prank(validators[0]);
        uint256 id = ledger.challengeItem{value: bond}(_committedItem(c, leaves, hashes, 1));
        _warpPastChallenge(modelId, 0);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerDisputesOpen.selector, modelId, uint64(0), uint32(1)));
        ledger.finalizeRound(modelId, 0);
        uint256 b = ledger.dispute(id).drawBlock;
        uint256 snap = vm.snapshotState();
        vm.roll(b + 1);
        vm.prank(makeAddr("bystander"));
        ledger.drawCommittee(id);
        PanelSeat[] memory prompt = ledger.panel(id, 0);
        vm.revertToState(snap);

        vm.roll(b + 257);
        vm.expectEmit(true, false, false, true, address(ledger));
        emit CommitteeDrawDeferred(id, 0, b + 257);
        ledger.drawCommittee(id);
        assertEq(ledger.dispute(id).drawBlock, b + 257, "the draw moved to a later block");
        assertEq(ledger.dispute(id).voteDeadline, 0);
        vm.roll(b + 258);
        ledger.drawCommittee(id);
        PanelSeat[] memory later = ledger.panel(id, 0);
        bool same = prompt.length == later.length;
        for (uint256 i; same && i < prompt.length; ++i) {
            same = prompt[i].member == later[i].member && prompt[i].seats == later[i].seats;
        }
        _voteAll(id, false);
        vm.warp(block.timestamp + VOTE_SEC);
        ledger.resolveDispute(id);
        ledger.finalizeRound(modelId, 0);
        _log("stall.anyoneCanDraw", 1);
        _log("stall.redrawAfterBlocks", 257);
        _log("stall.redrawnPanelDiffers", same ? 0 : 1);
    }

    /// @dev A drawn member abstains and requests unbonding: its stake stays locked until the dispute
    /// resolves, and the penalty is taken.
    function test_own_memberUnbondsToDodgePenalty_stakeStaysLocked() public {
        (ItemLeaf[] memory leaves,) = _leavesOf(0, true);
        (Commitment memory c, bytes32[] memory hashes) = _commitLeaves(0, 0, leaves, 4);
        _warpToChallenge(modelId, 0);
        uint256 bond = ledger.challengeBondWei(modelId);
        vm.prank(validators[0]);
        uint256 id = ledger.challengeItem{value: bond}(_committedItem(c, leaves, hashes, 1));
        _draw(id);
        PanelSeat[] memory p = ledger.panel(id, 0);
        assertGe(p.length, 2);
        uint256 dodgerAt;
        for (uint256 i = 1; i < p.length; ++i) if (p[i].seats < p[dodgerAt].seats) dodgerAt = i;
        address dodger = p[dodgerAt].member;
        for (uint256 i; i < p.length; ++i) {
            if (i == dodgerAt) continue;
            vm.prank(p[i].member);
            ledger.vote(id, true);
        }
        vm.prank(dodger);
        ledger.requestUnbond();
        uint256 before = ledger.staker(dodger).stakeWei;
        vm.warp(block.timestamp + 7 days + 1);
        vm.prank(dodger);
        vm.expectRevert(ComputeLedgerStakeAtRisk.selector);
        ledger.withdrawStake();
        ledger.resolveDispute(id);
        uint256 penalty = p[dodgerAt].seats * bond / 10;
        assertEq(ledger.staker(dodger).stakeWei, before - penalty, "the penalty is taken");
        vm.prank(dodger);
        ledger.withdrawStake();
        _log("dodge.withdrawBlocked", 1);
        _log("dodge.penaltyWei", penalty);
    }

    /// @dev Two item disputes and a data-availability demand against one worker's round, all
    /// proven: the worker loses half its stake once.
    function test_own_concurrentDisputes_slashOnce() public {
        (ItemLeaf[] memory l0,) = _leavesOf(0, true);
        (ItemLeaf[] memory l1,) = _leavesOf(1, true);
        (Commitment memory c0, bytes32[] memory h0) = _commitLeaves(0, 0, l0, MICROBATCHES);
        (Commitment memory c1, bytes32[] memory h1) = _commitLeaves(0, 1, l1, 4);
        _warpToChallenge(modelId, 0);
        uint256 bond = ledger.challengeBondWei(modelId);
        vm.prank(validators[0]);
        uint256 id1 = ledger.challengeItem{value: bond}(_committedItem(c0, l0, h0, 1));
        vm.roll(block.number + 1);
        vm.prank(_on(validators[1], 1));
        uint256 id2 = ledger.challengeItem{value: bond}(_committedItem(c1, l1, h1, 2));
        uint256 abond = ledger.availabilityBondWei(modelId);
        vm.prank(validators[2]);
        uint256 aid = ledger.challengeAvailability{value: abond}(modelId, 0, 0, workers[0], 6);
        _draw(id1);
        _draw(id2);
        _voteAll(id1, true);
        _voteAll(id2, true);
        vm.warp(block.timestamp + VOTE_SEC + 1);
        ledger.resolveDispute(id1);
        ledger.resolveDispute(id2);
        ledger.slashUnavailable(aid);
        assertEq(uint8(_status(id1)), uint8(DisputeStatus.Fraud));
        assertEq(uint8(_status(id2)), uint8(DisputeStatus.Fraud));
        assertEq(ledger.staker(workers[0]).stakeWei, 1 ether, "slashed once: half of 2 ETH");
        _log("doubleSlash.proofs", 3);
        _log("doubleSlash.slashedWei", 2 ether - ledger.staker(workers[0]).stakeWei);
        _log("doubleSlash.compoundedWouldBeWei", 2 ether - uint256(2 ether) / 8);
    }

    /// @dev The accused appeals a correct Fraud verdict twice to delay the round's finalization.
    function test_own_appealGriefing_accusedAppealsTwice_losesBonds() public {
        (ItemLeaf[] memory leaves,) = _leavesOf(0, true);
        (Commitment memory c, bytes32[] memory hashes) = _commitLeaves(0, 0, leaves, 4);
        _warpToChallenge(modelId, 0);
        uint256 bond = ledger.challengeBondWei(modelId);
        vm.prank(validators[0]);
        uint256 id = ledger.challengeItem{value: bond}(_committedItem(c, leaves, hashes, 1));
        _draw(id);
        _voteAll(id, true);
        vm.deal(workers[0], 100 ether);
        uint256 lost;
        for (uint256 level = 1; level <= 2; ++level) {
            uint256 appealBond = ledger.appealBondWei(id);
            lost += appealBond;
            vm.prank(workers[0]);
            ledger.appeal{value: appealBond}(id, false);
            _draw(id);
            _voteAll(id, true);
        }
        ledger.resolveDispute(id);
        assertEq(uint8(_status(id)), uint8(DisputeStatus.Fraud));
        assertEq(ledger.paymentsOf(workers[0]), 0, "both appeal bonds lost");
        assertEq(ledger.staker(workers[0]).stakeWei, 1 ether);
        _log("appealGrief.lostBondsWei", lost);
        _log("appealGrief.maxDelaySec", 4 * uint256(VOTE_SEC));
    }

    /// @dev The verdict is the majority of cast seats: with the honest seats absent, one sybil seat
    /// decides a framing.
    /// @dev Sybil seats vote fraud against an honest worker while the honest seats stay away. A
    /// majority of cast seats used to decide it; now a verdict needs a majority of all drawn seats:
    /// the minority of sybil seats cannot, the dispute is dismissed and the framer pays the fee.
    function test_own_captureByAbstention_minorityCannotDecide() public {
        _addSybils(3, MIN_VALIDATOR_STAKE);
        address framer = makeAddr("framer");
        _addValidator(framer, MIN_VALIDATOR_STAKE);
        Commitment[] memory cs = _commitAll(false);
        _warpToChallenge(modelId, 0);
        uint256 bond = ledger.challengeBondWei(modelId);
        uint256 id;
        uint256 sybilSeats;
        uint256 honestSeats;
        uint256 opened;
        for (uint256 i; i < 16; ++i) {
            ++opened;
            (ItemLeaf[] memory leaves, bytes32[] memory hashes) = _leavesOf(uint16((i / 4) % 2), false);
            vm.prank(framer);
            id = ledger.challengeItem{value: bond}(_committedItem(cs[i / 4], leaves, hashes, uint32(i % 4)));
            _draw(id);
            (sybilSeats, honestSeats) = _seats(id, 0);
            if (sybilSeats > 0 && sybilSeats * 2 <= sybilSeats + honestSeats) break;
        }
        assertGt(sybilSeats, 0, "a panel with a sybil seat");
        assertLe(sybilSeats * 2, sybilSeats + honestSeats, "sybils hold no majority of the drawn seats");
        address accused = ledger.dispute(id).accused;
        PanelSeat[] memory p = ledger.panel(id, 0);
        for (uint256 i; i < p.length; ++i) {
            if (!_isSybil[p[i].member]) continue;
            vm.prank(p[i].member);
            ledger.vote(id, true);
        }
        vm.warp(block.timestamp + 2 * VOTE_SEC + 1);
        ledger.resolveDispute(id);
        assertEq(uint8(_status(id)), uint8(DisputeStatus.Dismissed), "a minority of drawn seats decides nothing");
        assertEq(ledger.staker(accused).stakeWei, 2 ether, "the honest worker keeps its stake");
        uint256 paid = ledger.paymentsOf(framer);
        for (uint256 i; i < _sybils.length; ++i) paid += ledger.paymentsOf(_sybils[i]);
        assertLt(paid, bond, "the framer loses the dismissal fee");
        _log("abstain.challengesOpened", opened);
        _log("abstain.sybilSeats", sybilSeats);
        _log("abstain.honestSeatsAbsent", honestSeats);
        _log("abstain.victimSlashedWei", 0);
        _log("abstain.attackerLossWei", bond - paid);
    }
}
