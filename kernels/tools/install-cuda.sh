#!/usr/bin/env bash
# install-cuda.sh — install just enough of CUDA 11.8 (Debian bookworm non-free)
# to turn kernels/*.cu into PTX and to assemble PTX with ptxas:
#   nvcc, cicc (NVVM front end), ptxas, fatbinary, the CUDA headers and the
#   libcuda.so link stub (for `go vet -tags cuda` of kernels/cudadrv).
#
# Usage (as root, on Debian bookworm; idempotent):
#   bash kernels/tools/install-cuda.sh          # prefix /opt/rbmgpu-cuda
#   CUDA_PREFIX=/some/dir bash kernels/tools/install-cuda.sh
#
# Nothing is installed through dpkg: the .deb files are fetched with
# `apt-get download` into a private folder (this image empties apt's own
# archive cache on every `apt-get update`) and unpacked with dpkg-deb into
# the prefix (165 MB), so no NVIDIA driver or 1.6 GB toolkit install is
# needed. A fresh run takes about 1.5-3 minutes on a 2-core machine, mostly
# downloading 860 MB of .debs and decompressing them; a repeat run is instant.
# nvcc 11.8 wants a host gcc <= 11 even for -ptx (it preprocesses with it), so
# gcc-11/g++-11 are installed from bookworm main if missing.
#
# Prints, last, three lines: NVCC=<path>, PTXAS=<path> and CUDA_INCLUDE=<dir>.
# Other scripts find the tools the same way (CUDA_PREFIX, default as here).
set -euo pipefail

PREFIX=${CUDA_PREFIX:-/opt/rbmgpu-cuda}
DEBS=${CUDA_DEB_DIR:-/var/cache/rbmgpu-cuda-debs}
SRC=/etc/apt/sources.list.d/rbmgpu-nonfree.sources
# Minimal set found by trying: the toolkit (nvcc, cicc with libdevice, ptxas,
# fatbinary, nvlink) and the dev package (headers, libcuda.so stub). cicc is
# statically linked, so libnvvm4 is not needed; nvidia-cuda-toolkit-gcc only
# wraps gcc-11, which we pass to nvcc with -ccbin instead.
PKGS=(nvidia-cuda-toolkit nvidia-cuda-dev)

log() { echo "install-cuda: $*" >&2; }

nvcc_path() { echo "$PREFIX/usr/lib/nvidia-cuda-toolkit/bin/nvcc"; }
ptxas_path() { echo "$PREFIX/usr/bin/ptxas"; }

if [[ -x $(nvcc_path) && -x $(ptxas_path) && -f $PREFIX/.complete ]] &&
	command -v g++-11 >/dev/null; then
	log "already installed in $PREFIX"
else
	if [[ $(id -u) != 0 ]]; then
		log "must run as root (apt-get)"; exit 1
	fi
	# The Debian archive URI is taken from the machine's own sources, so the
	# script follows whatever mirror or snapshot the image is configured for.
	uri=""
	if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
		uri=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' \
			/etc/apt/sources.list.d/debian.sources)
	fi
	if [[ -z $uri && -f /etc/apt/sources.list ]]; then
		uri=$(awk '$1 == "deb" && $0 ~ /bookworm/ && $0 !~ /security/ {
			for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { print $i; exit } }' /etc/apt/sources.list)
	fi
	if [[ -z $uri ]]; then
		log "cannot find the Debian archive URI in /etc/apt/sources.list{,.d/debian.sources}"; exit 1
	fi
	want="Types: deb
URIs: $uri
Suites: bookworm bookworm-updates
Components: contrib non-free
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
	if [[ ! -f $SRC || $(cat "$SRC") != "$want" ]]; then
		log "adding $SRC (contrib non-free from $uri)"
		printf '%s\n' "$want" >"$SRC"
	fi
	log "apt-get update"
	apt-get update -qq
	if ! command -v g++-11 >/dev/null; then
		log "installing gcc-11 g++-11 (nvcc 11.8 host compiler)"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gcc-11 g++-11 >/dev/null
	fi
	mkdir -p "$DEBS" "$PREFIX"
	# apt-get download drops privileges to _apt when it can write the folder.
	if id _apt >/dev/null 2>&1; then chown _apt "$DEBS"; fi
	log "downloading ${PKGS[*]}"
	(cd "$DEBS" && apt-get download -qq -o Dir::Cache::Archives="$DEBS" "${PKGS[@]}")
	for p in "${PKGS[@]}"; do
		deb=$(ls -t "$DEBS"/"${p}"_*.deb | head -1)
		log "extracting $(basename "$deb")"
		if [[ $p == nvidia-cuda-dev ]]; then
			# 2.7 GB of CUDA libraries nothing here links: take only the
			# headers and the libcuda.so stub (for cgo link checks).
			dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$PREFIX" --wildcards \
				'./usr/include/*' './usr/lib/x86_64-linux-gnu/stubs/libcuda.so'
		else
			dpkg-deb -x "$deb" "$PREFIX"
		fi
	done
	# Debian's nvcc.profile is a link to /etc/nvcc.profile with absolute /usr
	# paths; give the relocated nvcc its own profile pointing into the prefix.
	prof=$PREFIX/usr/lib/nvidia-cuda-toolkit/bin/nvcc.profile
	rm -f "$prof"
	cat >"$prof" <<PROFILE
NVVMIR_LIBRARY_DIR = $PREFIX/usr/lib/nvidia-cuda-toolkit/libdevice
PATH += $PREFIX/usr/lib/nvidia-cuda-toolkit/bin:$PREFIX/usr/bin:
INCLUDES += "-I$PREFIX/usr/include" \$(_SPACE_)
LIBRARIES =+ \$(_SPACE_) -L$PREFIX/usr/lib/x86_64-linux-gnu/stubs -L$PREFIX/usr/lib/x86_64-linux-gnu
PROFILE
	rm -rf "$PREFIX/usr/lib/nvidia-cuda-toolkit/compute-sanitizer"   # 15 MB, unused
	rm -f "$DEBS"/*.deb   # 0.9 GB, not needed once unpacked
	touch "$PREFIX/.complete"
fi

echo "NVCC=$(nvcc_path)"
echo "PTXAS=$(ptxas_path)"
echo "CUDA_INCLUDE=$PREFIX/usr/include"
