// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Stage directory interface
/// @notice Where the members of each stage of a model (staked miners and the stage's validators)
/// publish their libp2p peer record: peer id and multiaddrs, sent from their staking key. Neighbours
/// find each other here instead of by hand-passed addresses, a stage link is accepted only from a
/// member of the neighbouring stage, and content that reveals a stage's weights is served only to
/// members of that stage (docs/PROTOCOL.md "Stages").
interface IStageDirectory {
    /// @notice A peer record as published: the libp2p peer id (multihash bytes), where it listens, and when.
    struct PeerRecord {
        uint16 stage;
        uint64 announcedAt;
        bytes peerId;
        string[] multiaddrs;
    }

    /// @notice `account` is a member of (`modelId`, `stage`) reachable as `peerId` at `multiaddrs`
    /// (replacing any earlier record of it for the model).
    event PeerAnnounced(uint64 indexed modelId, uint16 indexed stage, address indexed account, bytes peerId, string[] multiaddrs);
    /// @notice `account` left `stage` of `modelId` (withdrawn by itself, or pruned once it no longer qualified).
    event PeerRemoved(uint64 indexed modelId, uint16 indexed stage, address indexed account, bool pruned);

    /// @notice `stage` is not a stage of the model (`stageCount` stages).
    error StageDirectoryBadStage(uint16 stage, uint16 stageCount);
    /// @notice The caller is neither a staked miner of the model (its minimum stake, not unbonding or
    /// jailed) nor an active validator of this stage.
    error StageDirectoryNotMember(uint64 modelId, uint16 stage, address account);
    /// @notice The peer id is empty or longer than `maxBytes`.
    error StageDirectoryBadPeerId(uint256 lengthBytes, uint256 maxBytes);
    /// @notice No multiaddr, more than `maxCount`, or one empty or longer than `maxBytes`.
    error StageDirectoryBadMultiaddrs(uint256 count, uint256 maxCount, uint256 maxBytes);
    /// @notice `account` has no record for the model.
    error StageDirectoryNoRecord(uint64 modelId, address account);
    /// @notice `account` still qualifies for its stage, so its record cannot be pruned.
    error StageDirectoryStillMember(uint64 modelId, address account);

    function announcePeer(uint64 modelId, uint16 stage, bytes calldata peerId, string[] calldata multiaddrs) external;
    function withdrawPeer(uint64 modelId) external;
    function prunePeer(uint64 modelId, address account) external;
    function peerOf(uint64 modelId, address account) external view returns (PeerRecord memory record);
    function memberCount(uint64 modelId, uint16 stage) external view returns (uint256);
    function membersOf(uint64 modelId, uint16 stage, uint256 offset, uint256 limit)
        external
        view
        returns (address[] memory accounts, PeerRecord[] memory records);
}
