#!/usr/bin/env bash
# build.sh — build, HERE (no GPU needed), everything bench/gpu/run.sh runs on a
# GPU machine that has the NVIDIA driver, PyTorch and no Go:
#
#   bench/gpu/carry/rbmgpu.gz          the CLI, CUDA build
#   bench/gpu/carry/cudadrv.test.gz    kernels/cudadrv: every kernel on the GPU vs the host kernels, graphs, errors
#   bench/gpu/carry/engine.test.gz     engine tests (run.sh picks the CUDA ones: CD/PCD, BM, Gaussian vs the CPU)
#   bench/gpu/carry/ais.test.gz        engine/ais: AIS on the GPU against the exact log Z
#   bench/gpu/carry/bench.test.gz      bench: BenchmarkStep/BenchmarkEpoch and TestDeviceMatchesCPU
#   (gzipped: half the size; run.sh unpacks them into a temporary folder)
#   bench/gpu/carry/peers/*.py      torch_rbm.py (and sklearn_rbm.py, for completeness)
#   bench/gpu/carry/BUILD-INFO      commit, dirty files, Go, tag, which builds succeeded
#
# Run from anywhere in the repository:
#   bash bench/gpu/build.sh                # TAGS=rbmgpu_cuda (or TAGS=) bash bench/gpu/build.sh to force a tag (or none)
# then, with the device tool: run(command="bash bench/gpu/run.sh", carry=["bench/gpu/carry"],
# timeout_s=540) (QUICK=1 bash bench/gpu/run.sh: under 3 minutes). run.sh's header lists its knobs.
#
# The CUDA build tag is read from the cuda-tagged engine file that registers the
# backend (TAGS=... overrides it). The binaries link only the C and C++
# runtime; libcuda.so.1 is loaded from the driver at run time. CUDA headers
# under /opt/rbmgpu-cuda (kernels/tools/install-cuda.sh) are used when present. A build that
# fails is reported and skipped; the script exits 1 only if nothing useful was
# built. carry/ is gitignored and must stay under 64 MiB (the device tool's limit).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
carry=bench/gpu/carry
P=${CUDA_PREFIX:-/opt/rbmgpu-cuda}/usr

# Headers and the libcuda stub, for a cudadrv that includes cuda.h; the
# dlopen-based one needs neither. Same flags as kernels/tools/vet-cuda.sh had.
export CGO_ENABLED=1
if [[ -d $P/include ]]; then
  export CGO_CFLAGS="-I$P/include -Wno-deprecated-declarations -Wno-implicit-function-declaration"
  export CGO_LDFLAGS="-L$P/lib/x86_64-linux-gnu/stubs"
fi

# The tag: from the build constraint of the engine file that sets
# cudaBackend. gorgonia.org/gorgonia has a `cuda` tag of its own (its CUDA VM,
# cuBLAS and cuDNN bindings), so a project tag other than `cuda` is preferred
# (e.g. `//go:build cuda || rbmgpu_cuda`); a constraint with no CUDA tag
# (`//go:build cgo`: the backend is in every cgo build) means no tag at all.
if [[ -z ${TAGS+set} ]]; then
  TAGS=cuda
  reg=$(grep -l 'cudaBackend *= *func' engine/*.go 2>/dev/null | head -1 || true)
  if [[ -n $reg ]]; then
    words=$(sed -n 's#^//go:build ##p' "$reg" | head -1 | grep -o '[A-Za-z0-9_.]*' || true)
    TAGS=$(echo "$words" | grep -i cuda | grep -v '^cuda$' | head -1 || true)
    if [[ -z $TAGS ]] && grep -qx cuda <<<"$words"; then
      TAGS=cuda
    fi
  fi
fi

rm -rf "$carry"
mkdir -p "$carry/peers"
ldflags='-s -w'
ok=() failed=()
log="$carry/BUILD-INFO"
{
  echo "built: $(date -u +%Y-%m-%dT%H:%MZ) on $(hostname)"
  echo "commit: $(git rev-parse HEAD 2>/dev/null || echo unknown)"
  echo "dirty: $(git status --porcelain 2>/dev/null | grep -v '^??' | wc -l) modified, $(git status --porcelain 2>/dev/null | grep -c '^??' || true) untracked"
  echo "go: $(go version)"
  echo "tags: ${TAGS:-(none)}"
} >"$log"

# build NAME CMD...: run CMD, record success or failure with the error's first lines.
build() {
  local name=$1
  shift
  local err
  if err=$("$@" 2>&1); then
    ok+=("$name")
    echo "build: $name OK"
  else
    failed+=("$name")
    echo "build: $name FAILED:" >&2
    echo "$err" | head -15 | sed 's/^/    /' >&2
    {
      echo "FAILED $name:"
      echo "$err" | head -15 | sed 's/^/    /'
    } >>"$log"
  fi
}

build rbmgpu go build -tags "$TAGS" -ldflags "$ldflags" -o "$carry/rbmgpu" ./cmd/rbmgpu
build cudadrv.test go test -c -tags "$TAGS" -ldflags "$ldflags" -o "$carry/cudadrv.test" ./kernels/cudadrv
build engine.test go test -c -tags "$TAGS" -ldflags "$ldflags" -o "$carry/engine.test" ./engine
build ais.test go test -c -tags "$TAGS" -ldflags "$ldflags" -o "$carry/ais.test" ./engine/ais
build bench.test go test -c -tags "$TAGS" -ldflags "$ldflags" -o "$carry/bench.test" ./bench
cp bench/peers/torch_rbm.py bench/peers/sklearn_rbm.py "$carry/peers/"

# Does the CLI carry the CUDA backend? (A build without the engine's
# registration file compiles but is CPU-only.)
if [[ -x $carry/rbmgpu ]]; then
  cudaline=$("$carry/rbmgpu" version 2>&1 | grep '^cuda:' || true)
  echo "build: rbmgpu version says '$cudaline'"
  echo "rbmgpu $cudaline" >>"$log"
  if [[ -z $cudaline || $cudaline == *"not built"* || $cudaline == *"no ("* ]]; then
    echo "build: WARNING: rbmgpu has no CUDA backend: the engine's CUDA registration (a file under engine/ setting cudaBackend, built with tags '${TAGS}') is missing; bench.test will skip the cuda:0 benchmarks" >&2
  fi
fi

# Known trap: gorgonia.org/gorgonia has cuda-tagged files of its own that pull
# in gorgonia.org/cu/dnn and cu/blas (cuDNN and cuBLAS headers and libraries).
for name in "${failed[@]}"; do
  if grep -q 'cudnn.h\|cublas' "$log"; then
    echo "build: NOTE: the failures above come from gorgonia.org/gorgonia's own '$TAGS' build tag, which compiles its cuDNN/cuBLAS bindings (gorgonia.org/cu/dnn, cu/blas); any package importing gorgonia (engine, cmd/rbmgpu, bench) cannot build with -tags $TAGS without cuDNN headers. The engine's CUDA code needs a tag gorgonia does not use (then TAGS=thattag, or this script finds it)." >&2
    echo "NOTE: gorgonia's own '$TAGS' tag needs cuDNN/cuBLAS (gorgonia.org/cu/dnn, cu/blas)" >>"$log"
    break
  fi
done

# Newest glibc symbol the binaries need (the GPU machine's image must have it).
glibc=$(for f in "$carry"/rbmgpu "$carry"/*.test; do [[ -f $f ]] && objdump -T "$f" 2>/dev/null; done |
  grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1 || true)
echo "glibc needed: ${glibc:-none}" >>"$log"

# Compressed, the binaries travel in half the space; run.sh unpacks them.
for f in "$carry"/rbmgpu "$carry"/*.test; do
  [[ -f $f ]] && gzip -9 -f "$f"
done

size=$(du -sm "$carry" | cut -f1)
echo "build: built ${ok[*]:-nothing}; failed: ${failed[*]:-none}; $carry is ${size} MiB; newest glibc symbol ${glibc:-none}"
echo "built: ${ok[*]:-nothing}; failed: ${failed[*]:-none}; size ${size} MiB" >>"$log"
if ((size >= 60)); then
  echo "build: $carry is ${size} MiB: too close to the device tool's 64 MiB limit with the working tree" >&2
  exit 1
fi
if [[ ! -f $carry/cudadrv.test.gz && ! -f $carry/bench.test.gz ]]; then
  echo "build: neither cudadrv.test nor bench.test built: nothing to run on a GPU" >&2
  exit 1
fi
