#!/usr/bin/env bash
# gen-ptx.sh — compile every kernels/*.cu to PTX for the compute_60 virtual
# architecture (portable: the driver JIT-compiles it for Pascal and later).
#
# Usage: bash kernels/tools/gen-ptx.sh [OUTDIR]      (default: kernels/ptx)
#        go generate ./kernels                        (same, via kernels/ptx.go)
# Finds nvcc as $NVCC, else in $CUDA_PREFIX (default /opt/rbmgpu-cuda, where
# kernels/tools/install-cuda.sh puts it), else on PATH. The host compiler
# (nvcc 11.8 needs gcc <= 11, even for -ptx, which preprocesses with it) is
# $NVCC_CCBIN, default g++-11.
#
# Flags, and why:
#   -arch=compute_60  PTX only, baseline every supported GPU can JIT.
#   -fmad=false       nvcc would otherwise contract a*b+c into FMA wherever it
#                     likes; the emulator (g++ -ffp-contract=off) does not, so
#                     the kernels say fmaf explicitly where they want it.
#   no -lineinfo/-G   the PTX must not depend on where the tree is checked out.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)   # kernels/
out=${1:-$here/ptx}
prefix=${CUDA_PREFIX:-/opt/rbmgpu-cuda}
nvcc=${NVCC:-}
if [[ -z $nvcc ]]; then
	if [[ -x $prefix/usr/lib/nvidia-cuda-toolkit/bin/nvcc ]]; then
		nvcc=$prefix/usr/lib/nvidia-cuda-toolkit/bin/nvcc
	elif command -v nvcc >/dev/null; then
		nvcc=$(command -v nvcc)
	else
		echo "gen-ptx: nvcc not found; run kernels/tools/install-cuda.sh or set NVCC" >&2
		exit 1
	fi
fi
ccbin=${NVCC_CCBIN:-g++-11}
mkdir -p "$out"
cd "$here"
for cu in *.cu; do
	name=${cu%.cu}
	"$nvcc" -ptx -arch=compute_60 -fmad=false -ccbin "$ccbin" -o "$out/$name.ptx" "$cu"
done
