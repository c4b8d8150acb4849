#!/usr/bin/env python3
"""One sequential Gibbs sweep of a fully connected Potts model in NumPy.

The sampler of bmDCA, written the way a NumPy user writes it: sequential
over the L sites, vectorised over the C chains. For each site i in turn,
the logits h_i(a) + sum_j J_ij(a, x_j) of every chain, a softmax and a
categorical draw (inverse CDF on one uniform per chain). The model is
BenchmarkPottsSweep's (bench/potts_test.go): couplings W[iQ+a, jQ+b] =
J_ij(a, b), symmetric, uniform in [-0.5, 0.5] off the diagonal blocks and
zero on them, fields uniform in [-1, 1], float32; random initial chains.
The couplings alone are L^2 q^2 float32 (17.6 MB at L = 100, q = 21).

Two ways to form the logits (--impl):
  gather  Jt[i] (L, q_b, q_a) indexed by (j, x_j) for every chain and
          summed over j: C·L·q floats gathered per site (no BLAS)
  gemm    the one-hot chains (C×N) times the site's q columns of W: a
          C×N×q float32 product per site through OpenBLAS (both cores),
          the one-hot row updated after each draw
  both    (default) each in turn, one JSON line each

Prints one JSON line per implementation: seconds per sweep, samples/s
(chain sweeps per second) and site-updates/s (C·L per sweep), as the Go
benchmark reports them. Run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE
unset (bench/compare_potts.sh does).

  /usr/bin/python3 bench/peers/potts_numpy.py --sites 100 --states 21 --chains 10000
"""
import argparse
import json
import os
import time

import numpy as np


def model(L, q, seed):
    rng = np.random.default_rng(seed)
    N = L * q
    W = rng.uniform(-0.5, 0.5, size=(N, N)).astype(np.float32)
    W = np.triu(W, 1)
    W = W + W.T
    site = np.arange(N) // q
    W[site[:, None] == site[None, :]] = 0
    h = rng.uniform(-1, 1, size=(L, q)).astype(np.float32)
    return W, h


def draw(logits, u):
    """Categorical draws from softmax(logits) rows with uniforms u (C,)."""
    logits -= logits.max(axis=1, keepdims=True)
    np.exp(logits, out=logits)
    cdf = np.cumsum(logits, axis=1)
    t = u * cdf[:, -1]
    return np.minimum((cdf <= t[:, None]).sum(axis=1), logits.shape[1] - 1)


def sweep_gather(x, Jt, h, rng, sites):
    """x: (C, L) int codes; Jt: (L, L, q, q) with Jt[i, j, b, a] = J_ij(a, b)."""
    C, L = x.shape
    cols = np.arange(L)
    for i in sites:
        # Jt[i][j, x_cj, :] for all c, j: (C, L, q), summed over j.
        logits = Jt[i][cols[None, :], x].sum(axis=1) + h[i]
        x[:, i] = draw(logits, rng.random(C, dtype=np.float32))


def sweep_gemm(onehot, x, Wcols, h, rng, sites):
    """onehot: (C, N) float32; Wcols[i]: (N, q) = W[:, iQ:(i+1)Q]."""
    C, L = x.shape
    q = h.shape[1]
    rows = np.arange(C)
    for i in sites:
        logits = onehot @ Wcols[i] + h[i]
        new = draw(logits, rng.random(C, dtype=np.float32))
        onehot[rows, i * q + x[:, i]] = 0
        onehot[rows, i * q + new] = 1
        x[:, i] = new


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sites", type=int, default=100)
    ap.add_argument("--states", type=int, default=21)
    ap.add_argument("--chains", type=int, default=10000)
    ap.add_argument("--sweeps", type=int, default=1, help="timed sweeps (after a warm-up over 5 sites)")
    ap.add_argument("--impl", choices=["gather", "gemm", "both"], default="both")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    L, q, C = a.sites, a.states, a.chains
    W, h = model(L, q, a.seed)
    rng = np.random.default_rng(a.seed + 1)
    impls = ["gather", "gemm"] if a.impl == "both" else [a.impl]
    for impl in impls:
        x = rng.integers(0, q, size=(C, L))
        if impl == "gather":
            # Jt[i, j, b, a] = W[iQ+a, jQ+b]
            Jt = np.ascontiguousarray(W.reshape(L, q, L, q).transpose(0, 2, 3, 1))
            run = lambda sites: sweep_gather(x, Jt, h, rng, sites)
        else:
            onehot = np.zeros((C, L * q), dtype=np.float32)
            onehot[np.arange(C)[:, None], np.arange(L)[None, :] * q + x] = 1
            Wcols = [np.ascontiguousarray(W[:, i * q:(i + 1) * q]) for i in range(L)]
            run = lambda sites: sweep_gemm(onehot, x, Wcols, h, rng, sites)
        run(range(min(5, L)))
        t0 = time.perf_counter()
        for _ in range(a.sweeps):
            run(range(L))
        secs = (time.perf_counter() - t0) / a.sweeps
        assert x.min() >= 0 and x.max() < q
        print(json.dumps({
            "impl": "numpy-" + impl, "L": L, "q": q, "chains": C, "sweeps": a.sweeps,
            "couplings_floats": (L * q) ** 2, "couplings_MiB": round(4 * (L * q) ** 2 / 2**20, 1),
            "seconds_per_sweep": round(secs, 4), "samples_per_s": round(C / secs, 1),
            "site_updates_per_s": round(C * L / secs, 1), "numpy": np.__version__,
            "threads": os.cpu_count(),
        }), flush=True)


if __name__ == "__main__":
    main()
