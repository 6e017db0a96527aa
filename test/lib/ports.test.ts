import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { ephemeralPortRange, fixedLoopbackPort, fixedPortRange, NoFixedPortError } from "./ports.ts";

describe("fixed loopback test ports", () => {
  it("reads the kernel's ephemeral range, and none where the file is missing", () => {
    expect(ephemeralPortRange(() => "32768\t60999\n")).toEqual([32768, 60999]);
    expect(
      ephemeralPortRange(() => {
        throw new Error("ENOENT");
      }),
    ).toBeUndefined();
  });

  it("gives each vitest worker its own slice, all below the ephemeral range", () => {
    const slices = [1, 2, 3].map((id) => fixedPortRange([32768, 60999], id));
    for (const [low, high] of slices) expect(low >= 20_000 && high < 32_768 && low < high).toBe(true);
    expect((slices[0] as [number, number])[1]).toBeLessThan((slices[1] as [number, number])[0]);
    // An ephemeral range reaching lower cuts the pool; one leaving no room is an error, not an overlap.
    expect(fixedPortRange([25_000, 60999], 8)[1]).toBeLessThan(25_000);
    expect(() => fixedPortRange([20_050, 60999], 1)).toThrow(NoFixedPortError);
  });

  it("hands out distinct ports of this worker's slice that bind, outside the ephemeral range", async () => {
    const [low, high] = fixedPortRange();
    const ephemeral = ephemeralPortRange();
    const ports = await Promise.all(Array.from({ length: 20 }, () => fixedLoopbackPort()));
    expect(new Set(ports).size).toBe(ports.length);
    for (const port of ports) {
      expect(port >= low && port <= high).toBe(true);
      if (ephemeral) expect(port < ephemeral[0] || port > ephemeral[1]).toBe(true);
    }
    const server = createServer();
    await new Promise<void>((resolve, reject) => server.once("error", reject).listen(ports[0], "127.0.0.1", resolve));
    await new Promise((resolve) => server.close(resolve));
  });
});
