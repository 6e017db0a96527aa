// The misbehaving JSON-RPC proxy lives with the chaos bench (scripts/lib/chaos), which drives a
// whole network through it; tests use the same one.
export { type RpcProxy, startRpcProxy } from "../../scripts/lib/chaos/rpcProxy.ts";
