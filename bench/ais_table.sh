#!/usr/bin/env bash
# ais_table.sh — test log-likelihoods of 784×500 RBMs on stochastically binarized
# Fashion-MNIST, each scored twice: by `rbmgpu eval --ais` and by an independent NumPy AIS
# (bench/peers/numpy_ais.py, float64, shares no code with rbmgpu), both 100 runs × 14,500 β.
#
#   ours          rbmgpu train --data train.npy --hidden 500 --epochs E   (the defaults, nothing else)
#   ours-cd1      the same with --cd 1 --momentum 0.5 --lr 0.05 (the pre-study defaults)
#   sklearn       BernoulliRBM(500, learning_rate 0.01, batch 100, E epochs) on the same rows
#   sklearn-def   BernoulliRBM(500) at its own defaults (learning_rate 0.1, batch 10), E epochs
#
# The images are binarized once (x -> 1 with probability x/255, NumPy seed 0) into train.npy
# (60,000 rows) and test.npy (10,000 rows), so every model sees the same bits; ours hold out
# 10% (its default) and train on 54,000 rows, scikit-learn on all 60,000. Wall times of each
# fit are printed. Needs dataset-fashion-mnist and python3-sklearn; about 25 minutes on 2 cores.
#   bash bench/ais_table.sh [EPOCHS] [WORKDIR]        (SKIP="ours-cd1 sklearn-def" to skip runs)
set -euo pipefail
E=${1:-10}
W=${2:-$(mktemp -d)}
SKIP=${SKIP:-}
root=$(cd "$(dirname "$0")/.." && pwd)
py=/usr/bin/python3
D=/usr/share/datasets/fashion-mnist
if [ ! -e "$D/train-images-idx3-ubyte.gz" ]; then
	echo "ais_table: $D not found (apt-get install -y dataset-fashion-mnist)" >&2
	exit 1
fi
mkdir -p "$W"
go build -o "$W/rbmgpu" "$root/cmd/rbmgpu"
R="$W/rbmgpu"
cd "$W"
echo "ais_table: $(date -u +%Y-%m-%dT%H:%MZ), $E epochs, load $(cut -d' ' -f1-3 /proc/loadavg), in $W"
"$py" - <<'PY'
import gzip, numpy as np
def idx(path):
    with gzip.open(path) as f:
        b = f.read()
    n = int.from_bytes(b[4:8], "big")
    return np.frombuffer(b, dtype=np.uint8, offset=16).reshape(n, 784)
rng = np.random.default_rng(0)
for name in ("train", "t10k"):
    x = idx(f"/usr/share/datasets/fashion-mnist/{name}-images-idx3-ubyte.gz") / 255.0
    np.save("train.npy" if name == "train" else "test.npy", (rng.random(x.shape) < x).astype(np.uint8))
PY
skip() { case " $SKIP " in *" $1 "*) return 0 ;; esac; return 1; }
timed() { # name command...: run, print the wall time
	local name=$1 t0 t1
	shift
	t0=$(date +%s.%N)
	"$@"
	t1=$(date +%s.%N)
	printf '%s: fit %.1f s\n' "$name" "$(echo "$t1 - $t0" | bc)" | tee -a fit_times.txt
}
models=()
timed ours "$R" train --data train.npy --hidden 500 --epochs "$E" --out ours --quiet >ours.log
models+=(ours)
if ! skip ours-cd1; then
	timed ours-cd1 "$R" train --data train.npy --hidden 500 --epochs "$E" --cd 1 --momentum 0.5 --lr 0.05 --out ours-cd1 --quiet >ours-cd1.log
	models+=(ours-cd1)
fi
sk() { # out lr batch
	"$py" - "$E" "$@" <<'PY'
import sys, numpy as np
from sklearn.neural_network import BernoulliRBM
e, out, lr, batch = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
x = np.load("train.npy").astype(np.float64)
rbm = BernoulliRBM(n_components=500, learning_rate=lr, batch_size=batch, n_iter=e, random_state=0).fit(x)
np.savez(out, components_=np.ascontiguousarray(rbm.components_), intercept_hidden_=rbm.intercept_hidden_, intercept_visible_=rbm.intercept_visible_)
PY
}
timed sklearn sk sklearn.npz 0.01 100
models+=(sklearn.npz)
if ! skip sklearn-def; then
	timed sklearn-def sk sklearn-def.npz 0.1 10
	models+=(sklearn-def.npz)
fi
echo
echo "| model | ours AIS LL | independent NumPy AIS LL | ours log Z ± 3σ | NumPy log Z |"
echo "|---|---:|---:|---|---:|"
for m in "${models[@]}"; do
	"$R" eval --model "$m" --data test.npy --ais --json >"eval_$m.json"
	"$py" "$root/bench/peers/numpy_ais.py" --model "$m" --test test.npy --train train.npy >"numpy_$m.json"
	"$py" - "$m" <<'PY'
import json, sys
m = sys.argv[1]
o = json.load(open(f"eval_{m}.json"))
n = json.load(open(f"numpy_{m}.json"))
print(f"| {m} | {o['avg_ll']:.2f} | {n['ll']:.2f} | {o['log_z']:.2f} [{o['log_z_lo']:.2f}, {o['log_z_hi']:.2f}] | {n['log_z']:.2f} |")
PY
done
cat fit_times.txt
