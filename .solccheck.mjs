import solc from "solc";
import fs from "node:fs";
import path from "node:path";
const root = "/work/wt-escrow";
const files = process.argv.slice(2);
const sources = {};
for (const f of files) sources[f] = { content: fs.readFileSync(path.join(root, f), "utf8") };
function findImports(p) {
  const rem = p.startsWith("forge-std/") ? path.join(root, "node_modules/@layerzerolabs/toolbox-foundry/lib/forge-std/", p.slice(10)) : null; const cands = [rem, path.join(root, p), path.join(root, "node_modules", p)].filter(Boolean);
  for (const c of cands) if (fs.existsSync(c)) return { contents: fs.readFileSync(c, "utf8") };
  return { error: "not found " + p };
}
const input = { language: "Solidity", sources, settings: { evmVersion: "cancun", optimizer: { enabled: true, runs: 200 }, outputSelection: { "*": { "*": ["evm.deployedBytecode.object"] } } } };
const out = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
for (const e of out.errors ?? []) console.log(e.severity, e.formattedMessage);
for (const [f, cs] of Object.entries(out.contracts ?? {})) for (const [n, c] of Object.entries(cs)) if (files.includes(f)) console.log(f, n, c.evm.deployedBytecode.object.length / 2);
