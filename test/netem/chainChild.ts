/** Builds a shaped chain, prints its namespaces, then waits to be interrupted (shapedLinks.test.ts). */
import { createShapedChain } from "../../scripts/lib/netem/chain.ts";

const chain = await createShapedChain([{ rateMbit: 10, rttMs: 10, loss: 0 }]);
process.stdout.write(`${JSON.stringify({ namespaces: [chain.plan.relayNamespace, ...chain.plan.stageNamespaces] })}\n`);
setInterval(() => undefined, 60_000);
