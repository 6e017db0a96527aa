import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

/**
 * The whole protocol: the model token implementation (cloned per model), the registry, the
 * compute ledger bound to it, the inference escrow, the batch revenue claimer and the serving
 * directory where operators announce their endpoints, and the stage directory where stage members
 * publish their libp2p peer records.
 * Parameter `treasury` receives the protocol's share of inference fees (default: the deployer).
 */
export default buildModule("Shardholder", (m) => {
  const treasury = m.getParameter("treasury", m.getAccount(0));
  const modelTokenImplementation = m.contract("ModelToken");
  const modelRegistry = m.contract("ModelRegistry", [modelTokenImplementation]);
  // The ledger's validator and dispute entry points run in two modules it DELEGATECALLs.
  const validatorModule = m.contract("ComputeLedgerValidatorModule", [modelRegistry]);
  const disputeModule = m.contract("ComputeLedgerDisputeModule", [modelRegistry]);
  const computeLedger = m.contract("ComputeLedger", [modelRegistry, validatorModule, disputeModule]);
  m.call(modelRegistry, "bindLedger", [computeLedger]);
  const inferenceEscrow = m.contract("InferenceEscrow", [modelRegistry, computeLedger, treasury]);
  // The ledger takes serving disputes and slashes from the bound escrow only.
  m.call(modelRegistry, "bindEscrow", [inferenceEscrow]);
  const revenueClaimer = m.contract("RevenueClaimer");
  const servingDirectory = m.contract("ServingDirectory", [modelRegistry]);
  const stageDirectory = m.contract("StageDirectory", [modelRegistry, computeLedger]);
  return { modelTokenImplementation, modelRegistry, computeLedger, inferenceEscrow, revenueClaimer, servingDirectory, stageDirectory };
});
