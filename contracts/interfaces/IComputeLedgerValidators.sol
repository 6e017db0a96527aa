// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IComputeLedgerTypes} from "./IComputeLedgerTypes.sol";

/// @title Entry points of the compute ledger implemented by its delegated module: attestations,
/// validator rewards, weights-continuity and pipeline-link proofs
interface IComputeLedgerValidators is IComputeLedgerTypes {
    function sealRoundSeed(uint64 modelId, uint64 round) external returns (bytes32 seed);
    function attestItems(CommittedItem[] calldata items, uint32[] calldata draws) external;
    function mintValidatorReward(uint64 modelId, uint64 round, address validator) external returns (uint256 tokens);
    function slashFalseAttestation(uint256 disputeId, address validator) external;
    function proveWeightsBreak(Commitment calldata previous, Commitment calldata current) external;
    function proveUnlinked(CommittedItem calldata item, CommittedItem calldata neighbour, CommittedItem calldata partner)
        external;
    function proveDuplicate(
        CommittedItem calldata copy,
        CommittedItem calldata original,
        CommittedItem calldata originalUpstream,
        CommittedItem[] calldata copyUpstream
    ) external;
    function proveMisordered(CommittedItem calldata a, CommittedItem calldata b) external;
    function proveLinkEquivocation(
        CommittedItem calldata liar,
        LinkReceipt calldata receipt,
        bytes calldata signature,
        CommittedItem[] calldata beneficiary
    ) external;
}
