// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {IServingDirectory} from "../interfaces/IServingDirectory.sol";
import {ServingDirectory} from "../ServingDirectory.sol";
import {EconomyBase} from "./economy/EconomyBase.sol";

contract ServingDirectoryTest is EconomyBase {
    ServingDirectory internal directory;
    uint64 internal modelId;
    address internal operator = makeAddr("operator");
    address internal other = makeAddr("other");

    function setUp() public {
        _deployRegistry();
        directory = new ServingDirectory(IModelRegistry(address(registry)));
        (modelId,) = _register(_spec(2));
    }

    function test_announceEndpoint_storesUrlAndTime_andEmits() public {
        vm.warp(1_000);
        vm.expectEmit(address(directory));
        emit IServingDirectory.EndpointAnnounced(modelId, operator, "http://127.0.0.1:8080");
        vm.prank(operator);
        directory.announceEndpoint(modelId, "http://127.0.0.1:8080");
        (string memory url, uint64 announcedAt) = directory.endpointOf(modelId, operator);
        assertEq(url, "http://127.0.0.1:8080");
        assertEq(announcedAt, 1_000);
    }

    function test_announceEndpoint_replacesOnlyTheCallersEntry() public {
        vm.prank(operator);
        directory.announceEndpoint(modelId, "http://a");
        vm.prank(other);
        directory.announceEndpoint(modelId, "http://b");
        vm.prank(operator);
        directory.announceEndpoint(modelId, "http://c");
        (string memory mine,) = directory.endpointOf(modelId, operator);
        (string memory theirs,) = directory.endpointOf(modelId, other);
        assertEq(mine, "http://c");
        assertEq(theirs, "http://b");
    }

    function test_endpointsOf_readsManyInOrder_emptyWhereNone() public {
        vm.prank(other);
        directory.announceEndpoint(modelId, "http://b");
        address[] memory ops = new address[](3);
        ops[0] = operator;
        ops[1] = other;
        ops[2] = other;
        string[] memory urls = directory.endpointsOf(modelId, ops);
        assertEq(urls.length, 3);
        assertEq(urls[0], "");
        assertEq(urls[1], "http://b");
        assertEq(urls[2], "http://b");
    }

    function test_endpointsAreScopedToTheModel() public {
        (uint64 second,) = _register(_spec(1));
        vm.prank(operator);
        directory.announceEndpoint(second, "http://second");
        (string memory url,) = directory.endpointOf(modelId, operator);
        assertEq(url, "");
    }

    function test_withdrawEndpoint_clearsAndEmits() public {
        vm.startPrank(operator);
        directory.announceEndpoint(modelId, "http://a");
        vm.expectEmit(address(directory));
        emit IServingDirectory.EndpointWithdrawn(modelId, operator);
        directory.withdrawEndpoint(modelId);
        vm.stopPrank();
        (string memory url, uint64 announcedAt) = directory.endpointOf(modelId, operator);
        assertEq(url, "");
        assertEq(announcedAt, 0);
    }

    function test_withdrawEndpoint_revertsWithoutEntry() public {
        vm.expectRevert(abi.encodeWithSelector(IServingDirectory.ServingDirectoryNoEndpoint.selector, modelId, operator));
        vm.prank(operator);
        directory.withdrawEndpoint(modelId);
    }

    function test_announceEndpoint_revertsForUnknownModel() public {
        vm.expectRevert(abi.encodeWithSelector(IServingDirectory.ServingDirectoryUnknownModel.selector, uint64(0)));
        directory.announceEndpoint(0, "http://a");
        vm.expectRevert(abi.encodeWithSelector(IServingDirectory.ServingDirectoryUnknownModel.selector, modelId + 1));
        directory.announceEndpoint(modelId + 1, "http://a");
    }

    function test_announceEndpoint_revertsForEmptyUrl() public {
        vm.expectRevert(IServingDirectory.ServingDirectoryEmptyUrl.selector);
        directory.announceEndpoint(modelId, "");
    }

    function testFuzz_announceEndpoint_acceptsExactlyUpToMaxBytes(uint16 lengthBytes) public {
        uint256 n = bound(lengthBytes, 1, 600);
        string memory url = string(new bytes(n));
        if (n > directory.MAX_URL_BYTES()) {
            vm.expectRevert(abi.encodeWithSelector(IServingDirectory.ServingDirectoryUrlTooLong.selector, n, directory.MAX_URL_BYTES()));
            directory.announceEndpoint(modelId, url);
        } else {
            directory.announceEndpoint(modelId, url);
            (string memory stored,) = directory.endpointOf(modelId, address(this));
            assertEq(bytes(stored).length, n);
        }
    }
}
