#!/usr/bin/env bash
# Issue "Four times the training data": the head x loss ablation on all the train caches at the
# fast model's size, two seeds each (8 runs of configs/fast.toml, selected on the official val
# split). Resumable: run it again and every run continues where it stopped (--resume); finished
# runs are skipped. About 80 minutes per run on this 2-core machine; prints the table at the end.
#   bash tools/ablation_full.sh [SEEDS...]
set -u
SEEDS=${*:-0 1}
for seed in $SEEDS; do
  for head in fc bilstm; do
    for loss in mean patent; do
      out=runs/ablation/$head-$loss-s$seed
      [ -f $out/model.safetensors ] && continue
      resume=""; [ -f $out/last.ckpt ] && resume="--resume"
      if [ -n "$resume" ]; then
        faceattr train --out $out --resume --quiet || exit 1
      else
        faceattr train --config src/faceattr/configs/fast.toml --out $out --quiet \
          --set model.head=$head --set loss.kind=$loss --set train.seed=$seed || exit 1
      fi
    done
  done
done
python benchmarks/ablation.py runs/ablation/*/model.safetensors
