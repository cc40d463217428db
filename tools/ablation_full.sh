#!/usr/bin/env bash
# Issue "Accuracy": the head x loss ablation on all the train caches at the fast model's size,
# two seeds each (8 runs of configs/fast.toml, the same EPOCHS for all, selected on the official
# val split). Resumable across sessions like tools/ensemble_train.sh: run it again with the same
# RUNS and every run continues where it stopped (--resume); finished runs are skipped; UNTIL (a
# time, `date -d` format: today unless it says otherwise, "tomorrow 01:30") stops the run in
# training cleanly with a checkpoint before it.
# A resumed run keeps the epochs it started with: use a fresh RUNS folder for another EPOCHS.
# About 90 s per epoch per run on this 2-core machine; prints the table when all 8 are done.
#   cd ~/faceattr   # where cache/ lies
#   nohup nice -n 10 bash /path/to/tools/ablation_full.sh runs/ablation 5 "06:30" > ablation.log 2>&1 &
set -uf
RUNS=${1:-runs/ablation}
EPOCHS=${2:-5}
UNTIL=${3:-}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/_train_step.sh"
CONFIG=$(python -c "import faceattr, pathlib; print(pathlib.Path(faceattr.__file__).parent / 'configs/fast.toml')")
for seed in 0 1; do
  for head in fc bilstm; do
    for loss in mean patent; do
      train_step "$RUNS/$head-$loss-s$seed" "$UNTIL" --config "$CONFIG" \
        --set model.head="\"$head\"" --set loss.kind="\"$loss\"" --set train.seed=$seed \
        --set train.epochs="$EPOCHS"
    done
  done
done
set +f  # the pattern below is one
python "$HERE/../benchmarks/ablation.py" "$RUNS"/*/model.safetensors
