// The off-chain half of an inference, shared by the SDK (client) and the worker (server): the
// escrow stores only `inputHash` and `outputHash`, and the text travels over a serving operator's
// small content-addressed HTTP store, announced on-chain in the ServingDirectory:
//   PUT  <url>/inputs          body = prompt (UTF-8)  -> 200 {"inputHash"}; 413 above MAX_PROMPT_BYTES
//   GET  <url>/outputs/<id>    -> 200 {"requestId","output","outputHash"} once fulfilled, 404 before
//   GET  <url>/health          -> 200 {"maxPromptBytes"}
import { type Hex, keccak256, toBytes } from "viem";

/** Longest prompt a serving endpoint accepts, in UTF-8 bytes; `infer` refuses longer ones before any fee moves. */
export const MAX_PROMPT_BYTES = 4096;

/** keccak256 of the UTF-8 bytes of a text: both the escrow's `inputHash` and the fulfilled `outputHash`. */
export const textHash = (text: string): Hex => keccak256(toBytes(text));

/** UTF-8 length of a text in bytes (what `MAX_PROMPT_BYTES` bounds). */
export const utf8Bytes = (text: string): number => new TextEncoder().encode(text).length;

/** Paths of a serving endpoint, relative to its announced base URL. */
export const endpointPaths = {
  inputs: "/inputs",
  output: (requestId: bigint): string => `/outputs/${requestId}`,
  outputStream: (requestId: bigint): string => `/outputs/${requestId}/stream`,
  health: "/health",
} as const;

/** What `GET /outputs/<id>` returns once the request is fulfilled. */
export type EndpointOutput = { requestId: string; output: string; outputHash: Hex };

/** Joins an announced base URL and an endpoint path (a trailing slash on the base is allowed). */
export const endpointUrl = (base: string, path: string): string => `${base.replace(/\/+$/, "")}${path}`;

/**
 * One line of `GET /outputs/<id>/stream` (NDJSON): text as it is generated, then `done` with the
 * hash the operator fulfils with, or `abandoned` when it gave the request up. Streamed text is
 * unverified until the fulfilment's `outputHash` is on-chain.
 */
export type EndpointStreamEvent = { text: string } | { done: true; outputHash: Hex } | { abandoned: string };
