#!/usr/bin/env bash
# Issue "Age and expression": FER+-only expression specialists for the accurate ensemble (the
# joint members stop near 78% on FER+ val, docs/training.md, "Resolution"). All with
# model.stem_stride=1 (the first stage at 64 px) and bfloat16 on the CPU, one after another:
#   x1   fast-size, from scratch, 30 epochs, lr 3e-3 (the s1 probe ran 10 and was still rising)
#   x2   j6 (runs/j6-s1) fine-tuned on FER+ alone, 12 epochs, lr 1e-3
#   x3   as x1, another seed, 24 epochs
# Resumable: run it again with the same RUNS to continue; UNTIL (a time) stops the run in
# training with a checkpoint before it. Prints val expression accuracy by epoch at the end.
#   cd ~/faceattr   # where cache/ and runs/ lie
#   nohup nice -n 10 bash /path/to/tools/expression_specialists.sh runs/xs "tomorrow 00:55" > xs.log 2>&1 &
set -uf
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/_train_step.sh"
RUNS=${1:-runs/xs}
UNTIL=${2:-}
CONFIG=$(python -c "import faceattr, pathlib; print(pathlib.Path(faceattr.__file__).parent / 'configs/fast.toml')")
FER=(--config "$CONFIG" --set 'data.train=["cache/fer-train"]' --set 'data.val=["cache/fer-val"]'
     --set model.stem_stride=1 --set train.cpu_bf16=true --set train.ema_decay=0.999)
[ -f runs/j6-s1/model.safetensors ] || { echo "runs/j6-s1/model.safetensors not found (tools/joint_member.sh)"; exit 1; }
train_step "$RUNS/x1" "$UNTIL" "${FER[@]}" --set train.epochs=30 --set train.lr=3e-3 --set train.seed=11
train_step "$RUNS/x2" "$UNTIL" "${FER[@]}" --set train.epochs=12 --set train.lr=1e-3 --set train.seed=12 \
  --set train.warmup_steps=200 --set 'train.init="runs/j6-s1/model.safetensors"'
train_step "$RUNS/x3" "$UNTIL" "${FER[@]}" --set train.epochs=24 --set train.lr=3e-3 --set train.seed=13
for name in x1 x2 x3; do
  printf '%s ' "$name"
  python -c "import csv, sys; print(' / '.join(f\"{float(r['val_expression_accuracy']):.2%}\" for r in csv.DictReader(open(sys.argv[1]))), f\"({sum(float(r['seconds']) for r in csv.DictReader(open(sys.argv[1]))):.0f} s)\")" "$RUNS/$name/log.csv"
done
