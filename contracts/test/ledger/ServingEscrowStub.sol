// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IComputeLedger, IServingVerdicts} from "../../interfaces/IComputeLedger.sol";

/// @title Stands in for the inference escrow on the ledger's serving side: opens disputes and slashes
/// as the escrow would after its checks, and records every verdict the ledger reports
/// @dev The real escrow is tested against a ledger double (InferenceEscrowServing.t.sol) and end to end
/// with the real ledger in TypeScript: one Solidity job holding both contracts trips the wasm solc.
contract ServingEscrowStub is IServingVerdicts {
    struct Verdict {
        uint256 requestId;
        uint16 stage;
        bool fraud;
        bool closesDispute;
        uint256 refundWei;
    }

    IComputeLedger public immutable ledger;
    Verdict[] public verdicts;

    constructor(IComputeLedger ledger_) {
        ledger = ledger_;
    }

    function open(uint64 modelId, uint64 requestId, uint16 stage, address operator, address challenger, uint256 capWei)
        external
        payable
        returns (uint256)
    {
        return ledger.openServingDispute{value: msg.value}(modelId, requestId, stage, operator, challenger, capWei);
    }

    function slash(uint64 modelId, uint64 requestId, uint16 stage, address operator, address beneficiary, uint256 capWei)
        external
    {
        ledger.slashServingOperator(modelId, requestId, stage, operator, beneficiary, capWei);
    }

    /// @inheritdoc IServingVerdicts
    function onServingVerdict(uint256 requestId, uint16 stage, bool fraud, bool closesDispute) external payable {
        require(msg.sender == address(ledger), "not the ledger");
        verdicts.push(Verdict(requestId, stage, fraud, closesDispute, msg.value));
    }

    function verdictCount() external view returns (uint256) {
        return verdicts.length;
    }
}
