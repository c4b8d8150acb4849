#!/usr/bin/env bash
# vet-cuda.sh — check the `cuda`-tagged Go code without a GPU, a driver or
# the CUDA toolkit. kernels/cudadrv declares the few driver types it uses
# and dlopens libcuda.so.1 at run time, so nothing CUDA is needed to build.
#
#   1. go vet -tags cuda ./...
#   2. compile and link the test binaries of every package with cuda-tagged
#      files (not run: kernels/cudadrv's tests run anywhere with
#      `go test -tags cuda ./kernels/cudadrv`, and on a GPU compare it with
#      the emulator);
#   3. build cmd/rbmgpu with -tags cuda and check with readelf that it links
#      none of libcuda, libcudart, libcublas, libcurand, libcudnn: the only
#      CUDA library it uses is libcuda.so.1, opened with dlopen when a CUDA
#      device is first asked for, so the same binary runs on machines with
#      no NVIDIA driver and falls back to the CPU.
#
#   bash kernels/tools/vet-cuda.sh
#
# CUDA_TAG picks the build tag (default cuda). Beware: gorgonia.org/gorgonia
# has its own `cuda` tag, which switches it to its CUDA VM and imports
# gorgonia.org/cu (cuInit in init(), os.Exit on failure), cu/blas (cuBLAS) and
# cu/dnn (cuDNN): any binary built with -tags cuda that imports gorgonia gets
# them. Step 0 fails on that. kernels/cudadrv also builds under the tag
# rbmgpu_cuda, which nothing else uses:
#   CUDA_TAG=rbmgpu_cuda bash kernels/tools/vet-cuda.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
tag=${CUDA_TAG:-cuda}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 0. Nothing built with the tag may depend on gorgonia.org/cu.
if cu=$(go list -tags "$tag" -deps ./... | grep -E '^gorgonia\.org/cu(/|$)'); then
	echo "vet-cuda: with -tags $tag the module depends on $(tr '\n' ' ' <<<"$cu")(gorgonia's own" \
		"'$tag' tag turns on its CUDA VM: cuInit/os.Exit at start-up, links libcuda, cuBLAS, cuDNN)." \
		"Build the CUDA backend under a tag gorgonia does not use, e.g. CUDA_TAG=rbmgpu_cuda." >&2
	exit 1
fi

go vet -tags "$tag" ./...

# Packages that have a file behind the tag.
mapfile -t pkgs < <(grep -rlE --include='*.go' "^//go:build.*\\b$tag\\b" . |
	xargs -r -n1 dirname | sort -u)
if [ ${#pkgs[@]} -eq 0 ]; then
	echo "vet-cuda: no packages with files behind the $tag tag" >&2
	exit 1
fi
for p in "${pkgs[@]}"; do
	go test -tags "$tag" -c -o "$tmp/" "$p"
done

go build -tags "$tag" -o "$tmp/rbmgpu" ./cmd/rbmgpu
needed=$(readelf -d "$tmp/rbmgpu" | awk '/\(NEEDED\)/ { gsub(/[][]/, "", $NF); print $NF }')
if bad=$(grep -E '^lib(cuda|cudart|cublas|cublasLt|curand|cudnn|nvrtc)\.' <<<"$needed"); then
	echo "vet-cuda: cmd/rbmgpu -tags $tag links CUDA libraries (they must be dlopened): $bad" >&2
	exit 1
fi
strings "$tmp/rbmgpu" >"$tmp/strings"
if ! grep -qx 'libcuda.so.1' "$tmp/strings"; then
	echo "vet-cuda: cmd/rbmgpu -tags $tag does not name libcuda.so.1: is the CUDA backend linked in?" >&2
	exit 1
fi
echo "vet-cuda: OK (-tags $tag: ${#pkgs[@]} tagged packages vetted and test-linked; rbmgpu NEEDED: $(tr '\n' ' ' <<<"$needed")— libcuda.so.1 is dlopened at run time)"
