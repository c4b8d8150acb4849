#!/usr/bin/env python3
"""gemm_ceiling.py — the OpenBLAS ceiling of a dense CD-1 step: time the five
float32 matrix products of one CD-1 mini-batch (784x500, batch 100 by
default) through numpy's BLAS and print one JSON line.

The five products, as rbmgpu's and scikit-learn's steps do them:
    V0 W      (B x V)(V x H)      hidden pre-activations of the data
    H0 W^T    (B x H)(H x V)      visible pre-activations
    V1 W      (B x V)(V x H)      hidden pre-activations of the reconstruction
    V0^T H0   (V x B)(B x H)      positive statistics
    V1^T H1   (V x B)(B x H)      negative statistics
each 2·B·V·H FLOPs on dense operands (transposes are BLAS flags, not copies).
Their summed time is the least a dense CD-1 step can take with this BLAS
(no sigmoid, sampling or update), so B / time is the "OpenBLAS GEMM
ceiling" in samples/s that bench/compare_cpu.sh compares rbmgpu against.

Run: /usr/bin/python3 bench/peers/gemm_ceiling.py [--visible 784 --hidden 500 --batch 100 --seconds 2]
Output: {"peer": "openblas-gemm", "ceiling_samples_per_sec": ..., "gflop_per_sec": ..., ...}
"""

import argparse
import json
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--visible", type=int, default=784)
    ap.add_argument("--hidden", type=int, default=500)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=2.0, help="time to spend measuring")
    args = ap.parse_args()
    V, H, B = args.visible, args.hidden, args.batch
    rng = np.random.default_rng(1)
    W = rng.standard_normal((V, H), dtype=np.float32) * 0.01
    v0 = (rng.random((B, V)) < 0.5).astype(np.float32)
    v1 = (rng.random((B, V)) < 0.5).astype(np.float32)
    h0 = rng.random((B, H), dtype=np.float32)
    h1 = rng.random((B, H), dtype=np.float32)
    outs = [np.empty((B, H), np.float32), np.empty((B, V), np.float32), np.empty((B, H), np.float32),
            np.empty((V, H), np.float32), np.empty((V, H), np.float32)]

    def step():
        np.dot(v0, W, out=outs[0])
        np.dot(h0, W.T, out=outs[1])
        np.dot(v1, W, out=outs[2])
        np.dot(v0.T, h0, out=outs[3])
        np.dot(v1.T, h1, out=outs[4])

    for _ in range(3):  # warm-up: threads started, caches filled
        step()
    times = []
    t_end = time.perf_counter() + args.seconds
    while time.perf_counter() < t_end or len(times) < 5:
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    t = float(np.median(times))
    print(json.dumps({
        "peer": "openblas-gemm",
        "ceiling_samples_per_sec": B / t,
        "step_seconds": t,
        "gflop_per_sec": 10.0 * B * V * H / t / 1e9,
        "steps_timed": len(times),
        "visible": V, "hidden": H, "batch": B,
        "numpy": np.__version__,
    }))


if __name__ == "__main__":
    main()
