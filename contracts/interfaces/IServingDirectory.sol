// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Serving directory interface
/// @notice Where a serving operator says, in a transaction signed by its own key, at which URL it takes
/// prompts and hands out outputs for a model. Dapps resolve the entry operator of a registered pipeline
/// (stage 0 of `InferenceEscrow.PipelineRegistered`) to its endpoint here, so no URL is passed by hand.
/// An entry of an account that serves no registered pipeline is never looked up.
interface IServingDirectory {
    /// @notice `operator` serves `modelId` at `url` from now on (replacing any earlier entry).
    event EndpointAnnounced(uint64 indexed modelId, address indexed operator, string url);
    /// @notice `operator` no longer serves `modelId` at any URL.
    event EndpointWithdrawn(uint64 indexed modelId, address indexed operator);

    /// @notice The model id is not registered.
    error ServingDirectoryUnknownModel(uint64 modelId);
    /// @notice The URL is empty.
    error ServingDirectoryEmptyUrl();
    /// @notice The URL is longer than `maxBytes`.
    error ServingDirectoryUrlTooLong(uint256 lengthBytes, uint256 maxBytes);
    /// @notice The caller has no endpoint for the model.
    error ServingDirectoryNoEndpoint(uint64 modelId, address operator);

    function announceEndpoint(uint64 modelId, string calldata url) external;
    function withdrawEndpoint(uint64 modelId) external;
    function endpointOf(uint64 modelId, address operator) external view returns (string memory url, uint64 announcedAt);
    function endpointsOf(uint64 modelId, address[] calldata operators) external view returns (string[] memory urls);
}
