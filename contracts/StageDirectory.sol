// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {IStageDirectory} from "./interfaces/IStageDirectory.sol";

/// @dev The two ledger reads membership needs.
interface ILedgerMembership {
    function isServingOperator(uint64 modelId, address operator) external view returns (bool);
    function validatorStage(address account) external view returns (uint64 modelId, uint16 stage, bool active);
}

/// @title StageDirectory: the members of each stage of a model and their libp2p peer records
/// @notice Membership is the ledger's word, not the directory's: a record is accepted only from an
/// account that is, at that moment, a serving miner of the model or an active validator of that very
/// stage, and anyone may prune a record whose account no longer is. One record per (model, account),
/// so an account belongs to one stage of a model at a time. Holds no funds; reads are paged, and no
/// function loops over members.
contract StageDirectory is IStageDirectory {
    /// @notice Longest peer id accepted (a libp2p multihash is 38 bytes for Ed25519 keys).
    uint256 public constant MAX_PEER_ID_BYTES = 64;
    /// @notice Most multiaddrs per record, and the longest accepted.
    uint256 public constant MAX_MULTIADDRS = 8;
    uint256 public constant MAX_MULTIADDR_BYTES = 256;

    IModelRegistry public immutable registry;
    ILedgerMembership public immutable ledger;

    struct Entry {
        PeerRecord record;
        /// position in `_stageMembers[modelId][record.stage]` + 1 (0 = no record)
        uint256 indexPlusOne;
    }

    mapping(uint64 modelId => mapping(address account => Entry)) private _entries;
    mapping(uint64 modelId => mapping(uint16 stage => address[])) private _stageMembers;

    constructor(IModelRegistry registry_, ILedgerMembership ledger_) {
        registry = registry_;
        ledger = ledger_;
    }

    /// @notice Publishes the caller's peer record for `stage` of `modelId`, replacing its earlier one
    /// (and moving it out of its earlier stage).
    /// @param peerId libp2p peer id, multihash bytes (`peerId.toMultihash().bytes`).
    /// @param multiaddrs Where the peer listens, without the `/p2p/<id>` suffix; 1 to `MAX_MULTIADDRS`.
    function announcePeer(uint64 modelId, uint16 stage, bytes calldata peerId, string[] calldata multiaddrs) external {
        uint16 stageCount = registry.model(modelId).stageCount;
        if (stage >= stageCount) revert StageDirectoryBadStage(stage, stageCount);
        if (!_qualifies(modelId, stage, msg.sender)) revert StageDirectoryNotMember(modelId, stage, msg.sender);
        if (peerId.length == 0 || peerId.length > MAX_PEER_ID_BYTES) {
            revert StageDirectoryBadPeerId(peerId.length, MAX_PEER_ID_BYTES);
        }
        _checkMultiaddrs(multiaddrs);
        Entry storage e = _entries[modelId][msg.sender];
        if (e.indexPlusOne != 0 && e.record.stage != stage) _unlist(modelId, e);
        if (e.indexPlusOne == 0) {
            address[] storage members = _stageMembers[modelId][stage];
            members.push(msg.sender);
            e.indexPlusOne = members.length;
        }
        e.record.stage = stage;
        e.record.announcedAt = uint64(block.timestamp);
        e.record.peerId = peerId;
        // (the legacy code generator cannot copy a calldata string[] to storage in one assignment)
        string[] storage stored = e.record.multiaddrs;
        while (stored.length != 0) stored.pop();
        for (uint256 i; i < multiaddrs.length; ++i) stored.push(multiaddrs[i]);
        emit PeerAnnounced(modelId, stage, msg.sender, peerId, multiaddrs);
    }

    /// @notice Removes the caller's record for `modelId`.
    function withdrawPeer(uint64 modelId) external {
        Entry storage e = _entries[modelId][msg.sender];
        if (e.indexPlusOne == 0) revert StageDirectoryNoRecord(modelId, msg.sender);
        uint16 stage = e.record.stage;
        _unlist(modelId, e);
        delete _entries[modelId][msg.sender];
        emit PeerRemoved(modelId, stage, msg.sender, false);
    }

    /// @notice Removes `account`'s record once it no longer qualifies for its stage (unbonded, jailed,
    /// under the model's minimum stake, or no longer a validator of it). Anyone may call it.
    function prunePeer(uint64 modelId, address account) external {
        Entry storage e = _entries[modelId][account];
        if (e.indexPlusOne == 0) revert StageDirectoryNoRecord(modelId, account);
        uint16 stage = e.record.stage;
        if (_qualifies(modelId, stage, account)) revert StageDirectoryStillMember(modelId, account);
        _unlist(modelId, e);
        delete _entries[modelId][account];
        emit PeerRemoved(modelId, stage, account, true);
    }

    /// @notice `account`'s record for `modelId` (`announcedAt` 0 when it has none). The record says
    /// what was published; whether the account still qualifies is the ledger's current word.
    function peerOf(uint64 modelId, address account) external view returns (PeerRecord memory record) {
        return _entries[modelId][account].record;
    }

    /// @notice Number of records in `stage` of `modelId`.
    function memberCount(uint64 modelId, uint16 stage) external view returns (uint256) {
        return _stageMembers[modelId][stage].length;
    }

    /// @notice Records of `stage` of `modelId` from position `offset`, at most `limit` of them.
    /// @dev Order is not stable across removals (a removal moves the last record into the gap).
    function membersOf(uint64 modelId, uint16 stage, uint256 offset, uint256 limit)
        external
        view
        returns (address[] memory accounts, PeerRecord[] memory records)
    {
        address[] storage members = _stageMembers[modelId][stage];
        uint256 end = offset + limit;
        if (end > members.length) end = members.length;
        uint256 n = end > offset ? end - offset : 0;
        accounts = new address[](n);
        records = new PeerRecord[](n);
        for (uint256 i; i < n; ++i) {
            address account = members[offset + i];
            accounts[i] = account;
            records[i] = _entries[modelId][account].record;
        }
    }

    function _qualifies(uint64 modelId, uint16 stage, address account) private view returns (bool) {
        if (ledger.isServingOperator(modelId, account)) return true;
        (uint64 validatorModel, uint16 validatorStage, bool active) = ledger.validatorStage(account);
        return active && validatorModel == modelId && validatorStage == stage;
    }

    function _checkMultiaddrs(string[] calldata multiaddrs) private pure {
        uint256 n = multiaddrs.length;
        if (n == 0 || n > MAX_MULTIADDRS) revert StageDirectoryBadMultiaddrs(n, MAX_MULTIADDRS, MAX_MULTIADDR_BYTES);
        for (uint256 i; i < n; ++i) {
            uint256 length = bytes(multiaddrs[i]).length;
            if (length == 0 || length > MAX_MULTIADDR_BYTES) {
                revert StageDirectoryBadMultiaddrs(n, MAX_MULTIADDRS, MAX_MULTIADDR_BYTES);
            }
        }
    }

    /// @dev Takes the entry's account out of its stage's list (swap with the last record, pop).
    function _unlist(uint64 modelId, Entry storage e) private {
        address[] storage members = _stageMembers[modelId][e.record.stage];
        uint256 index = e.indexPlusOne - 1;
        address last = members[members.length - 1];
        members[index] = last;
        _entries[modelId][last].indexPlusOne = index + 1;
        members.pop();
        e.indexPlusOne = 0;
    }
}
