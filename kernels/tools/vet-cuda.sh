#!/usr/bin/env bash
# vet-cuda.sh — compile-check the `cuda`-tagged Go code (kernels/cudadrv and
# anything else under kernels/) against the CUDA headers and libcuda.so stub
# unpacked by install-cuda.sh; no GPU or driver needed. Needs gorgonia.org/cu
# in go.mod (it comes with gorgonia).
#   bash kernels/tools/install-cuda.sh && bash kernels/tools/vet-cuda.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
P=${CUDA_PREFIX:-/opt/rbmgpu-cuda}/usr
cd "$root"
# gorgonia.org/cu binds deprecated driver functions: silence those warnings.
export CGO_CFLAGS="-I$P/include -Wno-deprecated-declarations -Wno-implicit-function-declaration"
export CGO_LDFLAGS="-L$P/lib/x86_64-linux-gnu/stubs"
go vet -tags cuda ./kernels/...
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Build and link (against the stub) the test binaries without running them:
# running needs the real libcuda.so.1.
go test -tags cuda -c -o "$tmp/" ./kernels/...
echo "vet-cuda: OK"
