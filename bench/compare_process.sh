#!/usr/bin/env bash
# compare_process.sh — whole processes: `rbmgpu train` against scikit-learn's
# BernoulliRBM fit() script on the same 60,000 Fashion-MNIST images, each timed
# from process start to exit (/usr/bin/time: wall seconds and peak RSS),
# alternating, N rounds (default 3):
#   ours:     rbmgpu train --data $DATA --hidden 500 --cd 1 --batch 100 --epochs $EPOCHS
#             --device cpu (grey levels scaled to [0, 1], 54,000 trained, 6,000 held out
#             for the free-energy gap: the defaults), its last line the time of each part
#             (load, epochs, evaluation, checkpoints, other)
#   sklearn:  bench/peers/sklearn_rbm.py --n-iter $EPOCHS --binarize none: Python start,
#             imports, reading the same file, scaling to [0, 1], BernoulliRBM(500,
#             batch 100).fit() on all 60,000 rows, with OPENBLAS_CORETYPE and
#             OPENBLAS_L2_SIZE unset, once in each precision of $SKLEARN_DTYPES
#             (default "float64 float32"): float64 is what scikit-learn computes in
#             for the usual script (pixels / 255. is a float64 array), float32
#             the faster precision a user gets by casting first
# then prints every round, the medians, the ratio of the medians and the median
# of the per-round ratios (sklearn wall / ours wall), for each precision.
#
# Run from anywhere in the repository (Go, /usr/bin/python3 with scikit-learn,
# the Debian data set: apt-get install -y python3-sklearn dataset-fashion-mnist):
#   bash bench/compare_process.sh               # 3 rounds, one epoch
#   EPOCHS=10 bash bench/compare_process.sh 3   # ten epochs
# Raw outputs go to $OUT (or a temporary folder, printed).
set -euo pipefail

rounds=${1:-3}
epochs=${EPOCHS:-1}
data=${DATA:-/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz}
sk_dtypes=${SKLEARN_DTYPES:-${SKLEARN_DTYPE:-float64 float32}}
py=${PYTHON:-/usr/bin/python3}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"

if [ ! -e "$data" ]; then
  echo "compare_process: $data not found (apt-get install -y dataset-fashion-mnist)" >&2
  exit 1
fi
if ! "$py" -c 'import sklearn' 2>/dev/null; then
  echo "compare_process: $py has no scikit-learn (apt-get install -y python3-sklearn)" >&2
  exit 1
fi
go build -o "$out/rbmgpu" ./cmd/rbmgpu
echo "compare_process: $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $rounds rounds, $epochs epoch(s); raw output in $out"
for r in $(seq 1 "$rounds"); do
  echo "round $r: load $(cut -d' ' -f1-3 /proc/loadavg)"
  /usr/bin/time -f '%e %M' -o "$out/ours-$r.time" "$out/rbmgpu" train --data "$data" --hidden 500 --cd 1 --batch 100 \
    --epochs "$epochs" --device cpu --out "$out/run-$r" --quiet >"$out/ours-$r.txt"
  grep '^time:' "$out/ours-$r.txt"
  line="  ours $(cat "$out/ours-$r.time") (s, KB)"
  for dt in $sk_dtypes; do
    /usr/bin/time -f '%e %M' -o "$out/sklearn-$dt-$r.time" env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$py" \
      bench/peers/sklearn_rbm.py --data "$data" --n-iter "$epochs" --binarize none --dtype "$dt" \
      --n-components 500 --batch-size 100 >"$out/sklearn-$dt-$r.jsonl"
    line="$line   sklearn $dt $(cat "$out/sklearn-$dt-$r.time") (s, KB)"
  done
  echo "$line"
done

"$py" - "$out" "$rounds" "$epochs" $sk_dtypes <<'PY'
import json, os, statistics, sys
out, rounds, epochs, dtypes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
def t(name):
    wall, rss = open(os.path.join(out, name)).read().split()[-2:]
    return float(wall), int(rss) / 1000  # /usr/bin/time %M is in KiB; MB here are 1000 KiB, as the issue counts
R = range(1, rounds + 1)
ours = [t(f"ours-{r}.time") for r in R]
mo = statistics.median(w for w, _ in ours)
walls = lambda xs: ", ".join(f"{w:.2f}" for w, _ in xs)
rss = lambda xs: ", ".join(f"{m:.0f}" for _, m in xs)
print()
print(f"| whole process, {epochs} epoch(s) | wall s per round | median | peak RSS MB per round |")
print("|---|---|---:|---|")
print(f"| ours `rbmgpu train` | {walls(ours)} | {mo:.2f} | {rss(ours)} |")
summary = []
for dt in dtypes:
    sk = [t(f"sklearn-{dt}-{r}.time") for r in R]
    fit = [json.loads(open(os.path.join(out, f"sklearn-{dt}-{r}.jsonl")).read())["seconds"] for r in R]
    ms = statistics.median(w for w, _ in sk)
    print(f"| scikit-learn fit() script, {dt} | {walls(sk)} | {ms:.2f} | {rss(sk)} |")
    print(f"| of which fit(), {dt} | {', '.join(f'{f:.2f}' for f in fit)} | {statistics.median(fit):.2f} | |")
    ratios = [s[0] / o[0] for o, s in zip(ours, sk)]
    summary.append(f"sklearn {dt} / ours: ratio of medians {ms / mo:.2f}; per round "
                   f"{', '.join(f'{x:.2f}' for x in ratios)} (median {statistics.median(ratios):.2f})")
print("\n".join(summary))
PY
