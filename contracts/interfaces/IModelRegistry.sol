// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Model registry interface
/// @notice The immutable economic terms of a model, fixed at registration, and the getters that
/// the escrow and the compute ledger read. Model ids start at 1 and increase by one.
interface IModelRegistry {
    /// @notice Token emission per finalized round: `tokensPerRound * (1 - decayBps/1e4)^round`,
    /// never past `capTokens` in total (the token's hard cap). Amounts are in token wei (18 decimals).
    struct Emission {
        uint128 tokensPerRound;
        uint16 decayBps;
        uint128 capTokens;
    }

    /// @notice Round timing in seconds. Round `r` of a model commits during
    /// `[genesis + r*commitWindowSec, genesis + (r+1)*commitWindowSec)`, can be challenged during the
    /// following `challengeWindowSec`, and a dispute's committee votes within `voteWindowSec`.
    struct Timing {
        uint32 commitWindowSec;
        uint32 challengeWindowSec;
        uint32 voteWindowSec;
    }

    /// @notice Everything a designer passes to `registerModel`. Economic fields are immutable.
    // solhint-disable-next-line gas-struct-packing
    struct ModelSpec {
        string name;
        string symbol;
        /// keccak256 of the canonical model spec JSON (layers, stage boundaries, dataset, tokenizer, hyperparameters)
        bytes32 specHash;
        /// one entry per stage: the Merkle root of the stage's initial weights (docs/PROTOCOL.md)
        bytes32[] initialWeightsRoots;
        /// one entry per stage: compute units one microbatch of that stage is worth (derived from the spec)
        uint64[] unitsPerMicrobatch;
        /// most microbatches one stage worker may commit per round
        uint32 microbatchesPerRound;
        Emission emission;
        /// share of each inference fee for the protocol treasury, <= 500
        uint16 protocolFeeBps;
        /// share of each inference fee for the serving operators; holders get the rest
        uint16 operatorFeeBps;
        /// share of each round's emission minted to the designer, <= 2000
        uint16 designerEmissionBps;
        /// share of each round's emission minted to the validators who attested its sampled items, <= 2000
        uint16 validatorEmissionBps;
        /// smallest fee an inference request of this model may escrow
        uint128 minRequestFeeWei;
        Timing timing;
        uint128 minWorkerStakeWei;
        uint128 minValidatorStakeWei;
        /// editable later by the designer; not part of the economic terms
        string metadataURI;
    }

    /// @notice A registered model as stored (the per-stage arrays are read through their own getters).
    struct Model {
        address designer;
        address token;
        uint64 genesisTime;
        uint16 stageCount;
        uint32 microbatchesPerRound;
        bytes32 specHash;
        Emission emission;
        uint16 protocolFeeBps;
        uint16 operatorFeeBps;
        uint16 designerEmissionBps;
        uint16 validatorEmissionBps;
        uint128 minRequestFeeWei;
        Timing timing;
        uint128 minWorkerStakeWei;
        uint128 minValidatorStakeWei;
    }

    /// @notice The compute ledger was bound (once); it is the minter of every model token.
    event LedgerBound(address indexed ledger);
    /// @notice The inference escrow was bound (once); the ledger takes serving disputes and slashes from it only.
    event EscrowBound(address indexed escrow);
    /// @notice A model was registered and its token deployed.
    event ModelRegistered(
        uint64 indexed modelId,
        address indexed designer,
        address indexed token,
        bytes32 specHash,
        uint16 stageCount,
        string name,
        string symbol
    );
    /// @notice The designer changed the model's metadata URI (the only editable field).
    event MetadataURISet(uint64 indexed modelId, string metadataURI);

    function registerModel(ModelSpec calldata spec) external returns (uint64 modelId, address token);
    function setMetadataURI(uint64 modelId, string calldata metadataURI) external;
    function metadataURI(uint64 modelId) external view returns (string memory);
    function ledger() external view returns (address);
    function escrow() external view returns (address);

    function model(uint64 modelId) external view returns (Model memory);
    function modelCount() external view returns (uint64);
    function tokenOf(uint64 modelId) external view returns (address);
    function unitsPerMicrobatch(uint64 modelId, uint16 stage) external view returns (uint64);
    function initialWeightsRoot(uint64 modelId, uint16 stage) external view returns (bytes32);
}
