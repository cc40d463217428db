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
CONFIG=$(python -c "import faceattr, pathlib; print(pathlib.Path(faceattr.__file__).parent / 'configs/fast.toml')")
for seed in 0 1; do
  for head in fc bilstm; do
    for loss in mean patent; do
      out=$RUNS/$head-$loss-s$seed
      [ -f "$out/model.safetensors" ] && continue
      limit=""
      if [ -n "$UNTIL" ]; then
        end=$(date -d "$UNTIL" +%s) || { echo "UNTIL $UNTIL: not a time date -d reads"; exit 2; }
        left=$(( (end - $(date +%s)) / 60 ))
        [ "$left" -lt 3 ] && { echo "out of time before $out"; exit 0; }
        limit="--time-limit $left"
      fi
      if [ -f "$out/last.ckpt" ]; then
        faceattr train --out "$out" --resume --quiet $limit || exit 1
      else
        faceattr train --config "$CONFIG" --out "$out" --quiet --set model.head="\"$head\"" \
          --set loss.kind="\"$loss\"" --set train.seed=$seed --set train.epochs="$EPOCHS" $limit || exit 1
      fi
      [ -f "$out/model.safetensors" ] || { echo "$out stopped at the time limit"; exit 0; }
    done
  done
done
set +f  # the pattern below is one
python "$HERE/../benchmarks/ablation.py" "$RUNS"/*/model.safetensors
