import { getBlock, watchBlockNumber } from "viem/actions";
import { InferenceRefundedError, InferenceTimeoutError, type InferenceNotFoundError, type NoDeploymentError } from "../../errors/sdk.ts";
import type { DeploymentsParameter, ShardholderClient } from "../internal/client.ts";
import { getInferenceRequest, type InferenceFulfillment, type InferenceRequest } from "./getInferenceRequest.ts";

export type WaitForInferenceParameters = DeploymentsParameter & {
  requestId: bigint;
  /** Give up after this many milliseconds of wall time (the chain deadline applies regardless). */
  timeoutMs?: number | undefined;
  /** Polling interval for HTTP transports (default: the client's). WebSocket transports subscribe to new heads. */
  pollingInterval?: number | undefined;
};

export type WaitForInferenceReturnType = InferenceFulfillment & { requestId: bigint; request: InferenceRequest };

export type WaitForInferenceErrorType = InferenceTimeoutError | InferenceRefundedError | InferenceNotFoundError | NoDeploymentError;

/**
 * Resolves with the fulfilment (output hash, operators, fee split) once a request is fulfilled;
 * rejects with {@link InferenceRefundedError} if it was refunded and with
 * {@link InferenceTimeoutError} once the chain passes its deadline unfulfilled (or `timeoutMs`
 * elapses). Checks on every new block: polled over HTTP, subscribed over WebSocket.
 *
 * @example
 * import { requestInference, waitForInference } from "@shardholder/sdk"
 * const { requestId } = await requestInference(walletClient, { deployments, modelId: 1n, input: "hi" })
 * const { outputHash } = await waitForInference(walletClient, { deployments, requestId, timeoutMs: 60_000 })
 */
export async function waitForInference(
  client: ShardholderClient,
  parameters: WaitForInferenceParameters,
): Promise<WaitForInferenceReturnType> {
  const { requestId } = parameters;
  return new Promise<WaitForInferenceReturnType>((resolve, reject) => {
    let settled = false;
    let unwatch: () => void = () => {};
    let timer: ReturnType<typeof setTimeout> | undefined;
    let checking = false;
    let recheck = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      unwatch();
      if (timer) clearTimeout(timer);
      fn();
    };
    const check = async (): Promise<void> => {
      if (checking) {
        recheck = true;
        return;
      }
      checking = true;
      try {
        do {
          recheck = false;
          const info = await getInferenceRequest(client, { deployments: parameters.deployments, requestId });
          if ((info.state === "fulfilled" || info.state === "released") && info.fulfillment) {
            const result = { ...info.fulfillment, requestId, request: info.request };
            return finish(() => resolve(result));
          }
          if (info.state === "refunded")
            return finish(() => reject(new InferenceRefundedError({ requestId, transactionHash: info.refundTransactionHash })));
          const { timestamp } = await getBlock(client);
          // The escrow accepts fulfilment strictly before the deadline; a block at or past it ends the wait.
          if (timestamp >= info.request.deadline)
            return finish(() => reject(new InferenceTimeoutError({ requestId, deadline: info.request.deadline, reason: "deadline" })));
        } while (recheck && !settled);
      } catch (err) {
        finish(() => reject(err));
      } finally {
        checking = false;
      }
    };
    unwatch = watchBlockNumber(client, {
      emitOnBegin: true,
      pollingInterval: parameters.pollingInterval,
      onBlockNumber: () => void check(),
      onError: (err) => finish(() => reject(err)),
    });
    if (parameters.timeoutMs !== undefined)
      timer = setTimeout(() => {
        void getInferenceRequest(client, { deployments: parameters.deployments, requestId })
          .then((info) =>
            finish(() => reject(new InferenceTimeoutError({ requestId, deadline: info.request.deadline, reason: "timeout" }))),
          )
          .catch((err: unknown) => finish(() => reject(err)));
      }, parameters.timeoutMs);
  });
}
