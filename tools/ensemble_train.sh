#!/usr/bin/env bash
# Issue "Accuracy: an ensemble": train the ensemble members one after another, each on every
# train cache, selected on the official val split, all with greyscale augmentation. Resumable
# across sessions: run it again with the same RUNS folder and each member continues where it
# stopped (--resume); finished members are skipped. UNTIL (a time, `date -d` format: today
# unless it says otherwise, "tomorrow 01:30") stops the member in training cleanly with a
# checkpoint before it (train --time-limit).
#   cd ~/faceattr   # where cache/ lies (see README, "prepare")
#   nohup nice -n 10 bash /path/to/tools/ensemble_train.sh RUNS "03:55" > ensemble.log 2>&1 &
set -uf  # -f: the [..] of list settings are not file patterns
RUNS=${1:-runs/ensemble}
UNTIL=${2:-}
CONFIG=$(python -c "import faceattr, pathlib; print(pathlib.Path(faceattr.__file__).parent / 'configs/fast.toml')")
# name | settings (on top of configs/fast.toml)
MEMBERS=(
  "m1-fast-s1-grey|--set train.seed=1 --set augment.grey=0.2"
  "m2-wide-s2-grey|--set train.seed=2 --set augment.grey=0.2 --set model.widths=[24,48,96,160,256] --set model.task_dim=48 --set model.lstm_hidden=48"
  "m3-fast-s3-strong|--set train.seed=3 --set augment.grey=0.2 --set augment.border=0.5 --set augment.scale=0.12 --set augment.rotate=12"
  "m4-wider-s4|--set train.seed=4 --set augment.grey=0.2 --set model.widths=[32,64,128,224,320] --set model.task_dim=64 --set model.lstm_hidden=64"
)
for m in "${MEMBERS[@]}"; do
  name=${m%%|*}; sets=${m#*|}
  out=$RUNS/$name
  [ -f "$out/model.safetensors" ] && continue
  limit=""
  if [ -n "$UNTIL" ]; then
    end=$(date -d "$UNTIL" +%s) || { echo "UNTIL $UNTIL: not a time date -d reads"; exit 2; }
    left=$(( (end - $(date +%s)) / 60 ))
    [ "$left" -lt 3 ] && { echo "out of time before $name"; exit 0; }
    limit="--time-limit $left"
  fi
  if [ -f "$out/last.ckpt" ]; then
    faceattr train --out "$out" --resume --quiet $limit || exit 1
  else
    # shellcheck disable=SC2086
    faceattr train --config "$CONFIG" --out "$out" --quiet $sets $limit || exit 1
  fi
  [ -f "$out/model.safetensors" ] || { echo "$name stopped at the time limit"; exit 0; }
done
echo "all members trained"
