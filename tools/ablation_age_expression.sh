#!/usr/bin/env bash
# Issue "Age and expression": joint training against separate heads and separate models, and
# the patent loss against the mean. Every run fine-tunes the bundled attribute model (fast, as
# it was before age and expression: runs/fast-base.safetensors) for EPOCHS epochs with the same
# recipe (configs/fast.toml, lr 1e-3, grey 0.2), one seed:
#   joint-patent   CelebA + UTKFace + FER+, dynamic loss, age/expression read the BiLSTM scan
#   joint-mean     the same with the plain mean loss
#   joint-pooled   the same as joint-patent, the age/expression heads on the pooled CNN features
#                  alone (separate heads: not part of the scanned sequence)
#   celeba-age     CelebA + UTKFace only (a separate age model)
#   celeba-expr    CelebA + FER+ only (a separate expression model)
# Resumable like tools/ablation_full.sh: run it again with the same RUNS to continue; UNTIL (a
# time) stops the run in training with a checkpoint before it. Prints the table at the end.
#   cd ~/faceattr   # where cache/ and runs/fast-base.safetensors lie
#   nohup nice -n 10 bash /path/to/tools/ablation_age_expression.sh runs/ablation-ae 2 "13:00" > ae.log 2>&1 &
set -uf
RUNS=${1:-runs/ablation-ae}
EPOCHS=${2:-2}
UNTIL=${3:-}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/_train_step.sh"
CONFIG=$(python -c "import faceattr, pathlib; print(pathlib.Path(faceattr.__file__).parent / 'configs/fast.toml')")
C='"cache/celeba-aligned","cache/celebahq","cache/crop108-train","cache/square160-train"'
V='"cache/crop108-val","cache/square160-val"'
declare -A TRAIN=([joint-patent]="$C,\"cache/utk-train\",\"cache/fer-train\"" [joint-mean]="$C,\"cache/utk-train\",\"cache/fer-train\""
                  [joint-pooled]="$C,\"cache/utk-train\",\"cache/fer-train\"" [celeba-age]="$C,\"cache/utk-train\"" [celeba-expr]="$C,\"cache/fer-train\"")
declare -A VAL=([joint-patent]="$V,\"cache/utk-val\",\"cache/fer-val\"" [joint-mean]="$V,\"cache/utk-val\",\"cache/fer-val\""
                [joint-pooled]="$V,\"cache/utk-val\",\"cache/fer-val\"" [celeba-age]="$V,\"cache/utk-val\"" [celeba-expr]="$V,\"cache/fer-val\"")
declare -A EXTRA=([joint-patent]="" [joint-mean]="--set loss.kind=\"mean\"" [joint-pooled]="--set model.extra_input=\"pooled\""
                  [celeba-age]="" [celeba-expr]="")
for name in joint-patent joint-mean joint-pooled celeba-age celeba-expr; do
  # shellcheck disable=SC2086
  train_step "$RUNS/$name" "$UNTIL" --config "$CONFIG" --set "data.train=[${TRAIN[$name]}]" \
    --set "data.val=[${VAL[$name]}]" --set train.epochs="$EPOCHS" --set train.lr=1e-3 \
    --set train.warmup_steps=300 --set train.init='"runs/fast-base.safetensors"' \
    --set augment.grey=0.2 ${EXTRA[$name]}
done
set +f
python "$HERE/../benchmarks/age_expression.py" --model "$RUNS"/*/model.safetensors
