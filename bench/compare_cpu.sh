#!/usr/bin/env bash
# compare_cpu.sh — rbmgpu's CPU step against scikit-learn's BernoulliRBM on
# the same machine, interleaved so that both see the same load.
#
# Each of N rounds (default 3) runs, one after the other:
#   ours:    BenchmarkStep/cpu/CD-1/784x500/B100 (go test -bench, -benchtime $BENCHTIME)
#   sklearn: bench/peers/sklearn_rbm.py, BernoulliRBM 784x500, batch 100, one epoch
#            over the first $SKLEARN_SAMPLES Fashion-MNIST images (synthetic if absent)
# then prints every figure, the medians and the ratio ours/sklearn (samples/s;
# the ratio of the medians and the median of the per-round ratios, which is
# steadier when the machine's load changes between rounds; both do 10·B·V·H FLOPs per mini-batch, see bench/README.md).
#
# Run from anywhere in the repository (needs Go and /usr/bin/python3 with
# python3-sklearn: apt-get install -y python3-sklearn):
#   bash bench/compare_cpu.sh            # 3 rounds
#   bash bench/compare_cpu.sh 5          # 5 rounds
#   BENCHTIME=10s SKLEARN_SAMPLES=60000 bash bench/compare_cpu.sh
# Raw outputs go to $OUT (or a temporary folder, printed) as ours.txt and sklearn.jsonl.
set -euo pipefail

rounds=${1:-3}
benchtime=${BENCHTIME:-3s}
sk_samples=${SKLEARN_SAMPLES:-20000}
py=${PYTHON:-/usr/bin/python3}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"

if ! "$py" -c 'import sklearn' 2>/dev/null; then
  echo "compare_cpu: $py has no scikit-learn (apt-get install -y python3-sklearn)" >&2
  exit 1
fi

bin="$out/bench.test"
go test -c -o "$bin" ./bench
pattern='^BenchmarkStep$/^cpu$/^CD-1$/^784x500$/^B100$'

echo "compare_cpu: $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "compare_cpu: $rounds rounds; ours -benchtime $benchtime; sklearn $sk_samples samples; raw output in $out"
: >"$out/ours.txt"
: >"$out/sklearn.jsonl"
for r in $(seq 1 "$rounds"); do
  echo "round $r: load $(cut -d' ' -f1-3 /proc/loadavg)"
  RBMGPU_BENCH_DEVICE=cpu "$bin" -test.run '^$' -test.bench "$pattern" -test.benchtime "$benchtime" \
    | tee -a "$out/ours.txt" | grep '^BenchmarkStep' || { echo "compare_cpu: ours failed" >&2; exit 1; }
  "$py" bench/peers/sklearn_rbm.py --n-samples "$sk_samples" --batch-size 100 --n-components 500 \
    | tee -a "$out/sklearn.jsonl"
done

"$py" - "$out/ours.txt" "$out/sklearn.jsonl" <<'EOF'
import json, re, statistics, sys
ours, allocs = [], []
for line in open(sys.argv[1]):
    if line.startswith("BenchmarkStep"):
        m = re.search(r"([\d.e+]+) samples/s", line)
        a = re.search(r"(\d+) allocs/op", line)
        ours.append(float(m.group(1)))
        allocs.append(int(a.group(1)) if a else -1)
sk = [json.loads(l)["samples_per_sec"] for l in open(sys.argv[2]) if l.strip()]
mo, ms = statistics.median(ours), statistics.median(sk)
print()
print("| | samples/s per round | median |")
print("|---|---|---|")
print(f"| ours CD-1 784x500 B100 | {', '.join(f'{x:.0f}' for x in ours)} | {mo:.0f} |")
print(f"| sklearn BernoulliRBM 784x500 B100 | {', '.join(f'{x:.0f}' for x in sk)} | {ms:.0f} |")
ratios = [o / s for o, s in zip(ours, sk)]
print(f"ours/sklearn = {mo / ms:.3f} (ratio of medians); per round {', '.join(f'{r:.3f}' for r in ratios)}, "
      f"median {statistics.median(ratios):.3f}")
print(f"ours allocs/op: {', '.join(map(str, allocs))}")
EOF
