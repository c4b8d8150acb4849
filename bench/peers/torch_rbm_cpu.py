#!/usr/bin/env python3
"""torch_rbm_cpu.py — the PyTorch CPU peer of rbmgpu's CPU step: the CD-1 and
PCD-1 steps of a Bernoulli RBM in float32 on the CPU (Debian's python3-torch,
--threads intra-op threads, 2 by default), on the data BenchmarkStepFashion
uses, timed like a Go benchmark. One JSON line per algorithm on stdout.

Data: the first --n-samples (20,000) Fashion-MNIST training images scaled to
[0, 1] and binarized at 0.5 (sklearn_rbm.py's loader, = engine/data Load +
ScaleTo01 + Binarize(0.5)); fair bits of the same shape when the file is
absent. Mini-batches of B rows are consecutive slices, cycled.

The steps are graph/cd.go's (bench/README.md, cost model):
  CD-1   torch_rbm.RBMStep (the GPU peer's module) with k = 1: 10·B·V·H FLOPs
  PCD-1  the data side p(h|v0), p(v|h0) (the reconstruction monitor) and the
         positive statistics; the chain side h ~ p(h|chains), v' ~ p(v|h),
         p(h|v') and the negative statistics from (v', p(h|v')), the chains
         becoming v': 14·B·V·H FLOPs with C = B chains
both with momentum and weight decay on W, the parameters updated in place.

Timing: 3 warm-up steps, then steps until --seconds have passed (at least
10); samples/s = steps · B / elapsed, as `go test -bench` reports ours.

Run (Debian: apt-get install -y python3-torch):
    /usr/bin/python3 bench/peers/torch_rbm_cpu.py                 # CD-1 and PCD-1, 784x500, B100
    /usr/bin/python3 bench/peers/torch_rbm_cpu.py --algs CD-1 --seconds 5
Output: {"peer": "torch-cpu", "alg": "CD-1", "samples_per_sec": ..., ...}
"""

import argparse
import json
import os
import platform
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sklearn_rbm import DEFAULT_DATA, load_idx_images  # noqa: E402  (the shared loader)
from torch_rbm import RBMStep, step_flops  # noqa: E402  (the GPU peer's CD-k step)


class PCDStep(RBMStep):
    """RBMStep with persistent chains, as many as the batch has rows: PCD-1 as
    graph/cd.go builds it."""

    def __init__(self, V, H, lr, momentum, decay, seed, chains):
        super().__init__(V, H, 1, lr, momentum, decay, "cpu", seed)
        g = torch.Generator(device="cpu").manual_seed(seed + 1)
        self.register_buffer("chains", torch.randint(0, 2, (chains, V), generator=g).float())

    @torch.no_grad()
    def forward(self, v0):
        W, b, c = self.W, self.b, self.c
        ph0 = torch.sigmoid(v0 @ W + c)
        h0 = torch.bernoulli(ph0)
        pv1 = torch.sigmoid(h0 @ W.t() + b)
        hc = torch.bernoulli(torch.sigmoid(self.chains @ W + c))
        vk = torch.bernoulli(torch.sigmoid(hc @ W.t() + b))
        phk = torch.sigmoid(vk @ W + c)
        self.chains.copy_(vk)
        self.update(v0, pv1, ph0, vk, phk)


def load(args):
    if args.data and os.path.exists(args.data):
        x = load_idx_images(args.data)[: args.n_samples]
        lo, hi = int(x.min()), int(x.max())
        x = (x.astype(np.float32) - lo) / max(hi - lo, 1)  # ScaleTo01
        return torch.from_numpy((x >= 0.5).astype(np.float32)), "fashion-mnist"  # Binarize(0.5)
    g = torch.Generator(device="cpu").manual_seed(args.seed)
    return torch.randint(0, 2, (args.n_samples, args.visible), generator=g).float(), "synthetic"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=DEFAULT_DATA, help="IDX images (gz or raw); fair bits when absent")
    ap.add_argument("--algs", default="CD-1,PCD-1", help="CD-1 and/or PCD-1, comma-separated")
    ap.add_argument("--hidden", type=int, default=500)
    ap.add_argument("--visible", type=int, default=784, help="width of the synthetic data")
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--n-samples", type=int, default=20000)
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    ap.add_argument("--seconds", type=float, default=3.0, help="time to spend per algorithm")
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--momentum", type=float, default=0.5)
    ap.add_argument("--weight-decay", type=float, default=1e-4)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    x, name = load(args)
    N, V = x.shape
    B, H = args.batch, args.hidden
    batches = [x[i * B:(i + 1) * B] for i in range(N // B)]
    for alg in args.algs.split(","):
        if alg == "CD-1":
            step, flops = RBMStep(V, H, 1, args.lr, args.momentum, args.weight_decay, "cpu", args.seed), step_flops(V, H, B, 1)
        elif alg == "PCD-1":
            step, flops = PCDStep(V, H, args.lr, args.momentum, args.weight_decay, args.seed, chains=B), 14.0 * B * V * H
        else:
            raise SystemExit(f"--algs: {alg!r}: want CD-1 or PCD-1")
        for i in range(3):
            step(batches[i % len(batches)])
        n, t0 = 0, time.perf_counter()
        while n < 10 or time.perf_counter() - t0 < args.seconds:
            step(batches[n % len(batches)])
            n += 1
        secs = time.perf_counter() - t0
        recon = float(step.recon) / (n + 3)
        if not np.isfinite(recon):
            raise SystemExit(f"{alg}: reconstruction error {recon}")
        print(json.dumps({
            "peer": "torch-cpu", "alg": alg, "samples_per_sec": n * B / secs, "ms_per_step": secs / n * 1e3,
            "steps": n, "gflop_per_sec": flops * n / secs / 1e9, "recon_error": recon,
            "data": name, "n_samples": N, "visible": V, "hidden": H, "batch": B,
            "threads": torch.get_num_threads(), "torch": torch.__version__, "python": platform.python_version(),
        }), flush=True)


if __name__ == "__main__":
    main()
