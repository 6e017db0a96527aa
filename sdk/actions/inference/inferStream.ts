import { OutputMismatchError } from "../../errors/inference.ts";
import { type EndpointStreamEvent, endpointPaths, endpointUrl, textHash } from "../../protocol/servingEndpoint.ts";
import type { ShardholderClient } from "../internal/client.ts";
import { type InferErrorType, type InferParameters, type InferReturnType, payInference, settleInference, toInferError } from "./infer.ts";

export type InferStreamParameters = InferParameters;

/**
 * The text as the pipeline generates it (`for await`), and the verified result. Streamed pieces
 * are unverified until `result` resolves; the iteration ends by throwing
 * {@link OutputMismatchError} if what it streamed is not the text the operator fulfilled with.
 */
export type InferStreamReturnType = AsyncIterable<string> & {
  requestId: bigint;
  /** The endpoint that took the prompt. */
  url: string;
  /** Resolves like `infer` once the fulfilment is on-chain and the text checked against its hash. */
  result: Promise<InferReturnType>;
};

export type InferStreamErrorType = InferErrorType;

/** Lines of an NDJSON response body, decoded as they arrive. */
async function* ndjson(body: ReadableStream<Uint8Array>): AsyncGenerator<EndpointStreamEvent> {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(chunk, { stream: true });
    let newline = buffered.indexOf("\n");
    while (newline >= 0) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (line) yield JSON.parse(line) as EndpointStreamEvent;
      newline = buffered.indexOf("\n");
    }
  }
}

/**
 * Like {@link infer}, with the text streamed as it is generated: pays (same checks, same typed
 * errors before any fee moves), then yields the endpoint's pieces of text while the pipeline
 * generates them. When the endpoint cannot stream, the iteration yields the verified text once it
 * is fulfilled instead. Await `result` for the fee split and transaction hashes.
 *
 * @example
 * import { inferStream } from "@shardholder/sdk"
 * const stream = await inferStream(walletClient, { deployments, modelId: 1n, prompt: "The jury", maxFeeWei: parseEther("0.01") })
 * for await (const piece of stream) process.stdout.write(piece)
 * const { requestId, holdersWei } = await stream.result
 */
export async function inferStream(client: ShardholderClient, parameters: InferStreamParameters): Promise<InferStreamReturnType> {
  let paid: Awaited<ReturnType<typeof payInference>>;
  try {
    paid = await payInference(client, parameters);
  } catch (err) {
    throw toInferError(err);
  }
  const result = settleInference(client, parameters, paid).catch((err: unknown) => {
    throw toInferError(err);
  });
  // A caller that only iterates must not see an unhandled rejection: the iterator rethrows it.
  result.catch(() => {});
  const { requestId, endpoint } = paid;

  async function* pieces(): AsyncGenerator<string> {
    let streamed = "";
    try {
      const res = await fetch(endpointUrl(endpoint.url, endpointPaths.outputStream(requestId)));
      if (res.ok && res.body) {
        for await (const event of ndjson(res.body)) {
          if (!("text" in event)) break;
          streamed += event.text;
          yield event.text;
        }
      }
    } catch {
      // The stream is a convenience: the verified text below is what counts.
    }
    const { text, outputHash } = await result;
    if (!text.startsWith(streamed))
      throw new OutputMismatchError({ requestId, url: endpoint.url, expectedHash: outputHash, receivedHash: textHash(streamed) });
    if (text.length > streamed.length) yield text.slice(streamed.length);
  }

  const iterator = pieces();
  return { requestId, url: endpoint.url, result, [Symbol.asyncIterator]: () => iterator };
}
