#!/usr/bin/env python3
"""table.py — the GPU kit's one table: rbmgpu's step benchmarks (go test -bench
output, with the baseline and the new GEMM) against the PyTorch peer
(torch_rbm.py JSON lines), then the epoch time.

    python3 bench/gpu/table.py --ours ours.txt --torch torch.jsonl [--peak 67]

ours.txt is run.sh's: benchmark lines under "# gemm baseline", "# gemm new"
and "# epoch" markers (lines before any marker count as the new GEMM).
Each implementation's cell is "samples/s · achieved TFLOP/s · % of the fp32
peak", the FLOPs from the cost model (bench/cost.go: (2k+3)·2·B·V·H per CD-k
step; PCD-k: 3·2·B·V·H + (2k+2)·2·B·V·H), the same for every implementation.
The last columns are the ratios of ours (new GEMM) to torch eager, torch
compiled and our baseline GEMM, and torch.mm's float32 rate (TF32 off) on
the step's dominant product [B,V]x[V,H].
Runs with any Python 3; no third-party packages.
"""

import argparse
import json
import re
import sys

BENCH = re.compile(r"^Benchmark(Step|Epoch|PottsSweep|PottsRBMStep)/(\S+?)(?:-\d+)?\s+(\d+)\s+([\d.e+]+) ns/op(.*)$")
STEP = re.compile(r"^([^/]+)/(P?CD)-(\d+)/(\d+)x(\d+)/B(\d+)$")


def parse_ours(path):
    """Returns {gemm: {(alg, V, H, B): metrics}} and [(name, metrics)] of the epochs
    and the Potts sweeps (their names start with "potts ")."""
    steps, epochs = {"new": {}, "baseline": {}}, []
    try:
        lines = open(path).read().splitlines()
    except OSError:
        return steps, epochs
    gemm = "new"
    for line in lines:
        if line.startswith("# gemm "):
            gemm = line.split()[2]
            steps.setdefault(gemm, {})
            continue
        m = BENCH.match(line)
        if not m:
            continue
        kind, name, _n, ns, rest = m.groups()
        metrics = {unit: float(val) for val, unit in re.findall(r"([\d.e+-]+) (\S+)", rest)}
        metrics["ns/op"] = float(ns)
        if kind == "Step":
            s = STEP.match(name)
            if s:
                _dev, alg, k, V, H, B = s.groups()
                steps[gemm][(f"{alg}-{k}", int(V), int(H), int(B))] = metrics
        elif kind == "PottsSweep":
            epochs.append(("potts " + name, metrics))
        elif kind == "PottsRBMStep":
            epochs.append(("potts-rbm " + name, metrics))
        else:
            epochs.append((name, metrics))
    return steps, epochs


def parse_torch(path):
    runs, gemm, device, notes = {}, {}, None, []
    try:
        lines = open(path).read().splitlines()
    except OSError:
        return runs, gemm, device, notes
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
        elif d.get("peer") == "torch" and "error" in d:
            notes.append(d["error"])
    return runs, gemm, device, notes


def flops(alg, V, H, B):
    k = int(alg.split("-")[1])
    if alg.startswith("PCD"):
        return 3 * 2.0 * B * V * H + (2 * k + 2) * 2.0 * B * V * H
    return (2 * k + 3) * 2.0 * B * V * H


def fmt(x, spec="{:,.0f}"):
    return "n/a" if x is None else spec.format(x)


def cell(sps, key, peak):
    """samples/s · TFLOP/s · % of peak, or n/a."""
    if not sps:
        return "n/a"
    alg, V, H, B = key
    tf = sps / B * flops(alg, V, H, B) / 1e12
    return f"{sps:,.0f} · {tf:.2f} · {100 * tf / peak:.1f}%"


def ratio(a, b):
    return fmt(a / b if a and b else None, "{:.2f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ours", required=True)
    ap.add_argument("--torch", required=True)
    ap.add_argument("--peak", type=float, default=67.0, help="fp32 peak in TFLOP/s (H100/H200 SXM: 67)")
    args = ap.parse_args()
    ours, epochs = parse_ours(args.ours)
    runs, gemm, device, notes = parse_torch(args.torch)
    new, base = ours.get("new", {}), ours.get("baseline", {})

    keys = set(new) | set(base) | {(a, V, H, B) for (_m, a, V, H, B) in runs}
    order = lambda k: (int(k[0].split("-")[1]), k[0], k[1] * k[2], k[3])
    if device:
        print(f"GPU: {device['device']} ({device['sms']} SMs), torch {device['torch']}, CUDA {device['cuda']}")
    print(f"Cells: samples/s · achieved TFLOP/s · % of the {args.peak:g} TFLOP/s fp32 peak (cost model FLOPs).")
    print()
    print("| config | GFLOP/step | ours, new GEMM | ours, baseline GEMM | torch eager | torch compiled "
          "| new/eager | new/compiled | new/baseline | torch.mm fp32 TFLOP/s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for key in sorted(keys, key=order):
        alg, V, H, B = key
        o = new.get(key, {}).get("samples/s")
        ob = base.get(key, {}).get("samples/s")
        e = runs.get(("eager", alg, V, H, B), {}).get("samples_per_sec")
        c = runs.get(("compiled", alg, V, H, B), {}).get("samples_per_sec")
        g32 = gemm.get((B, V, H, False))
        print(f"| {alg} {V}x{H} B{B} | {flops(alg, V, H, B) / 1e9:,.1f} | {cell(o, key, args.peak)} "
              f"| {cell(ob, key, args.peak)} | {cell(e, key, args.peak)} | {cell(c, key, args.peak)} "
              f"| {ratio(o, e)} | {ratio(o, c)} | {ratio(o, ob)} | {fmt(g32, '{:.1f}')} |")
    for k, d in sorted(runs.items()):
        if "error" in d:
            print(f"torch {k[0]} {k[1]} {k[2]}x{k[3]} B{k[4]}: {d['error']}")
    for n in notes:
        print(f"torch: {n}")
    for name, m in epochs:
        sps = m.get("samples/s")
        if name.startswith("potts-rbm "):
            print(f"{name}: {m['ns/op'] / 1e6:.2f} ms per PCD-1 step ({fmt(sps)} chains moved/s, "
                  f"{fmt(m.get('rows/s'))} data rows/s)")
            continue
        if name.startswith("potts "):
            print(f"{name}: {m['ns/op'] / 1e6:.2f} ms per sweep ({fmt(sps)} samples/s, "
                  f"{fmt(m.get('site-updates/s'))} site updates/s, {fmt(m.get('GFLOP/s'), '{:.1f}')} GFLOP/s)")
            continue
        line = f"epoch {name}: {m['ns/op'] / 1e9:.2f} s ({fmt(sps)} samples/s)"
        s = re.search(r"(CD-\d+)/(\d+)x(\d+)/B(\d+)", name)
        if s:
            alg, V, H, B = s.group(1), int(s.group(2)), int(s.group(3)), int(s.group(4))
            for mode in ("eager", "compiled"):
                r = runs.get((mode, alg, V, H, B), {}).get("samples_per_sec")
                if r:
                    line += f"; torch {mode} steps alone: {60000 // B * B / r:.2f} s"
        print(line)
    if not new and not base:
        print("ours: no step benchmarks in", args.ours, file=sys.stderr)
    if not runs:
        print("torch: no results in", args.torch, file=sys.stderr)


if __name__ == "__main__":
    main()
