#!/usr/bin/env bash
# compare_cpu.sh — rbmgpu's CPU step against scikit-learn's BernoulliRBM on
# the same machine, interleaved so that both see the same load.
#
# Each of N rounds (default 3) runs, one after the other:
#   ours:        BenchmarkStepFashion/cpu/{CD-1,PCD-1}/784x500/B100 (-benchtime $BENCHTIME)
#                on the first 20,000 binarized Fashion-MNIST images (BenchmarkStep's fair
#                bits when the data set is not installed)
#   torch:       bench/peers/torch_rbm_cpu.py, the same CD-1 and PCD-1 steps in PyTorch on
#                the CPU ($TORCH_THREADS threads, default 2), the same images, $BENCHTIME each
#   sklearn f32: bench/peers/sklearn_rbm.py, BernoulliRBM 784x500, batch 100, one epoch
#                over the first $SKLEARN_SAMPLES Fashion-MNIST images, float32 data
#   sklearn f64: the same on float64 data (BernoulliRBM's usual precision)
#   ceiling:     bench/peers/gemm_ceiling.py, the five dense float32 products of a
#                CD-1 step through numpy's OpenBLAS: the samples/s of a dense step
#                that did nothing but its matrix products
# then prints every figure, the medians and the ratios of ours to each (samples/s;
# the ratio of the medians and the median of the per-round ratios, which is
# steadier when the machine's load changes between rounds): ours CD-1 against
# scikit-learn (its PCD-1 does CD-1's 10·B·V·H FLOPs), the ceiling and torch CD-1,
# ours PCD-1 against torch PCD-1 (14·B·V·H; bench/README.md).
# Then the whole-process rounds of bench/compare_process.sh (our CLI against
# scikit-learn's fit() script, both from process start, one epoch of all 60,000
# images, both of scikit-learn's precisions; PROCESS_ROUNDS, default N, 0 skips).
#
# Run from anywhere in the repository (needs Go and /usr/bin/python3 with
# scikit-learn and PyTorch: apt-get install -y python3-sklearn python3-torch
# dataset-fashion-mnist; without PyTorch the torch rows are left out). The
# Python peers run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset, so
# OpenBLAS picks its kernels for this CPU.
#   bash bench/compare_cpu.sh            # 3 rounds
#   bash bench/compare_cpu.sh 5          # 5 rounds
#   BENCHTIME=10s SKLEARN_SAMPLES=60000 bash bench/compare_cpu.sh
#   RBMGPU_HOST_SPARSE=off bash bench/compare_cpu.sh   # ours with dense products only
# Raw outputs go to $OUT (or a temporary folder, printed): ours.txt, sklearn32.jsonl,
# sklearn64.jsonl, ceiling.jsonl, torch.jsonl.
set -euo pipefail

rounds=${1:-3}
benchtime=${BENCHTIME:-3s}
sk_samples=${SKLEARN_SAMPLES:-20000}
py=${PYTHON:-/usr/bin/python3}
torch_threads=${TORCH_THREADS:-2}
torch_secs=${benchtime%s}   # the peer runs for as long as -benchtime says (3 s when it counts steps)
[[ "$torch_secs" =~ ^[0-9.]+$ ]] || torch_secs=3
pyenv=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$py")
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"

if ! "$py" -c 'import sklearn' 2>/dev/null; then
  echo "compare_cpu: $py has no scikit-learn (apt-get install -y python3-sklearn)" >&2
  exit 1
fi
torch=1
if ! "$py" -c 'import torch' 2>/dev/null; then
  echo "compare_cpu: $py has no PyTorch (apt-get install -y python3-torch): no torch rows" >&2
  torch=0
fi

bin="$out/bench.test"
go test -c -o "$bin" ./bench
pattern='^BenchmarkStepFashion$/^cpu$/^(CD-1|PCD-1)$/^784x500$/^B100$'
if [ ! -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  echo "compare_cpu: Fashion-MNIST not installed: ours runs on fair bits (BenchmarkStep), sklearn on synthetic bits" >&2
  pattern='^BenchmarkStep$/^cpu$/^CD-1$/^784x500$/^B100$'
fi

echo "compare_cpu: $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "compare_cpu: $rounds rounds; ours -benchtime $benchtime; sklearn $sk_samples samples; raw output in $out"
: >"$out/ours.txt"
: >"$out/sklearn32.jsonl"
: >"$out/sklearn64.jsonl"
: >"$out/ceiling.jsonl"
: >"$out/torch.jsonl"
for r in $(seq 1 "$rounds"); do
  echo "round $r: load $(cut -d' ' -f1-3 /proc/loadavg)"
  (cd bench && RBMGPU_BENCH_DEVICE=cpu "$bin" -test.run '^$' -test.bench "$pattern" -test.benchtime "$benchtime" -test.benchmem) \
    | tee -a "$out/ours.txt" | grep '^Benchmark' || { echo "compare_cpu: ours failed" >&2; exit 1; }
  for dt in 32 64; do
    "${pyenv[@]}" bench/peers/sklearn_rbm.py --n-samples "$sk_samples" --batch-size 100 --n-components 500 --dtype "float$dt" \
      | tee -a "$out/sklearn$dt.jsonl"
  done
  "${pyenv[@]}" bench/peers/gemm_ceiling.py | tee -a "$out/ceiling.jsonl"
  if [ "$torch" = 1 ]; then
    "${pyenv[@]}" bench/peers/torch_rbm_cpu.py --threads "$torch_threads" --seconds "$torch_secs" | tee -a "$out/torch.jsonl"
  fi
done

"$py" - "$out" <<'EOF'
import json, os, re, statistics, sys
out = sys.argv[1]
ours, allocs = {"CD-1": [], "PCD-1": []}, []
for line in open(os.path.join(out, "ours.txt")):
    if line.startswith("Benchmark"):
        alg = "PCD-1" if "/PCD-1/" in line else "CD-1"
        ours[alg].append(float(re.search(r"([\d.e+]+) samples/s", line).group(1)))
        a = re.search(r"(\d+) allocs/op", line)
        allocs.append(int(a.group(1)) if a else -1)
def col(name, key, alg=None):
    rows = [json.loads(l) for l in open(os.path.join(out, name)) if l.strip()]
    return [r[key] for r in rows if alg is None or r.get("alg") == alg]
peers = [("CD-1", "sklearn BernoulliRBM float32 (PCD-1)", col("sklearn32.jsonl", "samples_per_sec")),
         ("CD-1", "sklearn BernoulliRBM float64 (PCD-1)", col("sklearn64.jsonl", "samples_per_sec")),
         ("CD-1", "OpenBLAS dense GEMM ceiling", col("ceiling.jsonl", "ceiling_samples_per_sec")),
         ("CD-1", "PyTorch CPU CD-1", col("torch.jsonl", "samples_per_sec", "CD-1")),
         ("PCD-1", "PyTorch CPU PCD-1", col("torch.jsonl", "samples_per_sec", "PCD-1"))]
print()
print("| 784x500, batch 100 | samples/s per round | median | ours / this (ratio of medians) | per-round ratios (median) |")
print("|---|---|---:|---:|---|")
for alg, xs in ours.items():
    if xs:
        print(f"| ours {alg} | {', '.join(f'{x:.0f}' for x in xs)} | {statistics.median(xs):.0f} | | |")
for alg, name, xs in peers:
    if not xs or not ours[alg]:
        continue
    m, mo = statistics.median(xs), statistics.median(ours[alg])
    rs = [o / x for o, x in zip(ours[alg], xs)]
    print(f"| {name} (vs ours {alg}) | {', '.join(f'{x:.0f}' for x in xs)} | {m:.0f} | {mo / m:.2f} | "
          f"{', '.join(f'{r:.2f}' for r in rs)} ({statistics.median(rs):.2f}) |")
print(f"ours allocs/op: {', '.join(map(str, allocs))}")
EOF

# The whole process, from process start to exit: our CLI against scikit-learn's
# fit() script (bench/compare_process.sh, one epoch; PROCESS_ROUNDS=0 skips it).
process_rounds=${PROCESS_ROUNDS:-$rounds}
if [ "$process_rounds" -gt 0 ]; then
  echo
  echo "compare_cpu: whole processes, $process_rounds rounds (bench/compare_process.sh)"
  OUT="$out/process" bash bench/compare_process.sh "$process_rounds"
fi
