#!/usr/bin/env bash
# ais_table.sh — the AIS test log-likelihood table of bench/RESULTS.md: 784×500 RBMs
# trained on binarized Fashion-MNIST for E epochs (ours: CD-1, PCD-1 with and without
# momentum; scikit-learn's BernoulliRBM, PCD-1), each scored by `rbmgpu eval --ais`
# (100 runs × 14,500 β) on the 10,000 test images. Needs dataset-fashion-mnist and
# python3-sklearn; about 30 minutes on 2 cores.
#   bash bench/ais_table.sh [EPOCHS] [WORKDIR]
set -euo pipefail
E=${1:-5}
W=${2:-$(mktemp -d)}
root=$(cd "$(dirname "$0")/.." && pwd)
D=/usr/share/datasets/fashion-mnist
go build -o "$W/rbmgpu" "$root/cmd/rbmgpu"
R="$W/rbmgpu"
cd "$W"
common=(--data "$D/train-images-idx3-ubyte.gz" --binarize threshold --hidden 500 --epochs "$E" --batch 100 --lr 0.05 --val 0 --eval-every 1000 --quiet)
"$R" train "${common[@]}" --cd 1 --out cd1
"$R" train "${common[@]}" --pcd 1 --out pcd1
"$R" train "${common[@]}" --pcd 1 --momentum 0 --out pcd1m0
/usr/bin/python3 "$root/bench/peers/sklearn_fit_npz.py" "$E" sk.npz
for m in cd1 pcd1 pcd1m0 sk.npz; do
	/usr/bin/time -f "$m: %e s" "$R" eval --model "$m" --data "$D/t10k-images-idx3-ubyte.gz" --binarize threshold --ais --json | tee "eval_$m.json"
done
