#!/usr/bin/env bash
# Issue "Age and expression": a joint member (CelebA + UTKFace + FER+) for the accurate
# ensemble, stronger on expression than the fast-size joint networks (which stop near 77% on
# FER+ val: docs/training.md, "Capacity"). Every recipe fine-tunes trained weights jointly on
# every CelebA train cache, UTKFace twice and FER+ three times per epoch (238,000 faces), in
# bfloat16 on the CPU (train.cpu_bf16). RECIPE:
#   big  the first bundled model (widths 48-96-192-384, depths 1-2-2-1, 3.7 M parameters,
#        CelebA only; from git history), 8 epochs of about 30 minutes (j5)
#   s1   j3 (fast-size, joint) with model.stem_stride=1: the first stage at 64 px, where a
#        FER+ face fills only 41 px (docs/training.md, "Resolution"); 6 epochs (j6)
# Resumable: run it again with the same RUN and it continues (--resume); UNTIL (a time, `date
# -d` format) stops it cleanly with a checkpoint before then.
#   cd ~/faceattr   # where cache/ and runs/ lie (docs/data.md, "prepare")
#   nohup nice -n 10 bash /path/to/tools/joint_member.sh runs/j6-s1 "21:05" s1 > j6.log 2>&1 &
set -uf  # -f: the [..] of list settings are not file patterns
RUN=${1:-runs/j5-big}
UNTIL=${2:-}
RECIPE=${3:-big}
HERE=$(cd "$(dirname "$0")" && pwd)
limit=""
if [ -n "$UNTIL" ]; then
  end=$(date -d "$UNTIL" +%s) || { echo "UNTIL $UNTIL: not a time date -d reads"; exit 2; }
  limit="--time-limit $(( (end - $(date +%s)) / 60 ))"
fi
if [ -f "$RUN/last.ckpt" ]; then
  # shellcheck disable=SC2086
  exec faceattr train --out "$RUN" --resume --quiet $limit
fi
case $RECIPE in
  big)
    INIT=runs/first-bundled.safetensors
    [ -f "$INIT" ] || git -C "$HERE/.." show 7b57e44:src/faceattr/weights/default.safetensors > "$INIT" \
      || { echo "cannot take the first bundled model from git history"; exit 1; }
    MODEL=(--set 'model.widths=[48,96,192,384]' --set 'model.depths=[1,2,2,1]' --set train.epochs=8
           --set train.seed=5)
    ;;
  s1)
    INIT=runs/j3-fast-expr/model.safetensors
    [ -f "$INIT" ] || { echo "$INIT not found (tools/ablation and docs/training.md: j3)"; exit 1; }
    CONFIG=$(python -c "import faceattr, pathlib; print(pathlib.Path(faceattr.__file__).parent / 'configs/fast.toml')")
    MODEL=(--config "$CONFIG" --set model.stem_stride=1 --set train.epochs=6 --set train.seed=6)
    ;;
  *) echo "RECIPE $RECIPE: big or s1"; exit 2 ;;
esac
C='"cache/celeba-aligned","cache/celebahq","cache/crop108-train","cache/square160-train"'
# shellcheck disable=SC2086
exec faceattr train --out "$RUN" --quiet "${MODEL[@]}" \
  --set "data.train=[$C,\"cache/utk-train\",\"cache/utk-train\",\"cache/fer-train\",\"cache/fer-train\",\"cache/fer-train\"]" \
  --set 'data.val=["cache/crop108-val","cache/square160-val","cache/utk-val","cache/fer-val"]' \
  --set train.batch_size=128 --set train.lr=1e-3 --set train.warmup_steps=300 \
  --set train.weight_decay=0.05 --set train.ema_decay=0.999 \
  --set train.cpu_bf16=true --set augment.grey=0.2 --set "train.init=\"$INIT\"" $limit
