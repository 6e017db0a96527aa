import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { textHash } from "../../sdk/protocol/servingEndpoint.ts";
import { keccak256 } from "viem";
import { ServingLog } from "./servingRecord.ts";
import { ContentStore, serveContentStore } from "./store.ts";

describe("the content store speaks to browser dapps", () => {
  let server: Awaited<ReturnType<typeof serveContentStore>>;
  beforeAll(async () => {
    server = await serveContentStore(new ContentStore());
  });
  afterAll(() => server.close());

  it("answers the CORS preflight of PUT /inputs", async () => {
    const res = await fetch(`${server.url}/inputs`, {
      method: "OPTIONS",
      headers: {
        origin: "http://127.0.0.1:5190",
        "access-control-request-method": "PUT",
        "access-control-request-headers": "content-type",
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(res.headers.get("access-control-allow-methods")).toContain("PUT");
  });

  it("lets any origin read its answers", async () => {
    const put = await fetch(`${server.url}/inputs`, { method: "PUT", body: "hello", headers: { origin: "http://example.test" } });
    expect(put.headers.get("access-control-allow-origin")).toBe("*");
    expect(await put.json()).toEqual({ inputHash: textHash("hello") });
    const missing = await fetch(`${server.url}/outputs/7`, { headers: { origin: "http://example.test" } });
    expect(missing.status).toBe(404);
    expect(missing.headers.get("access-control-allow-origin")).toBe("*");
  });
});

describe("the content store serves stage 0's serving records", () => {
  it("answers a request's record and its payloads by hash, 404 for what it does not hold", async () => {
    const log = new ServingLog();
    const input = keccak256("0x01");
    log.begin(9n, 0, input);
    const sent = Uint8Array.of(1, 2, 3, 4);
    const outputHash = log.served(9n, undefined, sent);
    const server = await serveContentStore(new ContentStore(), { serving: log });
    try {
      const record = (await (await fetch(`${server.url}/serving/9`)).json()) as Record<string, unknown>;
      expect(record).toMatchObject({ requestId: "9", stage: 0, inputHash: input, positions: [{ outputHash }] });
      const bytes = new Uint8Array(await (await fetch(`${server.url}/serving/payloads/${outputHash}`)).arrayBuffer());
      expect(bytes).toEqual(sent);
      expect((await fetch(`${server.url}/serving/10`)).status).toBe(404);
      expect((await fetch(`${server.url}/serving/payloads/${keccak256("0x02")}`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
