#!/usr/bin/env python3
"""pipeline.py — scikit-learn's "RBM features for classification" pipeline on
Fashion-MNIST, for bench/pipeline.sh: RBM features + logistic regression, with
rbmgpu's features beside scikit-learn's BernoulliRBM features and raw pixels.

    pipeline.py prepare --dir D --train-n 10000 --test-n 2000
        writes D/train.npy, D/test.npy (float32, pixels / 255, the first N images
        of each Fashion-MNIST split) and D/train_labels.npy, D/test_labels.npy
        (int64), the subset both libraries read.
    pipeline.py compare --dir D --hidden 256 --epochs 10 --batch 10 --lr 0.06
        fits BernoulliRBM(n_components, learning_rate, batch_size, n_iter,
        random_state=0) on D/train.npy and transforms both splits; reads rbmgpu's
        features D/ours_train.npy, D/ours_test.npy (written by `rbmgpu transform`);
        fits the same classifier, LogisticRegression(max_iter=1000) with its
        defaults otherwise (lbfgs, C = 1), on each feature set and on the raw
        pixels, and prints the test accuracies side by side as a Markdown table and
        one JSON line.

Debian: apt-get install -y python3-sklearn python3-numpy dataset-fashion-mnist.
"""

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

DATA = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    """An IDX file (raw or gzip) as rows: (N, rows·cols) images, (N, 1) labels."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from sklearn_rbm import load_idx_images
    return load_idx_images(path)


def prepare(args):
    os.makedirs(args.dir, exist_ok=True)
    for split, n, prefix in (("train", args.train_n, "train"), ("test", args.test_n, "t10k")):
        x = read_idx(os.path.join(args.data, f"{prefix}-images-idx3-ubyte.gz"))[:n]
        y = read_idx(os.path.join(args.data, f"{prefix}-labels-idx1-ubyte.gz"))[:n].ravel()
        x = x.astype(np.float32) / np.float32(255)
        np.save(os.path.join(args.dir, f"{split}.npy"), x)
        np.save(os.path.join(args.dir, f"{split}_labels.npy"), y.astype(np.int64))
        print(f"{split}: {x.shape[0]} images of {x.shape[1]} pixels in [0, 1], {len(np.unique(y))} classes")


def accuracy(train_x, train_y, test_x, test_y):
    from sklearn.linear_model import LogisticRegression
    t = time.perf_counter()
    clf = LogisticRegression(max_iter=1000)
    clf.fit(train_x, train_y)
    return float(clf.score(test_x, test_y)), time.perf_counter() - t


def compare(args):
    from sklearn.neural_network import BernoulliRBM
    load = lambda name: np.load(os.path.join(args.dir, name))
    xtr, xte = load("train.npy"), load("test.npy")
    ytr, yte = load("train_labels.npy"), load("test_labels.npy")
    ours_tr, ours_te = load("ours_train.npy"), load("ours_test.npy")
    for name, f, x in (("ours_train.npy", ours_tr, xtr), ("ours_test.npy", ours_te, xte)):
        if f.shape != (x.shape[0], args.hidden) or f.dtype != np.float32:
            raise SystemExit(f"{name}: shape {f.shape} {f.dtype}, want ({x.shape[0]}, {args.hidden}) float32")

    rbm = BernoulliRBM(n_components=args.hidden, learning_rate=args.lr, batch_size=args.batch,
                       n_iter=args.epochs, random_state=0)
    t = time.perf_counter()
    rbm.fit(xtr)
    sk_fit = time.perf_counter() - t
    sk_tr, sk_te = rbm.transform(xtr), rbm.transform(xte)

    rows = []
    for name, a, b in (("raw pixels", xtr, xte), ("scikit-learn BernoulliRBM features", sk_tr, sk_te),
                       ("rbmgpu features (train + transform)", ours_tr, ours_te)):
        acc, secs = accuracy(a, ytr, b, yte)
        rows.append({"features": name, "dims": int(a.shape[1]), "test_accuracy": acc, "classifier_seconds": round(secs, 1)})
    print(f"| features | dims | test accuracy | classifier fit |")
    print(f"|---|---:|---:|---:|")
    for r in rows:
        print(f"| {r['features']} | {r['dims']} | {r['test_accuracy']:.4f} | {r['classifier_seconds']:.1f} s |")
    print(f"scikit-learn BernoulliRBM.fit: {sk_fit:.1f} s")
    print(json.dumps({"train_n": int(xtr.shape[0]), "test_n": int(xte.shape[0]), "hidden": args.hidden,
                      "epochs": args.epochs, "batch": args.batch, "lr": args.lr, "sklearn_fit_seconds": round(sk_fit, 1),
                      "results": rows, "python": platform.python_version(),
                      "sklearn": __import__("sklearn").__version__, "numpy": np.__version__}))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("prepare")
    a.add_argument("--dir", required=True)
    a.add_argument("--data", default=DATA)
    a.add_argument("--train-n", type=int, default=10000)
    a.add_argument("--test-n", type=int, default=2000)
    c = sub.add_parser("compare")
    c.add_argument("--dir", required=True)
    c.add_argument("--hidden", type=int, default=256)
    c.add_argument("--epochs", type=int, default=10)
    c.add_argument("--batch", type=int, default=10)
    c.add_argument("--lr", type=float, default=0.06)
    args = p.parse_args()
    {"prepare": prepare, "compare": compare}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
