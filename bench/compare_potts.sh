#!/usr/bin/env bash
# compare_potts.sh — one sequential Gibbs sweep of a fully connected Potts model
# (bmDCA's sampler): rbmgpu's host kernel against NumPy, interleaved so that both
# see the same load.
#
# Each of N rounds (default 3) runs, one after the other:
#   ours:   BenchmarkPottsSweep/cpu/L$SITES q$STATES/C$CHAINS (bench/potts_test.go,
#           kernel potts_gibbs_f32 on the host driver, both cores), -benchtime $BENCHTIME
#   numpy:  bench/peers/potts_numpy.py, the same sweep sequential over sites and
#           vectorised over chains, two ways: "gather" (J_ij(·, x_j) indexed for every
#           chain) and "gemm" (one-hot chains times the site's columns of W, OpenBLAS)
# then prints every figure (samples/s = chain sweeps per second; site-updates/s =
# chains·L per second), the medians, and ours/numpy for each implementation and
# for the faster of the two: the ratio of medians and the median of the per-round
# ratios (steadier when the shared machine's load changes between rounds).
#
# The models are the same kind (dense symmetric couplings, uniform fields), not the
# same numbers; the work of a sweep does not depend on the values. Memory: the
# couplings are L²q² float32 (L = 100, q = 21: 4.41 M floats, 16.8 MiB).
#
# Needs Go and /usr/bin/python3 with NumPy (apt-get install -y python3-numpy).
# Python runs with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset.
#   bash bench/compare_potts.sh                 # 3 rounds, L = 100, q = 21, 10,000 chains
#   bash bench/compare_potts.sh 5
#   SITES=50 CHAINS=1000 bash bench/compare_potts.sh
# Raw outputs go to $OUT (or a temporary folder, printed): ours.txt, numpy.jsonl.
set -euo pipefail

rounds=${1:-3}
benchtime=${BENCHTIME:-2x}
sites=${SITES:-100}
states=${STATES:-21}
chains=${CHAINS:-10000}
py=${PYTHON:-/usr/bin/python3}
pyenv=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$py")
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"

case "$sites/$states/$chains" in
  100/21/10000 | 50/21/1000) ;;
  *) echo "compare_potts: BenchmarkPottsSweep has L100q21/C10000 and L50q21/C1000 only" >&2; exit 2 ;;
esac
if ! "$py" -c 'import numpy' 2>/dev/null; then
  echo "compare_potts: $py has no NumPy (apt-get install -y python3-numpy)" >&2
  exit 1
fi

bin="$out/bench.test"
go test -c -o "$bin" ./bench
pattern="^BenchmarkPottsSweep\$/^cpu\$/^L${sites}q${states}\$/^C${chains}\$"

echo "compare_potts: $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "compare_potts: L=$sites q=$states, $chains chains, couplings L²q² = $(( (sites*states)**2 )) float32 ($(awk -v n=$((sites*states)) 'BEGIN { printf "%.1f", 4*n*n/1048576 }') MiB); $rounds rounds; ours -benchtime $benchtime; raw output in $out"
: >"$out/ours.txt"
: >"$out/numpy.jsonl"
for r in $(seq 1 "$rounds"); do
  echo "round $r: load $(cut -d' ' -f1-3 /proc/loadavg)"
  (cd bench && RBMGPU_BENCH_DEVICE=cpu "$bin" -test.run '^$' -test.bench "$pattern" -test.benchtime "$benchtime") \
    | tee -a "$out/ours.txt" | grep '^Benchmark' || { echo "compare_potts: ours failed" >&2; exit 1; }
  "${pyenv[@]}" bench/peers/potts_numpy.py --sites "$sites" --states "$states" --chains "$chains" \
    | sed "s/^{/{\"round\": $r, /" | tee -a "$out/numpy.jsonl"
done
echo "compare_potts: load after $(cut -d' ' -f1-3 /proc/loadavg)"

"$py" - "$out/ours.txt" "$out/numpy.jsonl" <<'EOF'
import json, re, statistics, sys
ours = []
for line in open(sys.argv[1]):
    m = re.search(r"([\d.e+]+) samples/s", line)
    if line.startswith("Benchmark") and m:
        ours.append(float(m.group(1)))
peer = {}
for line in open(sys.argv[2]):
    d = json.loads(line)
    peer.setdefault(d["impl"], []).append(d["samples_per_s"])
n = min([len(ours)] + [len(v) for v in peer.values()])
ours = ours[:n]
peer = {k: v[:n] for k, v in peer.items()}
peer["numpy-best"] = [max(vs) for vs in zip(*peer.values())]
med = statistics.median
print(f"ours         samples/s per round: {' '.join(f'{x:.0f}' for x in ours)}; median {med(ours):.0f}")
for k, v in peer.items():
    ratios = [a / b for a, b in zip(ours, v)]
    print(f"{k:12s} samples/s per round: {' '.join(f'{x:.0f}' for x in v)}; median {med(v):.0f}; "
          f"ours/{k}: ratio of medians {med(ours) / med(v):.2f}, median of per-round ratios {med(ratios):.2f}")
EOF
