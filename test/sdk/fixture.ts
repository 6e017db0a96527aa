// The suites' chain fixture: the protocol deployed on a fresh in-process chain and its helpers,
// defined in scripts/lib/localProtocol.ts so that scripts (which must not import test/) share it.
export {
  accountAt,
  actionsOf,
  deployShardholder,
  mintRound,
  placeholderServing,
  type Shardholder,
  signedServing,
  testSpec,
} from "../../scripts/lib/localProtocol.ts";
