#!/usr/bin/env python3
"""PyTorch (CPU) reference of worker/model's training step, for `npm run bench:worker`.

The same model as worker/model (spec.ts, layout.ts, ops.ts, manual.ts): pre-LayerNorm
decoder-only character transformer, learned token and position embeddings, fused QKV attention
without biases (q | k | v column blocks of attn.qkv [d, 3d]), additive causal mask of -1e9, ReLU
MLP with biases, final LayerNorm, untied head with bias, mean cross-entropy. Matrices are stored
[in, out] as in layout.ts and applied as x @ W. LayerNorm: biased variance, epsilon 1e-5. One
optimizer step = microbatchesPerStep microbatches whose gradients are averaged, then Adam
(torch.optim.Adam: the same update as stage.ts, m_hat / (sqrt(v_hat) + eps), no weight decay).

Input: a directory written by scripts/lib/torchReference.ts:
  header.json   spec fields, parameters (canonical order: names and shapes), steps
  weights.f32   every stage's exportWeights(), stage after stage (little-endian float32)
  inputs.i32    token ids [steps, microbatchesPerStep, B, T] (little-endian int32)
  targets.i32   next-token ids, same shape
Output: one JSON line on stdout (losses per step, step seconds, BLAS that ran, matmul GFLOP/s).

Only what Debian ships (python3, python3-torch); no pip.

Usage: bench-torch.py --input DIR [--threads N] [--warmup 1] [--matmul-seconds 1]
       bench-torch.py --matmul-only [--threads N]
"""
import argparse
import json
import math
import os
import re
import sys
import time

import torch
import torch.nn.functional as F


def loaded_blas_libraries():
    """Shared objects named *blas* / *lapack* that this process has mapped (what actually runs)."""
    libs = []
    with open("/proc/self/maps", encoding="utf8") as maps:
        for line in maps:
            parts = line.split()
            if len(parts) < 6:
                continue
            path = parts[5]
            name = os.path.basename(path).lower()
            if ("blas" in name or "lapack" in name or "mkl" in name) and path not in libs:
                libs.append(path)
    real = []
    for path in libs:
        resolved = os.path.realpath(path)
        real.append(path if resolved == path else f"{path} -> {resolved}")
    return real


def blas_name(libs):
    text = " ".join(libs).lower()
    if "openblas" in text:
        return "openblas-openmp" if "openmp" in text else ("openblas-pthread" if "pthread" in text else "openblas")
    if "mkl" in text:
        return "mkl"
    if "blis" in text:
        return "blis"
    if "atlas" in text:
        return "atlas"
    if "libblas" in text:
        return "reference (netlib libblas3)"
    return "unknown"


def matmul_gflops(n=512, min_seconds=1.0):
    a = torch.rand(n, n) * 2 - 1
    b = torch.rand(n, n) * 2 - 1
    for _ in range(3):
        torch.mm(a, b)
    iterations = 0
    start = time.perf_counter()
    elapsed = 0.0
    while elapsed < min_seconds or iterations < 5:
        torch.mm(a, b)
        iterations += 1
        elapsed = time.perf_counter() - start
    return 2 * n * n * n * iterations / elapsed / 1e9


def layer_norm(x, gain, bias, eps=1e-5):
    mean = x.mean(-1, keepdim=True)
    centered = x - mean
    variance = (centered * centered).mean(-1, keepdim=True)
    return centered * torch.rsqrt(variance + eps) * gain + bias


class CharTransformer:
    def __init__(self, header, flat):
        self.d = header["dModel"]
        self.heads = header["heads"]
        self.layers = header["layers"]
        self.params = {}
        offset = 0
        for p in header["parameters"]:
            size = math.prod(p["shape"])
            t = flat[offset:offset + size].reshape(p["shape"]).clone().requires_grad_(True)
            self.params[p["name"]] = t
            offset += size
        if offset != flat.numel():
            raise ValueError(f"weights file holds {flat.numel()} values, the parameters {offset}")
        self.order = [p["name"] for p in header["parameters"]]
        t = header["contextLength"]
        lower = torch.tril(torch.ones(t, t))
        self.mask = (1 - lower) * -1e9

    def parameters(self):
        return [self.params[n] for n in self.order]

    def block(self, x, layer, batch, time_):
        p = lambda role: self.params[f"block.{layer}.{role}"]
        d, heads = self.d, self.heads
        dh = d // heads
        h = layer_norm(x, p("ln1.gain"), p("ln1.bias"))
        qkv = h @ p("attn.qkv")
        q, k, v = (t.reshape(batch, time_, heads, dh).transpose(1, 2) for t in qkv.split(d, dim=1))
        scores = (q @ k.transpose(-1, -2)) * (1 / math.sqrt(dh)) + self.mask[:time_, :time_]
        mixed = torch.softmax(scores, dim=-1) @ v
        x = x + mixed.transpose(1, 2).reshape(batch * time_, d) @ p("attn.out")
        h2 = layer_norm(x, p("ln2.gain"), p("ln2.bias"))
        r = torch.relu(torch.addmm(p("mlp.inBias"), h2, p("mlp.in")))
        return x + torch.addmm(p("mlp.outBias"), r, p("mlp.out"))

    def loss(self, ids, targets):
        batch, time_ = ids.shape
        x = self.params["embed.token"][ids.reshape(-1)] + self.params["embed.position"][:time_].repeat(batch, 1)
        for layer in range(self.layers):
            x = self.block(x, layer, batch, time_)
        h = layer_norm(x, self.params["final.ln.gain"], self.params["final.ln.bias"])
        logits = torch.addmm(self.params["head.bias"], h, self.params["head.weight"])
        return F.cross_entropy(logits, targets.reshape(-1))


def read_tensor(path, dtype, count):
    with open(path, "rb") as f:
        data = bytearray(f.read())
    t = torch.frombuffer(data, dtype=dtype)
    if t.numel() != count:
        raise ValueError(f"{path}: {t.numel()} values, expected {count}")
    return t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--input")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--matmul-seconds", type=float, default=1.0)
    ap.add_argument("--matmul-only", action="store_true")
    args = ap.parse_args()
    if sys.byteorder != "little":
        raise SystemExit("little-endian machine required")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    gflops = matmul_gflops(512, args.matmul_seconds) if args.matmul_seconds > 0 else None
    libs = loaded_blas_libraries()
    out = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "ompWaitPolicy": os.environ.get("OMP_WAIT_POLICY"),
        "blas": blas_name(libs),
        "blasLibraries": libs,
        "buildBlas": " ".join(re.findall(r"(?:BLAS|LAPACK)_INFO=[^,]*", torch.__config__.show())),
        "matmul512Gflops": gflops,
    }
    if args.matmul_only:
        print(json.dumps(out))
        return
    with open(os.path.join(args.input, "header.json"), encoding="utf8") as f:
        header = json.load(f)
    steps, m, b, t = header["steps"], header["microbatchesPerStep"], header["microbatchSize"], header["contextLength"]
    total = sum(math.prod(p["shape"]) for p in header["parameters"])
    model = CharTransformer(header, read_tensor(os.path.join(args.input, "weights.f32"), torch.float32, total))
    ids = read_tensor(os.path.join(args.input, "inputs.i32"), torch.int32, steps * m * b * t).long().reshape(steps, m, b, t)
    targets = read_tensor(os.path.join(args.input, "targets.i32"), torch.int32, steps * m * b * t).long().reshape(steps, m, b, t)
    opt = header["optimizer"]
    adam = torch.optim.Adam(model.parameters(), lr=opt["learningRate"], betas=(opt["beta1"], opt["beta2"]), eps=opt["epsilon"])
    losses, step_seconds = [], []
    for step in range(steps):
        start = time.perf_counter()
        adam.zero_grad(set_to_none=True)
        total_loss = 0.0
        for mb in range(m):
            loss = model.loss(ids[step, mb], targets[step, mb])
            (loss / m).backward()
            total_loss += loss.item()
        adam.step()
        elapsed = time.perf_counter() - start
        losses.append(total_loss / m)
        if step >= args.warmup:
            step_seconds.append(elapsed)
    out.update({"losses": losses, "stepSeconds": step_seconds, "warmupSteps": args.warmup})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
