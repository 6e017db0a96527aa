export {
  BACKEND_ORDER,
  type BackendAttempt,
  type BackendName,
  type BackendSelection,
  BackendUnavailableError,
  describeBackendSelection,
  parseBackendName,
  selectBackend,
  type SelectBackendParameters,
} from "./select.ts";
