#!/usr/bin/env python3
"""table.py — the GPU kit's one table: rbmgpu's step benchmarks (go test -bench
output) against the PyTorch peer (torch_rbm.py JSON lines) and the GEMM ceiling.

    python3 bench/gpu/table.py --ours ours.txt --torch torch.jsonl

Columns: config | ours samples/s | torch eager | torch compiled | ours/eager |
ours/compiled | ours % of GEMM ceiling | GEMM fp32 / tf32 TFLOP/s.
"ours % of GEMM ceiling" is ours' FLOP rate (bench/cost.go: (2k+3)·2·B·V·H per
CD-k step) over torch.mm's float32 rate (TF32 off) for the step's dominant
product [B,V]x[V,H]: the fraction of what the card's BLAS does on that shape.
Runs with any Python 3; no third-party packages.
"""

import argparse
import json
import re
import sys

BENCH = re.compile(r"^Benchmark(Step|Epoch)/(\S+?)(?:-\d+)?\s+(\d+)\s+([\d.e+]+) ns/op(.*)$")
STEP = re.compile(r"^([^/]+)/(P?CD)-(\d+)/(\d+)x(\d+)/B(\d+)$")


def parse_ours(path):
    steps, epochs = {}, []
    try:
        lines = open(path).read().splitlines()
    except OSError:
        return steps, epochs
    for line in lines:
        m = BENCH.match(line)
        if not m:
            continue
        kind, name, _n, ns, rest = m.groups()
        metrics = {unit: float(val) for val, unit in re.findall(r"([\d.e+-]+) (\S+)", rest)}
        metrics["ns/op"] = float(ns)
        if kind == "Step":
            s = STEP.match(name)
            if s:
                dev, alg, k, V, H, B = s.groups()
                steps[(f"{alg}-{k}", int(V), int(H), int(B))] = metrics
        else:
            epochs.append((name, metrics))
    return steps, epochs


def parse_torch(path):
    runs, gemm, device = {}, {}, None
    try:
        lines = open(path).read().splitlines()
    except OSError:
        return runs, gemm, device
    for line in lines:
        try:
            d = json.loads(line)
        except ValueError:
            continue
        if d.get("peer") == "torch-device":
            device = d
        elif d.get("peer") == "torch-gemm":
            gemm[(d["M"], d["K"], d["N"], d["tf32"])] = d["tflop_per_sec"]
        elif d.get("peer") == "torch" and "alg" in d:
            runs[(d["mode"], d["alg"], d["V"], d["H"], d["B"])] = d
    return runs, gemm, device


def flops(alg, V, H, B):
    k = int(alg.split("-")[1])
    if alg.startswith("PCD"):
        return 3 * 2.0 * B * V * H + (2 * k + 2) * 2.0 * B * V * H
    return (2 * k + 3) * 2.0 * B * V * H


def fmt(x, spec="{:,.0f}"):
    return "n/a" if x is None else spec.format(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ours", required=True)
    ap.add_argument("--torch", required=True)
    args = ap.parse_args()
    ours, epochs = parse_ours(args.ours)
    runs, gemm, device = parse_torch(args.torch)

    keys = set(ours)
    keys |= {(a, V, H, B) for (_m, a, V, H, B) in runs}
    order = lambda k: (int(k[0].split("-")[1]), k[0], k[1] * k[2], k[3])
    if device:
        print(f"GPU: {device['device']} ({device['sms']} SMs), torch {device['torch']}, CUDA {device['cuda']}")
    print()
    print("| config | ours samples/s | torch eager | torch compiled | ours/eager | ours/compiled "
          "| ours % of GEMM ceiling | GEMM fp32 / tf32 TFLOP/s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for key in sorted(keys, key=order):
        alg, V, H, B = key
        o = ours.get(key, {}).get("samples/s")
        e = runs.get(("eager", alg, V, H, B), {}).get("samples_per_sec")
        c = runs.get(("compiled", alg, V, H, B), {}).get("samples_per_sec")
        g32, gtf = gemm.get((B, V, H, False)), gemm.get((B, V, H, True))
        pct = None
        if o is not None and g32:
            pct = 100 * o / B * flops(alg, V, H, B) / (g32 * 1e12)
        print(f"| {alg} {V}x{H} B{B} | {fmt(o)} | {fmt(e)} | {fmt(c)} "
              f"| {fmt(o / e if o and e else None, '{:.2f}')} | {fmt(o / c if o and c else None, '{:.2f}')} "
              f"| {fmt(pct, '{:.1f}%')} | {fmt(g32, '{:.1f}')} / {fmt(gtf, '{:.1f}')} |")
    errors = [(k, d["error"]) for k, d in runs.items() if "error" in d]
    for k, err in errors:
        print(f"torch {k[0]} {k[1]} {k[2]}x{k[3]} B{k[4]}: {err}")
    for name, m in epochs:
        sps = m.get("samples/s")
        line = f"epoch {name}: {m['ns/op'] / 1e9:.2f} s ({fmt(sps)} samples/s)"
        s = re.search(r"(CD-\d+)/(\d+)x(\d+)/B(\d+)", name)
        if s:
            alg, V, H, B = s.group(1), int(s.group(2)), int(s.group(3)), int(s.group(4))
            for mode in ("eager", "compiled"):
                r = runs.get((mode, alg, V, H, B), {}).get("samples_per_sec")
                if r:
                    line += f"; torch {mode} steps alone: {60000 // B * B / r:.2f} s"
        print(line)
    if not ours:
        print("ours: no step benchmarks in", args.ours, file=sys.stderr)
    if not runs:
        print("torch: no results in", args.torch, file=sys.stderr)


if __name__ == "__main__":
    main()
