#!/usr/bin/env bash
# pipeline.sh — the classic "RBM features for classification" pipeline of
# scikit-learn's examples, on Fashion-MNIST: an RBM learns features without
# labels, a logistic regression classifies on them. Ours and scikit-learn's,
# on the same images, with the same classifier:
#
#   1. bench/peers/pipeline.py prepare: the first $TRAIN_N training and $TEST_N test
#      images as float32 pixels / 255 (train.npy, test.npy) and their labels
#   2. ours: rbmgpu train --data train.npy --pcd 1 --hidden $HIDDEN --epochs $EPOCHS
#      --batch $BATCH --lr $LR --momentum 0 (PCD-1 without momentum, as
#      BernoulliRBM trains), then rbmgpu transform of both splits (N×H NPY files)
#   3. bench/peers/pipeline.py compare: BernoulliRBM with the same settings
#      (random_state 0), its transform of both splits, and
#      LogisticRegression(max_iter=1000) on raw pixels, on scikit-learn's features
#      and on ours; test accuracies side by side
#
# Run from anywhere in the repository (needs Go and /usr/bin/python3 with
# scikit-learn: apt-get install -y python3-sklearn dataset-fashion-mnist):
#   bash bench/pipeline.sh
#   TRAIN_N=60000 TEST_N=10000 HIDDEN=256 EPOCHS=10 bash bench/pipeline.sh
# Files go to $OUT (or a temporary folder, printed).
set -euo pipefail

train_n=${TRAIN_N:-10000}
test_n=${TEST_N:-2000}
hidden=${HIDDEN:-256}
epochs=${EPOCHS:-10}
batch=${BATCH:-10}
lr=${LR:-0.06}
device=${DEVICE:-cpu}
py=${PYTHON:-/usr/bin/python3}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"

if ! "$py" -c 'import sklearn' 2>/dev/null; then
  echo "pipeline: $py has no scikit-learn (apt-get install -y python3-sklearn)" >&2
  exit 1
fi
echo "pipeline: files in $out"
go build -o "$out/rbmgpu" ./cmd/rbmgpu
"$py" bench/peers/pipeline.py prepare --dir "$out" --train-n "$train_n" --test-n "$test_n"

start=$(date +%s.%N)
"$out/rbmgpu" train --data "$out/train.npy" --pcd 1 --hidden "$hidden" --epochs "$epochs" --batch "$batch" \
  --lr "$lr" --momentum 0 --val 0 --eval-every "$epochs" --seed 1 --device "$device" --quiet --out "$out/ours"
for split in train test; do
  "$out/rbmgpu" transform --model "$out/ours" --data "$out/$split.npy" --out "$out/ours_$split.npy" --device "$device"
done
end=$(date +%s.%N)
echo "ours: train + transform $(echo "$end - $start" | bc) s"

"$py" bench/peers/pipeline.py compare --dir "$out" --hidden "$hidden" --epochs "$epochs" --batch "$batch" --lr "$lr"
