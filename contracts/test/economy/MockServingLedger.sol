// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IComputeLedger, IServingVerdicts} from "../../interfaces/IComputeLedger.sol";

/// @title Test double of the compute ledger's serving side (the real ledger is tested on its own and end to end)
/// @dev Serving disputes are recorded and decided by the test (`decide`); an equivocation slash refunds
/// `slashableWei` at most, like a real slash of that size would.
contract MockServingLedger is IComputeLedger {
    struct OpenedDispute {
        uint64 modelId;
        uint64 requestId;
        uint16 stage;
        address operator;
        address challenger;
        uint256 refundCapWei;
        uint256 bondWei;
    }

    mapping(uint64 modelId => mapping(address operator => bool)) private _serving;
    OpenedDispute[] public opened;
    uint256 public slashableWei = 10 ether;
    uint256 public slashes;

    receive() external payable {}

    /// @notice Marks `operator` as serving (or not) for `modelId`.
    function setServing(uint64 modelId, address operator, bool serving) external {
        _serving[modelId][operator] = serving;
    }

    function setSlashableWei(uint256 amountWei) external {
        slashableWei = amountWei;
    }

    /// @inheritdoc IComputeLedger
    function isServingOperator(uint64 modelId, address operator) external view returns (bool) {
        return _serving[modelId][operator];
    }

    /// @inheritdoc IComputeLedger
    function findNonServingOperator(uint64 modelId, address caller, address[] calldata operators)
        external
        view
        returns (bool found, address operator)
    {
        if (!_serving[modelId][caller]) return (true, caller);
        for (uint256 i; i < operators.length; ++i) {
            operator = operators[i];
            if (operator != caller && !_serving[modelId][operator]) return (true, operator);
        }
        return (false, address(0));
    }

    /// @inheritdoc IComputeLedger
    function openServingDispute(
        uint64 modelId,
        uint64 requestId,
        uint16 stage,
        address operator,
        address challenger,
        uint256 refundCapWei
    ) external payable returns (uint256 disputeId) {
        opened.push(OpenedDispute(modelId, requestId, stage, operator, challenger, refundCapWei, msg.value));
        return opened.length;
    }

    /// @notice Ends dispute `disputeId` as a committee would: on fraud, refunds up to its cap from `slashableWei`.
    function decide(address escrow, uint256 disputeId, bool fraud) external {
        OpenedDispute memory d = opened[disputeId - 1];
        uint256 refundWei = fraud ? _min(d.refundCapWei, slashableWei) : 0;
        IServingVerdicts(escrow).onServingVerdict{value: refundWei}(d.requestId, d.stage, fraud, true);
    }

    /// @inheritdoc IComputeLedger
    function slashServingOperator(uint64, uint64 requestId, uint16 stage, address, address, uint256 refundCapWei)
        external
    {
        ++slashes;
        IServingVerdicts(msg.sender).onServingVerdict{value: _min(refundCapWei, slashableWei)}(requestId, stage, true, false);
    }

    function openedCount() external view returns (uint256) {
        return opened.length;
    }

    function _min(uint256 a, uint256 b) private pure returns (uint256) {
        return a < b ? a : b;
    }
}
