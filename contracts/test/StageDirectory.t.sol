// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {LedgerTestBase} from "./ledger/LedgerTestBase.sol";
import {StageDirectory, ILedgerMembership} from "../StageDirectory.sol";
import {IStageDirectory} from "../interfaces/IStageDirectory.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";

contract StageDirectoryTest is LedgerTestBase {
    StageDirectory internal directory;
    bytes internal constant PEER = hex"0024080112201111111111111111111111111111111111111111111111111111111111111111";

    event PeerAnnounced(uint64 indexed modelId, uint16 indexed stage, address indexed account, bytes peerId, string[] multiaddrs);
    event PeerRemoved(uint64 indexed modelId, uint16 indexed stage, address indexed account, bool pruned);

    function setUp() public override {
        super.setUp();
        directory = new StageDirectory(IModelRegistry(address(registry)), ILedgerMembership(address(ledger)));
    }

    function _addrs(string memory a) internal pure returns (string[] memory out) {
        out = new string[](1);
        out[0] = a;
    }

    function _announce(address who, uint16 stage, string memory addr) internal {
        vm.prank(who);
        directory.announcePeer(modelId, stage, PEER, _addrs(addr));
    }

    function test_announcePeer_stakedMiner_isListedAndEmits() public {
        vm.expectEmit(address(directory));
        emit PeerAnnounced(modelId, 1, workers[0], PEER, _addrs("/ip4/127.0.0.1/tcp/4001"));
        _announce(workers[0], 1, "/ip4/127.0.0.1/tcp/4001");
        assertEq(directory.memberCount(modelId, 1), 1);
        (address[] memory accounts, IStageDirectory.PeerRecord[] memory records) = directory.membersOf(modelId, 1, 0, 10);
        assertEq(accounts.length, 1);
        assertEq(accounts[0], workers[0]);
        assertEq(records[0].peerId, PEER);
        assertEq(records[0].multiaddrs[0], "/ip4/127.0.0.1/tcp/4001");
        assertEq(records[0].announcedAt, block.timestamp);
    }

    function test_announcePeer_again_replacesRecordAndMovesStage() public {
        _announce(workers[0], 0, "/ip4/127.0.0.1/tcp/1");
        _announce(workers[1], 0, "/ip4/127.0.0.1/tcp/2");
        _announce(workers[0], 1, "/ip4/127.0.0.1/tcp/3");
        assertEq(directory.memberCount(modelId, 0), 1);
        assertEq(directory.memberCount(modelId, 1), 1);
        (address[] memory stage0,) = directory.membersOf(modelId, 0, 0, 10);
        assertEq(stage0[0], workers[1]);
        assertEq(directory.peerOf(modelId, workers[0]).multiaddrs[0], "/ip4/127.0.0.1/tcp/3");
        _announce(workers[0], 1, "/ip4/127.0.0.1/tcp/4");
        assertEq(directory.memberCount(modelId, 1), 1);
        assertEq(directory.peerOf(modelId, workers[0]).multiaddrs.length, 1);
    }

    function test_announcePeer_validatorOfThatStageOnly() public {
        address v = makeAddr("stage-1 validator under the worker minimum");
        vm.deal(v, 1 ether);
        vm.startPrank(v);
        ledger.stake{value: MIN_VALIDATOR_STAKE}(v, v); // enough to validate, not to mine
        ledger.setValidator(modelId, 1, true);
        vm.expectRevert(abi.encodeWithSelector(IStageDirectory.StageDirectoryNotMember.selector, modelId, uint16(0), v));
        directory.announcePeer(modelId, 0, PEER, _addrs("/ip4/127.0.0.1/tcp/5"));
        directory.announcePeer(modelId, 1, PEER, _addrs("/ip4/127.0.0.1/tcp/5"));
        vm.stopPrank();
        assertEq(directory.memberCount(modelId, 1), 1);
    }

    function test_announcePeer_unstaked_reverts() public {
        address stranger = makeAddr("stranger");
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IStageDirectory.StageDirectoryNotMember.selector, modelId, uint16(0), stranger));
        directory.announcePeer(modelId, 0, PEER, _addrs("/ip4/127.0.0.1/tcp/5"));
    }

    function test_announcePeer_badInput_reverts() public {
        vm.startPrank(workers[0]);
        vm.expectRevert(abi.encodeWithSelector(IStageDirectory.StageDirectoryBadStage.selector, uint16(2), uint16(2)));
        directory.announcePeer(modelId, 2, PEER, _addrs("/ip4/127.0.0.1/tcp/5"));
        vm.expectRevert(abi.encodeWithSelector(IStageDirectory.StageDirectoryBadPeerId.selector, 0, 64));
        directory.announcePeer(modelId, 0, "", _addrs("/ip4/127.0.0.1/tcp/5"));
        vm.expectRevert(abi.encodeWithSelector(IStageDirectory.StageDirectoryBadMultiaddrs.selector, 0, 8, 256));
        directory.announcePeer(modelId, 0, PEER, new string[](0));
        vm.expectRevert(abi.encodeWithSelector(IStageDirectory.StageDirectoryBadMultiaddrs.selector, 1, 8, 256));
        directory.announcePeer(modelId, 0, PEER, _addrs(""));
        vm.stopPrank();
    }

    function test_withdrawPeer_removesAndEmits() public {
        _announce(workers[0], 1, "/ip4/127.0.0.1/tcp/1");
        vm.expectEmit(address(directory));
        emit PeerRemoved(modelId, 1, workers[0], false);
        vm.prank(workers[0]);
        directory.withdrawPeer(modelId);
        assertEq(directory.memberCount(modelId, 1), 0);
        assertEq(directory.peerOf(modelId, workers[0]).announcedAt, 0);
        vm.prank(workers[0]);
        vm.expectRevert(abi.encodeWithSelector(IStageDirectory.StageDirectoryNoRecord.selector, modelId, workers[0]));
        directory.withdrawPeer(modelId);
    }

    function test_prunePeer_onlyOnceTheAccountNoLongerQualifies() public {
        _announce(workers[0], 1, "/ip4/127.0.0.1/tcp/1");
        vm.expectRevert(abi.encodeWithSelector(IStageDirectory.StageDirectoryStillMember.selector, modelId, workers[0]));
        directory.prunePeer(modelId, workers[0]);
        vm.prank(workers[0]);
        ledger.requestUnbond();
        vm.expectEmit(address(directory));
        emit PeerRemoved(modelId, 1, workers[0], true);
        directory.prunePeer(modelId, workers[0]);
        assertEq(directory.memberCount(modelId, 1), 0);
    }

    /// @dev Any sequence of announcements, moves and withdrawals keeps each stage's list exactly the
    /// accounts whose record names that stage.
    function testFuzz_membership_listsMatchRecords(uint8[16] memory ops) public {
        for (uint256 i; i < ops.length; ++i) {
            address w = workers[ops[i] % N_WORKERS];
            if ((ops[i] >> 2) % 3 == 2) {
                vm.prank(w);
                try directory.withdrawPeer(modelId) {} catch {}
            } else {
                _announce(w, uint16((ops[i] >> 2) % 2), "/ip4/127.0.0.1/tcp/9");
            }
        }
        uint256 listed;
        for (uint16 stage; stage < 2; ++stage) {
            (address[] memory accounts,) = directory.membersOf(modelId, stage, 0, 100);
            listed += accounts.length;
            for (uint256 j; j < accounts.length; ++j) assertEq(directory.peerOf(modelId, accounts[j]).stage, stage);
        }
        uint256 withRecord;
        for (uint256 w; w < N_WORKERS; ++w) if (directory.peerOf(modelId, workers[w]).announcedAt != 0) withRecord++;
        assertEq(listed, withRecord);
    }

    function test_membersOf_pages() public {
        for (uint256 w; w < N_WORKERS; ++w) _announce(workers[w], 0, "/ip4/127.0.0.1/tcp/1");
        (address[] memory a,) = directory.membersOf(modelId, 0, 1, 2);
        assertEq(a.length, 2);
        (address[] memory b,) = directory.membersOf(modelId, 0, 3, 10);
        assertEq(b.length, 1);
        (address[] memory c,) = directory.membersOf(modelId, 0, 9, 10);
        assertEq(c.length, 0);
    }
}
