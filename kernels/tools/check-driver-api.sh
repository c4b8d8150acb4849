#!/usr/bin/env bash
# check-driver-api.sh — kernels/cudadrv declares the CUDA driver API itself
# (libcuda.go's preamble: it dlopens libcuda.so.1 and includes no CUDA
# header), so nothing but a GPU would notice a wrong prototype. This script
# checks those declarations against the CUDA headers, without a GPU: it
# generates a C file that includes cuda.h and asserts, at compile time,
#   - each function pointer p_NAME has the type of the header's NAME, with
#     the driver's type names (RB_KERNEL_NODE_PARAMS read as the header's
#     CUDA_KERNEL_NODE_PARAMS);
#   - RB_KERNEL_NODE_PARAMS begins with CUDA_KERNEL_NODE_PARAMS_v1's fields
#     at the same offsets and is CUDA_KERNEL_NODE_PARAMS_v2 where the header
#     has one (CUDA 12.0 on);
#   - every RB_ constant whose comment names a CUDA constant equals it.
# Needs cc and the headers (bash kernels/tools/install-cuda.sh: CUDA 11.8
# under /opt/rbmgpu-cuda; CUDA_PREFIX=... for another).
#
#   bash kernels/tools/check-driver-api.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
inc=${CUDA_PREFIX:-/opt/rbmgpu-cuda}/usr/include
if [[ ! -f $inc/cuda.h ]]; then
	echo "check-driver-api: $inc/cuda.h not found (bash kernels/tools/install-cuda.sh)" >&2
	exit 1
fi
src=kernels/cudadrv/libcuda.go
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
c=$tmp/check.c
{
	echo '#include <stddef.h>'
	echo '#include <cuda.h>'
	# The node-parameter struct, verbatim.
	sed -n '/^typedef struct {$/,/^} RB_KERNEL_NODE_PARAMS;$/p' "$src"
	echo '#define SAME_FIELD(f) _Static_assert(offsetof(RB_KERNEL_NODE_PARAMS, f) == offsetof(CUDA_KERNEL_NODE_PARAMS_v1, f), "RB_KERNEL_NODE_PARAMS." #f)'
	for f in func gridDimX gridDimY gridDimZ blockDimX blockDimY blockDimZ sharedMemBytes kernelParams extra; do
		echo "SAME_FIELD($f);"
	done
	echo '_Static_assert(offsetof(RB_KERNEL_NODE_PARAMS, kern) == sizeof(CUDA_KERNEL_NODE_PARAMS_v1), "RB_KERNEL_NODE_PARAMS: v1 fields first");'
	echo '#if CUDA_VERSION >= 12000'
	echo '_Static_assert(sizeof(RB_KERNEL_NODE_PARAMS) == sizeof(CUDA_KERNEL_NODE_PARAMS_v2), "RB_KERNEL_NODE_PARAMS is the v2 layout");'
	echo '_Static_assert(offsetof(RB_KERNEL_NODE_PARAMS, ctx) == offsetof(CUDA_KERNEL_NODE_PARAMS_v2, ctx), "RB_KERNEL_NODE_PARAMS.ctx");'
	echo '#endif'
	# Prototypes: "static CUresult (*p_NAME)(ARGS);", possibly over two lines.
	awk '/^static CUresult \(\*p_/ { line = $0; while (line !~ /;$/) { getline more; line = line " " more } print line }' "$src" |
		sed -E 's/^static CUresult \(\*p_([A-Za-z0-9_]+)\)\((.*)\);$/\1|\2/' |
		while IFS='|' read -r name args; do
			args=${args//RB_KERNEL_NODE_PARAMS/CUDA_KERNEL_NODE_PARAMS}
			echo "_Static_assert(__builtin_types_compatible_p(__typeof__(&$name), CUresult (*)($args)), \"$name: prototype differs from cuda.h\");"
		done
	# Constants: "RB_X = N, // CUDA_OR_CU_NAME".
	sed -nE 's#^[[:space:]]*(RB_[A-Z0-9_]+) = ([0-9x]+),[[:space:]]*// ((CUDA|CU)_[A-Z0-9_]+)[[:space:]]*$#_Static_assert(\2 == \3, "\1 is not \3");#p' "$src"
} >"$c"
n=$(grep -c '__builtin_types_compatible_p' "$c")
k=$(grep -c ' is not ' "$c")
if ! out=$(cc -std=gnu11 -fsyntax-only -Werror -I"$inc" "$c" 2>&1); then
	echo "check-driver-api: kernels/cudadrv/libcuda.go disagrees with $inc/cuda.h:" >&2
	grep 'static assertion failed\|error' <<<"$out" | sed 's/^/    /' >&2
	exit 1
fi
echo "check-driver-api: OK ($n prototypes, the node-parameter layout and $k constants agree with cuda.h $(sed -n 's/^#define CUDA_VERSION //p' "$inc/cuda.h"))"
