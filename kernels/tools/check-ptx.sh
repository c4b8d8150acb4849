#!/usr/bin/env bash
# check-ptx.sh — CI check of the committed PTX (kernels/ptx/*.ptx):
#   (a) regenerate it from kernels/*.cu into a temporary folder and compare:
#       any difference means someone edited a .cu without `go generate ./kernels`;
#   (b) assemble every committed PTX with ptxas for sm_75, sm_80 and sm_90, the
#       way the driver's JIT will (catches PTX the JIT would reject);
#   (c) print a summary (registers, shared memory per kernel for sm_80).
# Needs the toolchain of kernels/tools/install-cuda.sh (CUDA_PREFIX, default
# /opt/rbmgpu-cuda) or NVCC/PTXAS set. CI runs:
#   bash kernels/tools/install-cuda.sh && bash kernels/tools/check-ptx.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)   # kernels/
prefix=${CUDA_PREFIX:-/opt/rbmgpu-cuda}
ptxas=${PTXAS:-}
if [[ -z $ptxas ]]; then
	if [[ -x $prefix/usr/bin/ptxas ]]; then ptxas=$prefix/usr/bin/ptxas
	elif command -v ptxas >/dev/null; then ptxas=$(command -v ptxas)
	else echo "check-ptx: ptxas not found; run kernels/tools/install-cuda.sh or set PTXAS" >&2; exit 1
	fi
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

# (a) freshness
bash "$here/tools/gen-ptx.sh" "$tmp/ptx"
for f in "$tmp"/ptx/*.ptx; do
	name=$(basename "$f")
	if [[ ! -f $here/ptx/$name ]]; then
		echo "check-ptx: FAIL kernels/ptx/$name is missing: run 'go generate ./kernels' and commit it" >&2
		fail=1
	elif ! cmp -s "$f" "$here/ptx/$name"; then
		echo "check-ptx: FAIL kernels/ptx/$name is stale (its .cu changed): run 'go generate ./kernels' and commit it" >&2
		diff -u "$here/ptx/$name" "$f" | head -20 >&2 || true
		fail=1
	fi
done
for f in "$here"/ptx/*.ptx; do
	name=$(basename "$f")
	if [[ ! -f $tmp/ptx/$name ]]; then
		echo "check-ptx: FAIL kernels/ptx/$name has no .cu source any more: delete it" >&2
		fail=1
	fi
done

# (b) assemble for the GPUs we support
archs=(sm_75 sm_80 sm_90)
for f in "$here"/ptx/*.ptx; do
	for arch in "${archs[@]}"; do
		if ! "$ptxas" -arch="$arch" "$f" -o /dev/null 2>"$tmp/err"; then
			echo "check-ptx: FAIL ptxas -arch=$arch $(basename "$f"):" >&2
			cat "$tmp/err" >&2
			fail=1
		fi
	done
done

# (c) summary
echo "check-ptx: $(ls "$here"/ptx/*.ptx | wc -l) modules, assembled for ${archs[*]}; resources on sm_80:"
for f in "$here"/ptx/*.ptx; do
	"$ptxas" -arch=sm_80 -v "$f" -o /dev/null 2>&1 |
		awk -v m="$(basename "$f" .ptx)" '/Compiling entry function/ { k = $7; gsub(/[^A-Za-z0-9_]/, "", k) }
			/Used/ { sub(/^.*Used /, ""); printf "  %-12s %-22s %s\n", m, k, $0 }'
done
if [[ $fail != 0 ]]; then
	echo "check-ptx: FAILED" >&2
	exit 1
fi
echo "check-ptx: OK"
