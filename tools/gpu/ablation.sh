#!/usr/bin/env bash
# Ablations + a larger model on a lent GPU (see README). Needs gpu/train.npz from
# `python tools/pack_caches.py pack cache/celeba-aligned cache/celebahq --out gpu/train.npz`.
# Usage: bash tools/gpu/ablation.sh EPOCHS_ABLATION EPOCHS_LARGE MINUTES
set -u
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}; mkdir -p $OUT
EA=${1:-20}; ED=${2:-40}; MIN=${3:-6}
PY=${PY:-python3}
$PY tools/pack_caches.py unpack gpu/train.npz --out /tmp/cache || exit 1
nvidia-smi --query-gpu=name,memory.used --format=csv 2>/dev/null
C="--train /tmp/cache/celeba-aligned /tmp/cache/celebahq --quiet"
A="--set train.batch_size=128 --set train.lr=3e-3 --set train.threads=2 --set train.amp=false --set train.max_minutes=$MIN ${EXTRA:-}"
run() { name=$1; shift; $PY -m faceattr train $C $A --out /tmp/runs/$name "$@" > /tmp/runs-$name.log 2>&1; echo "$name rc=$?"; }
mkdir -p /tmp/runs
run fc-mean --set train.epochs=$EA --set model.head=fc --set loss.kind=mean &
run fc-patent --set train.epochs=$EA --set model.head=fc --set loss.kind=patent &
run bilstm-mean --set train.epochs=$EA --set loss.kind=mean &
run bilstm-patent --set train.epochs=$EA --set loss.kind=patent &
run bilstm-patent-ema --set train.epochs=$EA --set loss.kind=patent --set loss.ema=0.9 &
run bilstm-linear-patent --set train.epochs=$EA --set model.sequence=linear --set loss.kind=patent &
run default --set train.epochs=$ED --set 'model.widths=[48,96,192,384]' --set 'model.depths=[1,2,2,1]' --set model.task_dim=96 --set model.lstm_hidden=96 --set train.max_minutes=$((MIN+1)) &
wait
for r in /tmp/runs/*/; do n=$(basename $r); cp $r/model.safetensors $OUT/$n.safetensors 2>/dev/null; cp $r/log.csv /tmp/runs-$n.csv 2>/dev/null; done
(cd /tmp && tar czf $OUT/logs.tgz runs-*.log runs-*.csv)
tail -n 3 /tmp/runs-*.log
ls -la $OUT
