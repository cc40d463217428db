#!/usr/bin/env bash
# Issue "Age and expression": what holds expression back on FER+, resolution or compute? A FER+
# face fills only the middle 41 px of the 64 px canonical square, and the stem halves that at
# once. Three from-scratch FER+-only runs of the fast-size network (configs/fast.toml), the same
# recipe (EPOCHS epochs, lr 3e-3, bfloat16 on the CPU), one seed:
#   s2   fast as bundled (stem stride 2)
#   s1   the same widths with model.stem_stride=1 (the first stage at 64 px: 4x the compute)
#   w2   stem stride 2, every width doubled (about the same 4x compute as s1)
# Resumable: run it again with the same RUNS to continue; UNTIL (a time) stops the run in
# training with a checkpoint before it. Prints val expression accuracy by epoch at the end.
#   cd ~/faceattr   # where cache/ lies
#   nohup nice -n 10 bash /path/to/tools/expression_probe.sh runs/probe-fer 10 "21:00" > probe.log 2>&1 &
set -uf
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/_train_step.sh"
RUNS=${1:-runs/probe-fer}
EPOCHS=${2:-10}
UNTIL=${3:-}
CONFIG=$(python -c "import faceattr, pathlib; print(pathlib.Path(faceattr.__file__).parent / 'configs/fast.toml')")
declare -A EXTRA=([s2]="" [s1]="--set model.stem_stride=1" [w2]="--set model.widths=[32,64,128,256,352]")
for name in s2 s1 w2; do
  # shellcheck disable=SC2086
  train_step "$RUNS/$name" "$UNTIL" --config "$CONFIG" --set 'data.train=["cache/fer-train"]' \
    --set 'data.val=["cache/fer-val"]' --set train.epochs="$EPOCHS" --set train.lr=3e-3 \
    --set train.cpu_bf16=true ${EXTRA[$name]}
done
for name in s2 s1 w2; do
  printf '%s ' "$name"
  python -c "import csv, sys; print(' / '.join(f\"{float(r['val_expression_accuracy']):.2%}\" for r in csv.DictReader(open(sys.argv[1]))), f\"({sum(float(r['seconds']) for r in csv.DictReader(open(sys.argv[1]))):.0f} s)\")" "$RUNS/$name/log.csv"
done
