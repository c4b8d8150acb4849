#!/usr/bin/env bash
# run.sh — the GPU kit, on a GPU machine (NVIDIA driver, python3 with
# PyTorch; no Go), from the repository root, with bench/gpu/carry built here
# by bench/gpu/build.sh. One call, under 8 minutes (QUICK=1: under 3), in
# this order:
#   info   device and driver: nvidia-smi (driver, compute mode, clocks),
#          rbmgpu version and devices (the driver API's view, compute mode),
#          the build info;
#   check  correctness on the GPU, GPU work only (no emulator: its fibers
#          are slow under a sandboxed kernel): every kernel on the GPU
#          against the host kernels, errors, a CUDA graph, two Drivers
#          (cudadrv.test); the engine's CD/PCD, BM and Gaussian steps and AIS
#          on cuda:0 against the CPU (engine.test, ais.test); CD-1, CD-10 and
#          PCD-1 training at the benchmark shapes against the CPU (bench.test
#          TestDeviceMatchesCPU), and resident epochs (data on the device, a
#          CUDA graph per step) against Step, bit for bit (TestResidentMatchesStep);
#   ours   BenchmarkStep on $DEVICE, CD-1 and CD-10 x 784x500, 4096x4096 x
#          B128, 1024, 4096, twice: with the baseline GEMM
#          (RBMGPU_GEMM=baseline) and the new one (the default);
#   torch  the PyTorch peer (torch_rbm.py): GEMM ceilings, eager, torch.compile;
#   epoch  one synthetic 60,000-sample epoch (CD-1, 784x500, B128) through
#          engine.Trainer, then one Potts sweep (BenchmarkPottsSweep: L=100 q=21
#          10,000 chains and L=50 q=21 1,000 chains, kernel potts_gibbs_f32) and
#          one Potts RBM PCD-1 step (BenchmarkPottsRBMStep: L=100 q=21, H=100);
#   table  ONE table, printed last (table.py): samples/s, achieved TFLOP/s and
#          the fraction of the fp32 peak of ours (both GEMMs), torch eager
#          and compiled, then the epoch time and the Potts sweeps.
# With the device tool:  run(command="bash bench/gpu/run.sh", carry=["bench/gpu/carry"])
# Outputs go to $OUT (the device tool returns them) or bench/gpu/out, 7 files:
#   info.txt (with BUILD-INFO) check.txt ours.txt torch.jsonl torch.log table.md stages.txt
# stages.txt has one line per stage: name, seconds, PASS / FAIL / SKIP.
# Knobs (environment):
#   STAGES=info,check,ours,torch,epoch,table   the stages to run, in this order
#   QUICK=1          under 3 minutes: CD-1 only, B128 and B4096, shorter
#                    benchtime, a smaller torch budget, fewer checks
#   BENCHTIME=0.5s   go -benchtime of ours (QUICK: 0.2s)
#   TORCH_BUDGET=150 seconds for torch_rbm.py (QUICK: 70); it stops starting
#                    configurations when spent, skips torch.compile when the
#                    rest is shorter than a compile, and times out a
#                    configuration that overruns; also cut to what KIT_BUDGET
#                    leaves
#   KIT_BUDGET=450   seconds for the whole run (QUICK: 170): a stage that
#                    would start later is skipped (SKIP)
#   TORCH_ARGS="..." extra flags for torch_rbm.py; TORCH_PEER=path replaces it
#   PEAK_TFLOPS=67   fp32 peak for the table (H100/H200 SXM datasheet)
#   PYTHON=python3  DEVICE=cuda:0  CARRY=bench/gpu/carry
# Every Go test binary runs with -test.timeout (150 s, benchmarks 240 s;
# QUICK: 90 s; never past KIT_BUDGET + 60 s) under timeout(1), the peer under
# timeout(1) too. A failing stage is reported and the next one still runs; the
# exit status is 1 if any stage failed, else 0.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
carry=$(cd "${CARRY:-$root/bench/gpu/carry}" 2>/dev/null && pwd) || carry=${CARRY:-$root/bench/gpu/carry}
out=${OUT:-$root/bench/gpu/out}
mkdir -p "$out"
out=$(cd "$out" && pwd)
stages=${STAGES:-info,check,ours,torch,epoch,table}
quick=${QUICK:-0}
py=${PYTHON:-python3}
dev=${DEVICE:-cuda:0}
peer=${TORCH_PEER:-$carry/peers/torch_rbm.py}
if [[ $quick == 1 ]]; then
  benchtime=${BENCHTIME:-0.2s}
  torch_budget=${TORCH_BUDGET:-70}
  kit_budget=${KIT_BUDGET:-170}
  steps='^CD-1$/^(784x500|4096x4096)$/^B(128|4096)$'
  torch_cfg=(--k 1 --batches 128,4096 --repeats 3 --target-s 0.1 --compile-estimate-s 30)
  test_timeout=90s
  bench_timeout=90s
else
  benchtime=${BENCHTIME:-0.5s}
  torch_budget=${TORCH_BUDGET:-150}
  kit_budget=${KIT_BUDGET:-450}
  steps='^CD-(1|10)$/^(784x500|4096x4096)$/^B(128|1024|4096)$'
  torch_cfg=()
  test_timeout=150s
  bench_timeout=240s
fi
failed=()
start=$SECONDS
has() { [[ ,$stages, == *,$1,* ]]; }
section() { printf '\n==== %s ====\n' "$*"; }
: >"$out/stages.txt"

if [[ ! -d $carry ]]; then
  echo "run: $carry is missing: run bash bench/gpu/build.sh here first and carry bench/gpu/carry" >&2
  exit 1
fi

# Unpack the gzipped binaries (build.sh compresses them to halve the carry).
bin=$(mktemp -d /tmp/rbmgpu-carry.XXXXXX)
trap 'rm -rf "$bin"' EXIT
for f in "$carry"/*.gz; do
  [[ -f $f ]] || continue
  gunzip -c "$f" >"$bin/$(basename "$f" .gz)"
  chmod +x "$bin/$(basename "$f" .gz)"
done

# runtest FILE DIR BINARY ARGS...: run a Go test binary from its package
# directory with -test.timeout $tt (default $test_timeout; never past
# KIT_BUDGET + 60 s, so a hang cannot use up the device call) and
# timeout(1) 15 s later, appending its output to FILE.
runtest() {
  local file=$1 dir=$2 exe=$3
  shift 3
  if [[ ! -x $bin/$exe ]]; then
    echo "run: $exe was not built (see BUILD-INFO)" | tee -a "$file"
    return 1
  fi
  local t=${tt:-$test_timeout}
  t=${t%s}
  local rem=$((kit_budget + 60 - (SECONDS - start)))
  ((t > rem)) && t=$rem
  ((t < 20)) && t=20
  echo "--- $exe -test.timeout ${t}s $*" | tee -a "$file"
  if (cd "$dir" && timeout -k 10 "$((t + 15))" "$bin/$exe" -test.timeout "${t}s" "$@") 2>&1 | tee -a "$file"; then
    echo "run: $exe PASS" | tee -a "$file"
  else
    echo "run: $exe FAIL" | tee -a "$file"
    return 1
  fi
}

stage_info() {
  {
    nvidia-smi -L || echo "nvidia-smi failed"
    nvidia-smi --query-gpu=name,driver_version,compute_mode,memory.total,clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv || true
    nvidia-smi 2>/dev/null | grep -m1 'CUDA Version' || true
    echo "cpu: $(nproc) cores, $(sed -n 's/^model name\t: //p' /proc/cpuinfo | head -1)"
    "$py" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)' 2>&1 | tail -1 || true
    if [[ -x $bin/rbmgpu ]]; then
      "$bin/rbmgpu" version 2>&1
      "$bin/rbmgpu" devices 2>&1
    else
      echo "run: rbmgpu was not built (see BUILD-INFO)"
    fi
    echo "--- BUILD-INFO"
    cat "$carry/BUILD-INFO" 2>/dev/null || echo "run: no BUILD-INFO"
  } | tee "$out/info.txt"
  [[ -x $bin/rbmgpu ]]
}

stage_check() {
  : >"$out/check.txt"
  local rc=0
  local gpu='^TestGPU(MatchesHost|ErrorsAndConcurrency|RecordMemsetPrimary)$'
  runtest "$out/check.txt" kernels/cudadrv cudadrv.test -test.v -test.run "$gpu" || rc=1
  if [[ $quick != 1 ]]; then
    runtest "$out/check.txt" engine engine.test -test.v -test.short \
      -test.run '^Test(CUDAMatchesCPU|BMCUDAMatchesCPU|CUDAGaussianMatchesCPU)$' || rc=1
    runtest "$out/check.txt" engine/ais ais.test -test.v -test.short -test.run '^TestCUDAAISMatchesExact$' || rc=1
  fi
  RBMGPU_BENCH_DEVICE=$dev runtest "$out/check.txt" bench bench.test -test.v -test.run '^Test(DeviceMatchesCPU|ResidentMatchesStep)$' || rc=1
  if grep -q -- '--- SKIP' "$out/check.txt"; then
    echo "run: some checks were skipped (reasons above): is there a CUDA device?" | tee -a "$out/check.txt"
    rc=1
  fi
  return $rc
}

stage_ours() {
  : >"$out/ours.txt"
  local rc=0 gemm
  for gemm in baseline new; do
    echo "# gemm $gemm" | tee -a "$out/ours.txt"
    (
      unset RBMGPU_GEMM
      [[ $gemm == baseline ]] && export RBMGPU_GEMM=baseline
      export RBMGPU_BENCH_DEVICE=$dev RBMGPU_BENCH_BIG=1
      tt=$bench_timeout runtest "$out/ours.txt" bench bench.test -test.run '^$' \
        -test.bench "^BenchmarkStep\$/^${dev}\$/${steps}" -test.benchtime "$benchtime"
    ) || rc=1
  done
  if ! grep -q '^BenchmarkStep/.*samples/s' "$out/ours.txt"; then
    echo "run: no step figures of ours" | tee -a "$out/ours.txt"
    rc=1
  fi
  return $rc
}

stage_torch() {
  # The budget: TORCH_BUDGET, or what the kit's budget leaves for this stage
  # and the two after it, if less.
  local left=$((kit_budget - (SECONDS - start) - 40))
  local budget=$((torch_budget < left ? torch_budget : left))
  if ((budget < 20)); then
    echo "run: torch skipped: ${budget}s left of KIT_BUDGET=${kit_budget}" | tee "$out/torch.log"
    return 2
  fi
  # shellcheck disable=SC2086 # TORCH_ARGS is a list of flags
  PYTHONUNBUFFERED=1 timeout -k 10 "$((budget + 60))" "$py" "$peer" --budget-s "$budget" "${torch_cfg[@]}" ${TORCH_ARGS:-} \
    >"$out/torch.jsonl" 2> >(tee "$out/torch.log" >&2)
}

stage_epoch() {
  echo "# epoch" >>"$out/ours.txt"
  RBMGPU_BENCH_DEVICE=$dev RBMGPU_BENCH_BIG=1 tt=$bench_timeout runtest "$out/ours.txt" bench bench.test -test.v -test.run '^$' \
    -test.bench "^BenchmarkEpoch\$/^${dev}\$/^synthetic-60k\$" -test.benchtime 1x
  local rc=$?
  echo "# potts" >>"$out/ours.txt"
  RBMGPU_BENCH_DEVICE=$dev tt=$bench_timeout runtest "$out/ours.txt" bench bench.test -test.v -test.run '^$' \
    -test.bench "^BenchmarkPotts(Sweep|RBMStep)\$/^${dev}\$/" -test.benchtime "$benchtime" || rc=1
  return $rc
}

stage_table() {
  "$py" bench/gpu/table.py --ours "$out/ours.txt" --torch "$out/torch.jsonl" --peak "${PEAK_TFLOPS:-67}" | tee "$out/table.md"
}

for s in info check ours torch epoch table; do
  has "$s" || continue
  t0=$SECONDS
  if ((t0 - start > kit_budget)) && [[ $s != table ]]; then
    echo "run: $s skipped: $((t0 - start))s spent of KIT_BUDGET=${kit_budget}"
    printf '%-6s %4ds SKIP\n' "$s" 0 >>"$out/stages.txt"
    continue
  fi
  section "$s"
  "stage_$s"
  rc=$?
  status=PASS
  if ((rc == 2)); then
    status=SKIP
  elif ((rc != 0)); then
    status=FAIL
    failed+=("$s")
  fi
  printf '%-6s %4ds %s\n' "$s" "$((SECONDS - t0))" "$status" >>"$out/stages.txt"
done

echo
cat "$out/stages.txt"
if ((${#failed[@]})); then
  echo "run: FAILED: ${failed[*]} ($((SECONDS - start))s; outputs in $out)"
  exit 1
fi
echo "run: all stages passed ($((SECONDS - start))s; outputs in $out)"
