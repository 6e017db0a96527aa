/*
 * A batched matmul kernel in WebAssembly SIMD, for the products tfjs-wasm cannot send to
 * XNNPACK: its BatchMatMul runs batched (rank >= 3) products through a scalar fallback loop at
 * ~2 GFLOP/s, and attention is nothing but such products (per head, per sequence). This module
 * is emitted byte by byte below (no toolchain needed at install time) and computes
 *
 *   C[g] = A[g] x B[g]      A: [G, M, K], B: [G, K, N], C: [G, M, N], float32, row-major,
 *
 * as outer products: for each row of A and each block of 16 columns, four f32x4 accumulators
 * gain A[i, k] * B[k, j..j+16] for k = 0, 1, ... in order. Every output is thus the plain
 * sequential sum over k, bitwise reproducible on every machine (wasm floats are IEEE, without
 * fused multiply-add), and no horizontal sums are needed.
 */

/** Shapes the kernel takes: N a multiple of 16 (four vectors of four outputs). */
export function simdBatchMatMulSupports(n: number, k: number): boolean {
  return n > 0 && k > 0 && n % 16 === 0;
}

const I32 = 0x7f;
const V128 = 0x7b;
const op = {
  block: 0x02,
  loop: 0x03,
  br: 0x0c,
  brIf: 0x0d,
  end: 0x0b,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  f32Load: 0x2a,
  i32Const: 0x41,
  i32GeU: 0x4f,
  i32LtU: 0x49,
  f32Add: 0x92,
  i32Add: 0x6a,
  i32Mul: 0x6c,
  i32DivU: 0x6e,
  i32Shl: 0x74,
  simd: 0xfd,
} as const;
const simd = { load: [0x00], store: [0x0b], const: [0x0c], splatF32: [0x13], addF32x4: [0xe4, 0x01], mulF32x4: [0xe6, 0x01] } as const;

function uleb(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

function sleb(value: number): number[] {
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const name = (s: string): number[] => vec([...s].map((c) => [c.charCodeAt(0)]));

/** The kernel's bytecode: `bmm(a, b, c, G, M, N, K)` with byte addresses a, b, c. */
function kernelBody(): number[] {
  // Parameters 0..6, then locals.
  const [a, b, c, rows, m, n, k] = [0, 1, 2, 3, 4, 5, 6];
  const [nBytes, pc, r, rowStart, rowEnd, bBase, jb, pa, pb] = [7, 8, 9, 10, 11, 12, 13, 14, 15];
  const [acc0, acc1, acc2, acc3, va] = [16, 17, 18, 19, 20];
  const get = (i: number) => [op.localGet, i];
  const set = (i: number) => [op.localSet, i];
  const i32 = (v: number) => [op.i32Const, ...sleb(v)];
  const zero = [op.simd, ...simd.const, ...new Array<number>(16).fill(0)];
  const fma = (acc: number, offset: number) => [
    ...get(acc),
    ...get(va),
    ...get(pb),
    op.simd,
    ...simd.load,
    2,
    ...uleb(offset),
    op.simd,
    ...simd.mulF32x4,
    op.simd,
    ...simd.addF32x4,
    ...set(acc),
  ];
  const store = (acc: number, offset: number) => [...get(pc), ...get(acc), op.simd, ...simd.store, 2, ...uleb(offset)];
  const bump = (ptr: number, bytes: number[]) => [...get(ptr), ...bytes, op.i32Add, ...set(ptr)];
  const body = [
    // nBytes = N * 4; rows = G * M; pc = c; r = 0
    ...get(n),
    ...i32(2),
    op.i32Shl,
    ...set(nBytes),
    ...get(rows),
    ...get(m),
    op.i32Mul,
    ...set(rows),
    ...get(c),
    ...set(pc),
    ...i32(0),
    ...set(r),
    op.block,
    0x40,
    op.loop,
    0x40,
    ...get(r),
    ...get(rows),
    op.i32GeU,
    op.brIf,
    1,
    // rowStart = a + r * K * 4; rowEnd = rowStart + K * 4; bBase = b + (r / M) * K * nBytes; jb = 0
    ...get(a),
    ...get(r),
    ...get(k),
    op.i32Mul,
    ...i32(2),
    op.i32Shl,
    op.i32Add,
    op.localTee,
    rowStart,
    ...get(k),
    ...i32(2),
    op.i32Shl,
    op.i32Add,
    ...set(rowEnd),
    ...get(b),
    ...get(r),
    ...get(m),
    op.i32DivU,
    ...get(k),
    op.i32Mul,
    ...get(nBytes),
    op.i32Mul,
    op.i32Add,
    ...set(bBase),
    ...i32(0),
    ...set(jb),
    op.block,
    0x40,
    op.loop,
    0x40,
    ...get(jb),
    ...get(nBytes),
    op.i32GeU,
    op.brIf,
    1,
    ...get(rowStart),
    ...set(pa),
    ...get(bBase),
    ...get(jb),
    op.i32Add,
    ...set(pb),
    ...zero,
    ...set(acc0),
    ...zero,
    ...set(acc1),
    ...zero,
    ...set(acc2),
    ...zero,
    ...set(acc3),
    // for k: va = splat(A[i, k]); acc_t += va * B[k, jb + 4t .. jb + 4t + 4]
    op.loop,
    0x40,
    ...get(pa),
    op.f32Load,
    2,
    0,
    op.simd,
    ...simd.splatF32,
    ...set(va),
    ...fma(acc0, 0),
    ...fma(acc1, 16),
    ...fma(acc2, 32),
    ...fma(acc3, 48),
    ...bump(pa, i32(4)),
    ...bump(pb, get(nBytes)),
    ...get(pa),
    ...get(rowEnd),
    op.i32LtU,
    op.brIf,
    0,
    op.end,
    ...store(acc0, 0),
    ...store(acc1, 16),
    ...store(acc2, 32),
    ...store(acc3, 48),
    ...bump(pc, i32(64)),
    ...bump(jb, i32(64)),
    op.br,
    0,
    op.end,
    op.end,
    ...bump(r, i32(1)),
    op.br,
    0,
    op.end,
    op.end,
    op.end,
  ];
  const locals = vec([
    [...uleb(9), I32],
    [...uleb(5), V128],
  ]);
  const code = [...locals, ...body];
  return [...uleb(code.length), ...code];
}

function kernelModuleBytes(): Uint8Array {
  const bytes = [
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec([[0x60, ...vec(new Array<number[]>(7).fill([I32])), ...vec([])]])),
    ...section(3, vec([[0]])),
    ...section(5, vec([[0x00, ...uleb(1)]])),
    ...section(
      7,
      vec([
        [...name("bmm"), 0x00, 0],
        [...name("mem"), 0x02, 0],
      ]),
    ),
    ...section(10, vec([kernelBody()])),
  ];
  return new Uint8Array(bytes);
}

/** The slice of the WebAssembly JS API used here (the project's TypeScript lib has no DOM/wasm types). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: unknown };
  validate(bytes: Uint8Array): boolean;
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

type KernelExports = {
  bmm: (a: number, b: number, c: number, g: number, m: number, n: number, k: number) => void;
  mem: { readonly buffer: ArrayBuffer; grow(pages: number): number };
};

let kernel: KernelExports | undefined;

function instance(): KernelExports {
  if (!kernel) kernel = new wasmApi.Instance(new wasmApi.Module(kernelModuleBytes())).exports as KernelExports;
  return kernel;
}

/** Whether this JavaScript engine runs the SIMD kernel (it validates the module once). */
export function simdKernelAvailable(): boolean {
  try {
    return wasmApi.validate(kernelModuleBytes());
  } catch {
    return false;
  }
}

/**
 * `C[g] = A[g] x B[g]` for `A [G, M, K]`, `B [G, K, N]` row-major float32; N must be a multiple
 * of 16 (`simdBatchMatMulSupports`).
 *
 * @example
 * const c = simdBatchMatMul(a, b, 2, 64, 64, 32) // [2, 64, 64]
 */
export function simdBatchMatMul(a: Float32Array, b: Float32Array, g: number, m: number, n: number, k: number): Float32Array {
  if (!simdBatchMatMulSupports(n, k)) throw new RangeError(`N ${n} must be a positive multiple of 16 and K ${k} positive`);
  if (a.length !== g * m * k || b.length !== g * n * k)
    throw new RangeError(`A has ${a.length} values, B ${b.length}: expected ${g * m * k} and ${g * n * k}`);
  const { bmm, mem } = instance();
  const [aBytes, bBytes, cBytes] = [a.length * 4, b.length * 4, g * m * n * 4];
  const needed = aBytes + bBytes + cBytes;
  if (mem.buffer.byteLength < needed) mem.grow(Math.ceil((needed - mem.buffer.byteLength) / 65536));
  const heap = new Float32Array(mem.buffer);
  heap.set(a, 0);
  heap.set(b, a.length);
  bmm(0, aBytes, aBytes + bBytes, g, m, n, k);
  return heap.slice(a.length + b.length, a.length + b.length + g * m * n);
}
