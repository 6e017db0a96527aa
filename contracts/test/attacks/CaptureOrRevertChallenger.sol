// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ComputeLedger} from "../../ComputeLedger.sol";
import {IComputeLedgerTypes} from "../../interfaces/IComputeLedgerTypes.sol";

/// @dev The "committee for sale" attack of the previous design, as a contract: challenge, look at
/// the committee in the same transaction, revert unless its sybils hold a majority (retried every
/// block until they do). Against the redesign it can only report what it was able to see: no panel,
/// and a draw that reverts in the challenge's own block.
contract CaptureOrRevertChallenger {
    ComputeLedger internal immutable _ledger;

    constructor(ComputeLedger ledger_) payable {
        _ledger = ledger_;
    }

    function join(uint256 stakeWei, uint64 modelId, uint16 stage) external {
        _ledger.stake{value: stakeWei}(address(this), address(this));
        _ledger.setValidator(modelId, stage, true);
    }

    /// @return disputeId the dispute opened
    /// @return panelMembers members of the level-0 panel visible inside the challenge transaction
    /// @return drawError revert data of `drawCommittee` tried inside the challenge transaction
    function challengeAndInspect(IComputeLedgerTypes.CommittedItem calldata item, uint256 bondWei)
        external
        returns (uint256 disputeId, uint256 panelMembers, bytes memory drawError)
    {
        disputeId = _ledger.challengeItem{value: bondWei}(item);
        panelMembers = _ledger.panel(disputeId, 0).length;
        try _ledger.drawCommittee(disputeId) {
            drawError = "";
        } catch (bytes memory err) {
            drawError = err;
        }
    }

    receive() external payable {}
}
