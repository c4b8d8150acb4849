#!/usr/bin/env bash
# run.sh — on a GPU machine (NVIDIA driver, python3 with PyTorch; no Go), from
# the repository root, with bench/gpu/carry built by bench/gpu/build.sh:
#   1. nvidia-smi -L and the build info;
#   2. correctness on the GPU: kernels/cudadrv (GPU launches vs the emulator),
#      the engine's device tests, bench's TestDeviceMatchesCPU (cuda:0 vs CPU);
#   3. ours: BenchmarkStep on cuda:0 for CD-1, CD-10 x 784x500, 4096x4096 x
#      batch 128, 1024, 4096, and one synthetic 60,000-sample epoch (CD-1,
#      784x500, B128) through engine.Trainer;
#   4. the PyTorch peer (bench/gpu/carry/peers/torch_rbm.py): GEMM ceilings, eager, compiled;
#   5. ONE table (bench/gpu/table.py), printed last.
# With the device tool:  run(command="bash bench/gpu/run.sh", carry=["bench/gpu/carry"])
# Outputs go to $OUT (the device tool returns them) or bench/gpu/out:
#   gpu.txt check.txt ours.txt torch.jsonl torch.log table.md BUILD-INFO
# Knobs (environment): STAGES=check,ours,torch,table  BENCHTIME=1s (go -benchtime)
#   TORCH_BUDGET=300 (s; torch_rbm.py --budget-s)  TORCH_ARGS="..." (extra flags)
#   PYTHON=python3  DEVICE=cuda:0
# A failing stage is reported and the next one still runs; exit status 1 if any failed.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
carry=$root/bench/gpu/carry
out=${OUT:-$root/bench/gpu/out}
mkdir -p "$out"
out=$(cd "$out" && pwd)
stages=${STAGES:-check,ours,torch,table}
benchtime=${BENCHTIME:-1s}
py=${PYTHON:-python3}
dev=${DEVICE:-cuda:0}
failed=()
has() { [[ ,$stages, == *,$1,* ]]; }
section() { printf '\n==== %s ====\n' "$*"; }

if [[ ! -d $carry ]]; then
  echo "run: $carry is missing: run bash bench/gpu/build.sh here first and carry bench/gpu/carry" >&2
  exit 1
fi

# Unpack the gzipped binaries (build.sh compresses them to halve the carry).
bin=$(mktemp -d /tmp/rbmgpu-carry.XXXXXX)
for f in "$carry"/*.gz; do
  [[ -f $f ]] || continue
  gunzip -c "$f" >"$bin/$(basename "$f" .gz)"
  chmod +x "$bin/$(basename "$f" .gz)"
done

section "machine"
{
  nvidia-smi -L || echo "nvidia-smi failed"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv || true
  echo "cpu: $(nproc) cores, $(sed -n 's/^model name\t: //p' /proc/cpuinfo | head -1)"
  "$py" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)' 2>&1 || true
} | tee "$out/gpu.txt"
cp "$carry/BUILD-INFO" "$out/BUILD-INFO" 2>/dev/null && cat "$out/BUILD-INFO" || echo "run: no BUILD-INFO"

# runtest DIR BINARY ARGS...: run a Go test binary from its package directory.
runtest() {
  local dir=$1 exe=$2
  shift 2
  if [[ ! -x $bin/$exe ]]; then
    echo "run: $exe was not built (see BUILD-INFO); skipped" | tee -a "$out/check.txt"
    return 0
  fi
  echo "--- $exe $*" | tee -a "$out/check.txt"
  if (cd "$dir" && "$bin/$exe" "$@") 2>&1 | tee -a "$out/check.txt"; then
    echo "run: $exe PASS" | tee -a "$out/check.txt"
  else
    echo "run: $exe FAIL" | tee -a "$out/check.txt"
    failed+=("$exe")
  fi
}

if has check; then
  section "correctness"
  : >"$out/check.txt"
  if [[ -x $bin/rbmgpu ]]; then
    { "$bin/rbmgpu" version; "$bin/rbmgpu" devices; } 2>&1 | tee -a "$out/check.txt" || true
  fi
  runtest kernels/cudadrv cudadrv.test -test.v -test.run 'GPU'
  runtest engine engine.test -test.v -test.short -test.run 'CUDA|Cuda|GPU|Gpu|EmulatedDevice'
  runtest engine/ais ais.test -test.v -test.short -test.run 'CUDA'
  RBMGPU_BENCH_DEVICE=$dev runtest bench bench.test -test.v -test.run '^TestDeviceMatchesCPU$'
fi

if has ours; then
  section "ours: BenchmarkStep, BenchmarkEpoch on $dev"
  : >"$out/ours.txt"
  if [[ -x $bin/bench.test ]]; then
    pattern="^BenchmarkStep\$/^${dev}\$/^CD-(1|10)\$/^(784x500|4096x4096)\$/^B(128|1024|4096)\$"
    if ! (cd bench && RBMGPU_BENCH_DEVICE=$dev RBMGPU_BENCH_BIG=1 "$bin/bench.test" -test.v -test.run '^$' \
      -test.bench "$pattern" -test.benchtime "$benchtime") 2>&1 | tee -a "$out/ours.txt"; then
      failed+=(BenchmarkStep)
    fi
    if ! (cd bench && RBMGPU_BENCH_DEVICE=$dev RBMGPU_BENCH_BIG=1 "$bin/bench.test" -test.v -test.run '^$' \
      -test.bench "^BenchmarkEpoch\$/^${dev}\$/^synthetic-60k\$" -test.benchtime 1x) 2>&1 | tee -a "$out/ours.txt"; then
      failed+=(BenchmarkEpoch)
    fi
    if grep -q -- '--- SKIP' "$out/ours.txt"; then
      echo "run: some benchmarks were skipped (reasons above): is the binary a CUDA build, is $dev there?"
    fi
    if ! grep -q '^BenchmarkStep/.*samples/s' "$out/ours.txt"; then
      echo "run: no step figures of ours"
      failed+=(ours)
    fi
  else
    echo "run: bench.test was not built (see BUILD-INFO): no figures of ours" | tee -a "$out/ours.txt"
  fi
fi

if has torch; then
  section "PyTorch peer"
  # shellcheck disable=SC2086 # TORCH_ARGS is a list of flags
  if ! PYTHONUNBUFFERED=1 "$py" "$carry/peers/torch_rbm.py" --budget-s "${TORCH_BUDGET:-300}" ${TORCH_ARGS:-} \
    >"$out/torch.jsonl" 2> >(tee "$out/torch.log" >&2); then
    failed+=(torch_rbm.py)
  fi
fi

if has table; then
  section "table"
  "$py" bench/gpu/table.py --ours "$out/ours.txt" --torch "$out/torch.jsonl" | tee "$out/table.md" || failed+=(table)
fi

if ((${#failed[@]})); then
  echo "run: FAILED: ${failed[*]}"
  exit 1
fi
echo "run: all stages passed; outputs in $out"
