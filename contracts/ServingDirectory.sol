// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {IServingDirectory} from "./interfaces/IServingDirectory.sol";

/// @title ServingDirectory: serving operators announce their endpoint per model
/// @notice Holds no funds and trusts nobody: an entry only says where its own sender serves. The SDK's
/// `infer` reads the entry of each registered pipeline's first operator and checks every delivered
/// text against the hash the escrow stores, so a wrong or dead URL costs its operator the request,
/// never the dapp its fee (unfulfilled requests are refunded after their deadline).
contract ServingDirectory is IServingDirectory {
    /// @notice Longest URL accepted, in bytes.
    uint256 public constant MAX_URL_BYTES = 256;

    IModelRegistry public immutable registry;

    struct Endpoint {
        string url;
        uint64 announcedAt;
    }

    mapping(uint64 modelId => mapping(address operator => Endpoint)) private _endpoints;

    constructor(IModelRegistry registry_) {
        registry = registry_;
    }

    /// @notice Announces that the caller serves `modelId` at `url` (e.g. `https://op.example:8545`),
    /// replacing its earlier entry for the model.
    /// @param url Base URL of the operator's content store (`PUT <url>/inputs`, `GET <url>/outputs/<id>`).
    function announceEndpoint(uint64 modelId, string calldata url) external {
        // Model ids run from 1 to `modelCount`.
        if (modelId == 0 || modelId > registry.modelCount()) revert ServingDirectoryUnknownModel(modelId);
        uint256 lengthBytes = bytes(url).length;
        if (lengthBytes == 0) revert ServingDirectoryEmptyUrl();
        if (lengthBytes > MAX_URL_BYTES) revert ServingDirectoryUrlTooLong(lengthBytes, MAX_URL_BYTES);
        _endpoints[modelId][msg.sender] = Endpoint({url: url, announcedAt: uint64(block.timestamp)});
        emit EndpointAnnounced(modelId, msg.sender, url);
    }

    /// @notice Removes the caller's endpoint for `modelId`.
    function withdrawEndpoint(uint64 modelId) external {
        if (_endpoints[modelId][msg.sender].announcedAt == 0) revert ServingDirectoryNoEndpoint(modelId, msg.sender);
        delete _endpoints[modelId][msg.sender];
        emit EndpointWithdrawn(modelId, msg.sender);
    }

    /// @notice The endpoint `operator` announced for `modelId` and when; empty and 0 when none.
    function endpointOf(uint64 modelId, address operator) external view returns (string memory url, uint64 announcedAt) {
        Endpoint storage e = _endpoints[modelId][operator];
        return (e.url, e.announcedAt);
    }

    /// @notice The endpoints of `operators` for `modelId` (empty strings where none), in one call.
    /// @dev Loops over the caller's own list, never over stored users.
    function endpointsOf(uint64 modelId, address[] calldata operators) external view returns (string[] memory urls) {
        urls = new string[](operators.length);
        for (uint256 i; i < operators.length; ++i) {
            urls[i] = _endpoints[modelId][operators[i]].url;
        }
    }
}
