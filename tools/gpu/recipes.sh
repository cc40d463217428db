#!/usr/bin/env bash
# Recipe search for the default model (bilstm + attention + patent loss); chosen by validation
# mean accuracy. Needs gpu/train.npz (see ablation.sh). Usage: MIN=5.3 bash tools/gpu/recipes.sh
set -u
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}; mkdir -p $OUT /tmp/runs
PY=${PY:-python3}
$PY tools/pack_caches.py unpack gpu/train.npz --out /tmp/cache || exit 1
C="--train /tmp/cache/celeba-aligned /tmp/cache/celebahq --quiet"
A="--set train.batch_size=128 --set train.lr=3e-3 --set train.threads=2 --set train.amp=false --set train.max_minutes=${MIN:-5.5} ${EXTRA:-}"
S="--set augment.scale=0.15 --set augment.shift=0.1 --set augment.rotate=12"
W="--set model.widths=[48,96,192,384]"
run() { name=$1; shift; $PY -m faceattr train $C $A --out /tmp/runs/$name "$@" > /tmp/runs-$name.log 2>&1; echo "$name rc=$?"; }
run v1 --set train.epochs=30 --set train.weight_decay=0.05 $S --set train.ema_decay=0.999 &
run v2 --set train.epochs=30 --set train.weight_decay=0.05 $S &
run v3 --set train.epochs=25 $W --set train.weight_decay=0.05 $S --set train.ema_decay=0.999 &
run v4 --set train.epochs=25 $W --set model.depths=[1,2,2,1] --set model.task_dim=96 --set model.lstm_hidden=96 --set train.weight_decay=0.05 $S --set train.ema_decay=0.999 &
run v5 --set train.epochs=30 --set train.ema_decay=0.999 &
run v6 --set train.epochs=25 $W --set model.depths=[1,2,2,1] --set train.weight_decay=0.05 --set train.ema_decay=0.999 &
run v7 --set train.epochs=30 --set model.widths=[40,80,160,320] --set model.depths=[1,2,2,1] --set model.dropout=0.3 --set train.weight_decay=0.05 $S --set train.ema_decay=0.999 &
wait
for r in /tmp/runs/*/; do n=$(basename $r); cp $r/model.safetensors $OUT/$n.safetensors 2>/dev/null; cp $r/log.csv /tmp/runs-$n.csv 2>/dev/null; done
(cd /tmp && tar czf $OUT/logs.tgz runs-*.log runs-*.csv)
tail -n 1 /tmp/runs-*.log
