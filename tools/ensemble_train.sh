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
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/_train_step.sh"
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
  # shellcheck disable=SC2086
  train_step "$RUNS/$name" "$UNTIL" --config "$CONFIG" $sets
done
echo "all members trained"
