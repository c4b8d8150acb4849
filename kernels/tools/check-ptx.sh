#!/usr/bin/env bash
# check-ptx.sh — CI check of the committed PTX (kernels/ptx/*.ptx):
#   (a) regenerate it from kernels/*.cu into a temporary folder and compare:
#       any difference means someone edited a .cu without `go generate ./kernels`;
#   (b) assemble every committed PTX with ptxas for sm_75, sm_80 and sm_90, the
#       way the driver's JIT will (catches PTX the JIT would reject);
#   (c) print ptxas -v resource usage (registers, spill stores/loads, shared
#       memory per block) of every kernel for sm_80 and sm_90, and fail if
#       any kernel spills.
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

# (c) resource report (ptxas -v) for sm_80 and sm_90: registers, spill
#     stores/loads and static shared memory per block of every kernel; any
#     spill fails the check (a spilling kernel runs out of local memory).
report_archs=(sm_80 sm_90)
echo "check-ptx: $(ls "$here"/ptx/*.ptx | wc -l) modules, assembled for ${archs[*]}; resources (ptxas -v):"
printf '  %-12s %-22s %-6s %5s %12s %11s %10s\n' module kernel arch regs spill-stores spill-loads smem
for f in "$here"/ptx/*.ptx; do
	for arch in "${report_archs[@]}"; do
		"$ptxas" -arch="$arch" -v "$f" -o /dev/null >"$tmp/v" 2>&1 || true
		awk -v m="$(basename "$f" .ptx)" -v a="$arch" '
			/Compiling entry function/ { k = $7; gsub(/[^A-Za-z0-9_]/, "", k); st = 0; ld = 0 }
			/spill stores/ { for (i = 1; i < NF; i++) { if ($(i+1) == "bytes" && $(i+2) == "spill" && $(i+3) == "stores,") st = $i; if ($(i+1) == "bytes" && $(i+2) == "spill" && $(i+3) == "loads") ld = $i } }
			/Used [0-9]+ registers/ {
				r = 0; sm = 0
				for (i = 1; i < NF; i++) { if ($(i+1) ~ /^registers,?$/) r = $i; if ($(i+1) == "bytes" && $(i+2) ~ /^smem/) sm = $i }
				printf "  %-12s %-22s %-6s %5d %12d %11d %10d\n", m, k, a, r, st, ld, sm
				if (st > 0 || ld > 0) printf "SPILL %s %s %s\n", m, k, a > "/dev/stderr"
			}' "$tmp/v" 2>>"$tmp/spills"
	done
done
if [[ -s $tmp/spills ]]; then
	while read -r _ m k a; do
		echo "check-ptx: FAIL $m.ptx: $k spills registers on $a (see the report above)" >&2
	done <"$tmp/spills"
	fail=1
fi
if [[ $fail != 0 ]]; then
	echo "check-ptx: FAILED" >&2
	exit 1
fi
echo "check-ptx: OK"
