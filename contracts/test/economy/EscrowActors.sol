// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IInferenceEscrow} from "../../interfaces/IInferenceEscrow.sol";
import {InferenceEscrow} from "../../InferenceEscrow.sol";

/// @title A requester whose receive() tries to refund again (to prove the escrow's guard)
contract ReentrantRequester {
    InferenceEscrow public immutable escrow;
    IInferenceEscrow.InferenceRequest public pending;
    uint256 public pendingId;
    bool public reentryBlocked;

    constructor(InferenceEscrow escrow_) {
        escrow = escrow_;
    }

    function request(uint64 modelId, bytes32 pipelineKey, uint64 deadline) external payable returns (uint256 id) {
        id = escrow.request{value: msg.value}(modelId, pipelineKey, keccak256("in"), deadline);
        pending =
            IInferenceEscrow.InferenceRequest(modelId, pipelineKey, address(this), msg.value, deadline, keccak256("in"));
        pendingId = id;
    }

    receive() external payable {
        try escrow.refund(pendingId, pending) {
            reentryBlocked = false;
        } catch {
            reentryBlocked = true;
        }
    }
}
