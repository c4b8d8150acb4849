#!/usr/bin/env bash
# potts_pfam.sh — `rbmgpu train --model potts` at its defaults on real Pfam seed
# alignments (Debian's hmmer examples: apt-get install -y hmmer-doc, or hmmer's
# examples), then `rbmgpu contacts`. For each alignment it prints L, M, M_eff, the
# epochs run, the final Pearson correlation of connected correlations, whether the
# target was reached and the wall time from process start to exit.
#
#   bash bench/potts_pfam.sh                       # RRM_1, fn3, Pkinase (those present)
#   bash bench/potts_pfam.sh path/to/family.sto …  # any alignments (FASTA, A2M, Stockholm)
#   TRAIN_ARGS="--chains 3000" bash bench/potts_pfam.sh
# Outputs go to $OUT (or a temporary folder, printed): <name>.log, <name>/, <name>.contacts.tsv.
set -euo pipefail

ex=/usr/share/doc/hmmer/examples
TRAIN_ARGS=${TRAIN_ARGS:-}
root=$(cd "$(dirname "$0")/.." && pwd)
files=("$@")
if ((${#files[@]} == 0)); then
  for f in "$ex/testsuite/RRM_1.sto.gz" "$ex/tutorial/fn3.sto" "$ex/tutorial/Pkinase.sto"; do
    [[ -e $f ]] && files+=("$f")
  done
fi
if ((${#files[@]} == 0)); then
  echo "potts_pfam: no alignments given and none of Debian's hmmer examples under $ex (apt-get install -y hmmer-doc)" >&2
  exit 1
fi
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
cd "$root"
go build -o "$out/rbmgpu" ./cmd/rbmgpu
echo "potts_pfam: $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1), load $(cut -d' ' -f1-3 /proc/loadavg); output in $out"
for f in "${files[@]}"; do
  name=$(basename "$f")
  name=${name%%.*}
  data=$f
  if [[ $f == *.gz ]]; then
    data="$out/$(basename "${f%.gz}")"
    gzip -dc "$f" >"$data"
  fi
  rm -rf "${out:?}/$name"
  start=$(date +%s.%N)
  # shellcheck disable=SC2086 # TRAIN_ARGS is a list of flags
  if ! "$out/rbmgpu" train --model potts --data "$data" --out "$out/$name" $TRAIN_ARGS >"$out/$name.log" 2>&1; then
    echo "potts_pfam: $name: train failed: $(tail -1 "$out/$name.log")"
    continue
  fi
  end=$(date +%s.%N)
  "$out/rbmgpu" contacts --model "$out/$name" --out "$out/$name.contacts.tsv"
  banner=$(grep -m1 '^training Potts' "$out/$name.log")
  L=$(echo "$banner" | sed -n 's/.* L=\([0-9]*\) .*/\1/p')
  M=$(echo "$banner" | sed -n 's/.*M = \([0-9]*\) sequences.*/\1/p')
  meff=$(echo "$banner" | sed -n 's/.*M_eff = \([0-9.]*\).*/\1/p')
  last=$(grep -E '^epoch [0-9]+: Pearson' "$out/$name.log" | tail -1)
  target=no
  grep -q '^target Pearson .* reached' "$out/$name.log" && target=yes
  echo "potts_pfam: $name: L=$L M=$M M_eff=$meff; ${last%%, f_i*}; target reached: $target; wall $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }') s; load $(cut -d' ' -f1 /proc/loadavg)"
done
