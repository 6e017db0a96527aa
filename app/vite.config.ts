// Vite build of the Shardholder web app: a static page (app/dist) that `startApp` serves with its
// configuration, a JSON-RPC proxy and the loss reports. Preact through the automatic JSX runtime
// (no plugin needed); the SDK and viem are imported as sources/ESM and tree-shaken.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: here,
  base: "/",
  publicDir: false,
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: path.join(here, "dist"),
    emptyOutDir: true,
    target: "es2022",
    reportCompressedSize: true,
    chunkSizeWarningLimit: 400,
  },
  // `vite app` (development): the SDK lives one folder up; the app's server answers /config.json,
  // /rpc and /api/loss, so run `shardholder app --port 5190` beside it.
  server: {
    fs: { allow: [path.resolve(here, "..")] },
    proxy: { "/config.json": "http://127.0.0.1:5190", "/rpc": "http://127.0.0.1:5190", "/api": "http://127.0.0.1:5190" },
  },
});
