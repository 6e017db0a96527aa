import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { textHash } from "../../sdk/protocol/servingEndpoint.ts";
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
