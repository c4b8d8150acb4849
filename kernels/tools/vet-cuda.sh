#!/usr/bin/env bash
# vet-cuda.sh — check, without a GPU, a driver or the CUDA toolkit, that the
# CUDA backend is built into rbmgpu the way it must be:
#
#   1. kernels/cudadrv (the CUDA driver adapter) and engine/cuda.go are part of
#      every cgo build — no build tag: the driver is opened at run time;
#   2. nothing depends on gorgonia.org/cu (whose init() calls cuInit and exits
#      the process on failure) — we never build with -tags cuda, which is
#      gorgonia's own tag for its cuBLAS/cuDNN engine;
#   3. the rbmgpu binary links none of libcuda, libcudart, libcublas,
#      libcurand, libcudnn (readelf -d), yet names libcuda.so.1, which it
#      dlopens when a CUDA device is first asked for: one binary runs on
#      machines without an NVIDIA driver and falls back to the CPU;
#   4. where the CUDA headers are installed (install-cuda.sh), the driver
#      API as kernels/cudadrv declares it agrees with cuda.h
#      (check-driver-api.sh).
#
#   bash kernels/tools/vet-cuda.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if cu=$(go list -deps ./... | grep -E '^gorgonia\.org/cu(/|$)'); then
	echo "vet-cuda: the module depends on $(tr '\n' ' ' <<<"$cu")— it must not (see the header)" >&2
	exit 1
fi
# The list is captured first: grep -q would exit at the match and, under
# pipefail, go list's SIGPIPE would fail the check at random.
deps=$(go list -deps ./cmd/rbmgpu)
if ! grep -qx 'github.com/rbmgpu/rbmgpu/kernels/cudadrv' <<<"$deps"; then
	echo "vet-cuda: cmd/rbmgpu does not include kernels/cudadrv (is cgo enabled?)" >&2
	exit 1
fi
go vet ./kernels/cudadrv ./engine
go build -o "$tmp/rbmgpu" ./cmd/rbmgpu
needed=$(readelf -d "$tmp/rbmgpu" | awk '/\(NEEDED\)/ { gsub(/[][]/, "", $NF); print $NF }')
if bad=$(grep -E '^lib(cuda|cudart|cublas|cublasLt|curand|cudnn|nvrtc)\.' <<<"$needed"); then
	echo "vet-cuda: cmd/rbmgpu links CUDA libraries (they must be dlopened): $bad" >&2
	exit 1
fi
strings "$tmp/rbmgpu" >"$tmp/strings"
if ! grep -qx 'libcuda.so.1' "$tmp/strings"; then
	echo "vet-cuda: cmd/rbmgpu does not name libcuda.so.1: is the CUDA backend linked in?" >&2
	exit 1
fi
echo "vet-cuda: OK (rbmgpu NEEDED: $(tr '\n' ' ' <<<"$needed")— libcuda.so.1 is dlopened at run time)"
if [[ -f ${CUDA_PREFIX:-/opt/rbmgpu-cuda}/usr/include/cuda.h ]]; then
	bash kernels/tools/check-driver-api.sh
else
	echo "vet-cuda: no CUDA headers: the driver API declarations were not checked (bash kernels/tools/install-cuda.sh)"
fi
