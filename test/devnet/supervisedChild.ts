// A stand-in for a miner under the devnet's supervisor (test/devnet/supervisor.test.ts): listens
// on the TCP port of `--listen /ip4/127.0.0.1/tcp/<port>` (0 = any), logs `listening` with its
// address and its pid as a JSON line, then waits; `--exit <code>` exits with that code instead.
import { createServer } from "node:net";

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const exitCode = arg("--exit");
if (exitCode !== undefined) process.exit(Number(exitCode));
const port = Number(/\/tcp\/(\d+)$/.exec(arg("--listen") ?? "/tcp/0")?.[1] ?? 0);
const server = createServer();
server.listen(port, "127.0.0.1", () => {
  const bound = (server.address() as { port: number }).port;
  console.log(JSON.stringify({ msg: "listening", addrs: [`/ip4/127.0.0.1/tcp/${bound}`], pid: process.pid }));
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
