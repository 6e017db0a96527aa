import { bytesToHex, keccak256 } from "viem";
import { encodeTensor } from "../sdk/protocol/tensorBytes.ts";
import { encodeFrame } from "../worker/p2p/frames.ts";
import { encodeTargets } from "../worker/p2p/wire.ts";
const a = encodeTensor({ dtype: "float32", shape: [1, 1, 3], data: new Float32Array([1, -0.5, 3.25]) });
const t = encodeTargets([1, 1], new Int32Array([66]));
const p = new Uint8Array(a.length + t.length); p.set(a); p.set(t, a.length);
console.log(bytesToHex(p), keccak256(p));
console.log(bytesToHex(encodeFrame({ kind: "activation", round: 2n, microbatch: 1, payload: p })));
