#!/usr/bin/env python3
"""sklearn_rbm.py — time scikit-learn's BernoulliRBM.fit() on the data rbmgpu's
CPU benchmarks use, and print one JSON line.

Data: Fashion-MNIST training images (IDX, gzip) scaled to [0, 1] and binarized
at 0.5 (x >= 0.5 -> 1), as `engine/data` Load + ScaleTo01 + Binarize(0.5) does
(--binarize none keeps the grey levels, as `rbmgpu train` without --binarize);
synthetic fair bits of the same shape when the file is absent.

What is timed: fit() alone (parameter initialisation and n_iter epochs of
mini-batch updates; no pseudo-likelihood, verbose=0), median over --repeats.
BernoulliRBM's update is PCD-1 (persistent chains of batch_size rows, no
momentum, no weight decay); its five matrix products per mini-batch
(p(h|v0), p(v|h_chain), p(h|v1) and the two statistics) are 10·B·V·H FLOPs,
the same count as rbmgpu's CD-1 step (bench/cost.go), so samples/s compare
like for like.

Run (Debian: apt-get install -y python3-sklearn):
    /usr/bin/python3 bench/peers/sklearn_rbm.py                      # 784x500, B100, 1 epoch of 60000
    /usr/bin/python3 bench/peers/sklearn_rbm.py --n-samples 20000 --repeats 3
Output: {"peer": "sklearn", "samples_per_sec": ..., "seconds": ..., ...}
"""

import argparse
import gzip
import json
import os
import platform
import statistics
import struct
import sys
import time

import numpy as np

DEFAULT_DATA = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"


def load_idx_images(path):
    """Read an IDX uint8 image file (raw or gzip) into an (N, rows*cols) uint8 array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    magic, = struct.unpack(">I", raw[:4])
    if magic >> 8 != 0x08:  # 0x0000 08 nd: unsigned byte
        raise SystemExit(f"{path}: IDX magic {magic:#010x}: want unsigned-byte data (0x000008nn)")
    nd = magic & 0xFF
    dims = struct.unpack(">" + "I" * nd, raw[4:4 + 4 * nd])
    x = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * nd)
    n = dims[0]
    d = int(np.prod(dims[1:]))
    if x.size != n * d:
        raise SystemExit(f"{path}: header says {dims}, file holds {x.size} values")
    return x.reshape(n, d)


def load_data(args):
    if args.data and os.path.exists(args.data):
        x = load_idx_images(args.data).astype(args.dtype)
        lo, hi = float(x.min()), float(x.max())
        if hi > lo:
            x = (x - lo) / (hi - lo)  # ScaleTo01: min-max into [0, 1]
        name = "fashion-mnist (grey levels)"
        if args.binarize != "none":
            x = (x >= float(args.binarize)).astype(args.dtype)  # Binarize(T)
            name = "fashion-mnist"
    else:
        rng = np.random.default_rng(args.seed)
        x = rng.integers(0, 2, size=(args.synthetic_rows, args.n_features)).astype(args.dtype)
        name = "synthetic"
    if args.n_samples and args.n_samples < x.shape[0]:
        x = x[: args.n_samples]
    return np.ascontiguousarray(x), name


def blas_info():
    try:
        from threadpoolctl import threadpool_info

        return [
            {k: p.get(k) for k in ("internal_api", "version", "num_threads", "architecture")}
            for p in threadpool_info()
            if p.get("user_api") == "blas"
        ]
    except Exception as e:  # threadpoolctl missing: not fatal
        return [{"error": str(e)}]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=DEFAULT_DATA, help="IDX images (gz or raw); synthetic data when absent")
    ap.add_argument("--n-components", type=int, default=500)
    ap.add_argument("--learning-rate", type=float, default=0.05)
    ap.add_argument("--batch-size", type=int, default=100)
    ap.add_argument("--n-iter", type=int, default=1, help="epochs")
    ap.add_argument("--n-samples", type=int, default=0, help="use only the first N rows (0: all)")
    ap.add_argument("--repeats", type=int, default=1, help="fit() this many times; median reported")
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float32",
                    help="precision of the data, hence of scikit-learn's computation (float64 is BernoulliRBM's usual)")
    ap.add_argument("--binarize", default="0.5",
                    help="threshold T (x >= T -> 1) after scaling, or none: grey levels in [0, 1], as rbmgpu train without --binarize")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--synthetic-rows", type=int, default=60000)
    ap.add_argument("--n-features", type=int, default=784, help="synthetic data width")
    args = ap.parse_args()

    import sklearn
    from sklearn.neural_network import BernoulliRBM

    x, name = load_data(args)
    n, v = x.shape
    times = []
    for r in range(args.repeats):
        rbm = BernoulliRBM(
            n_components=args.n_components,
            learning_rate=args.learning_rate,
            batch_size=args.batch_size,
            n_iter=args.n_iter,
            random_state=args.seed + r,
            verbose=0,
        )
        t0 = time.perf_counter()
        rbm.fit(x)
        times.append(time.perf_counter() - t0)
        if rbm.components_.dtype != np.dtype(args.dtype):
            print(f"warning: sklearn computed in {rbm.components_.dtype}", file=sys.stderr)
    secs = statistics.median(times)
    samples = n * args.n_iter
    flops_per_sample = 10.0 * v * args.n_components  # 5 products of 2·B·V·H per batch of B
    print(json.dumps({
        "peer": "sklearn",
        "samples_per_sec": samples / secs,
        "seconds": secs,
        "seconds_all": times,
        "gflop_per_sec": samples * flops_per_sample / secs / 1e9,
        "algorithm": "PCD-1 (BernoulliRBM)",
        "data": name,
        "n_samples": n,
        "n_features": v,
        "n_components": args.n_components,
        "batch_size": args.batch_size,
        "n_iter": args.n_iter,
        "learning_rate": args.learning_rate,
        "dtype": str(rbm.components_.dtype),
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "blas": blas_info(),
    }))


if __name__ == "__main__":
    main()
