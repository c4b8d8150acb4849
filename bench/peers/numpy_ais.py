"""An AIS log-likelihood evaluator for Bernoulli RBMs that shares no code with rbmgpu.

It reads a model (an rbmgpu checkpoint, model.safetensors or its run directory, or an NPZ of
scikit-learn BernoulliRBM attributes), estimates log Z by annealed importance sampling from the
base-rate model (Salakhutdinov & Murray 2008) in float64 NumPy, and prints one JSON line:

    {"model": ..., "log_z": ..., "log_z_sd": ..., "ll": ..., "rows": ..., "runs": ..., "betas": ...}

ll is the mean over the rows of log p*(v) - log Z, with log p*(v) = -F(v) = b.v + sum_j softplus(c_j + (vW)_j).

The annealing path: p_k(v) is proportional to exp((1 - beta_k) a.v) * exp(beta_k b.v) *
prod_j (1 + exp(beta_k (c_j + (vW)_j))), where a are the base-rate biases logit(mean of the
training data, clipped to [0.001, 0.999]); p_0 is the independent-site model with
log Z_0 = sum_i softplus(a_i) + H log 2 (its hiddens are uniform). A transition at beta_k samples
h ~ p_k(h | v), then v ~ p_k(v | h). The schedule has 500 betas up to 0.5, 4,000 up to 0.9 and
10,000 up to 1 (14,500 in all), scaled to --betas.

Usage: /usr/bin/python3 bench/peers/numpy_ais.py --model M --test TEST.npy --train TRAIN.npy
           [--runs 100] [--betas 14500] [--seed 1]
TEST and TRAIN are N x V arrays of 0/1 values (any dtype); TRAIN gives the base rates.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np


def read_safetensors(path):
    """Return {name: float64 array} of an F32 safetensors file."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        blob = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        if t["dtype"] != "F32":
            raise SystemExit(f"{path}: tensor {name} has dtype {t['dtype']}, want F32")
        lo, hi = t["data_offsets"]
        out[name] = np.frombuffer(blob[lo:hi], dtype="<f4").reshape(t["shape"]).astype(np.float64)
    return out


def load_model(path):
    """Return (W V x H, b V, c H) of an rbmgpu checkpoint or a scikit-learn NPZ."""
    if os.path.isdir(path):
        path = os.path.join(path, "model.safetensors")
    if path.endswith(".npz"):
        z = np.load(path)
        return (z["components_"].T.astype(np.float64), z["intercept_visible_"].astype(np.float64),
                z["intercept_hidden_"].astype(np.float64))
    t = read_safetensors(path)
    return t["W"], t["vbias"], t["hbias"]


def softplus(x):
    return np.logaddexp(0.0, x)


def log_pstar(v, W, b, c):
    """-F(v) for each row of v."""
    return v @ b + softplus(v @ W + c).sum(axis=1)


def schedule(n):
    """The Salakhutdinov-Murray schedule (0 ... 1) with n steps after 0."""
    parts = [(0.5, 500), (0.9, 4000), (1.0, 10000)]
    total = sum(k for _, k in parts)
    betas, lo = [0.0], 0.0
    for hi, k in parts:
        m = max(1, round(k * n / total))
        betas.extend(np.linspace(lo, hi, m + 1)[1:])
        lo = hi
    return np.array(betas)


def ais_log_z(W, b, c, a, runs, nbetas, rng):
    V, H = W.shape
    betas = schedule(nbetas)
    log_z0 = softplus(a).sum() + H * np.log(2.0)
    v = (rng.random((runs, V)) < 1.0 / (1.0 + np.exp(-a))).astype(np.float64)
    logw = np.zeros(runs)

    def log_pk(v, beta):
        return (1.0 - beta) * (v @ a) + beta * (v @ b) + softplus(beta * (v @ W + c)).sum(axis=1)

    for k in range(1, len(betas)):
        bk = betas[k]
        logw += log_pk(v, bk) - log_pk(v, betas[k - 1])
        ph = 1.0 / (1.0 + np.exp(-bk * (v @ W + c)))
        h = (rng.random(ph.shape) < ph).astype(np.float64)
        pv = 1.0 / (1.0 + np.exp(-((1.0 - bk) * a + bk * (h @ W.T + b))))
        v = (rng.random(pv.shape) < pv).astype(np.float64)
    m = logw.max()
    w = np.exp(logw - m)
    log_z = log_z0 + m + np.log(w.mean())
    # the delta-method spread of log mean w, as one standard deviation
    sd = float(w.std() / (w.mean() * np.sqrt(runs)))
    return float(log_z), sd


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--train", required=True)
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--betas", type=int, default=14500)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    W, b, c = load_model(args.model)
    test = np.load(args.test).astype(np.float64)
    train = np.load(args.train)
    if test.shape[1] != W.shape[0] or train.shape[1] != W.shape[0]:
        raise SystemExit(f"{args.model}: {W.shape[0]} visible units, data have {test.shape[1]} and {train.shape[1]} columns")
    p = np.clip(train.mean(axis=0, dtype=np.float64), 1e-3, 1 - 1e-3)
    a = np.log(p / (1 - p))
    rng = np.random.default_rng(args.seed)
    log_z, sd = ais_log_z(W, b, c, a, args.runs, args.betas, rng)
    ll = float(log_pstar(test, W, b, c).mean() - log_z)
    print(json.dumps({"model": args.model, "log_z": log_z, "log_z_sd": sd, "ll": ll,
                      "rows": int(test.shape[0]), "runs": args.runs, "betas": args.betas}))


if __name__ == "__main__":
    sys.exit(main())
