# Sourced by the run lists in tools/*.sh. train_step OUT UNTIL ARGS... trains one run to its end
# unless OUT has its model file already: it resumes a run that has a checkpoint, or starts
# `faceattr train --out OUT ARGS`. It stops the calling script (exit 0) when UNTIL (a time,
# `date -d` format; empty: no limit) is under 3 minutes away or has stopped the run with a
# checkpoint, and exits 1 when training fails.
train_step() {
  local out=$1 until=$2 end left
  shift 2
  [ -f "$out/model.safetensors" ] && return 0
  local limit=()
  if [ -n "$until" ]; then
    end=$(date -d "$until" +%s) || { echo "UNTIL $until: not a time date -d reads"; exit 2; }
    left=$(( (end - $(date +%s)) / 60 ))
    [ "$left" -lt 3 ] && { echo "out of time before $out"; exit 0; }
    limit=(--time-limit "$left")
  fi
  if [ -f "$out/last.ckpt" ]; then
    faceattr train --out "$out" --resume --quiet "${limit[@]}" || exit 1
  else
    faceattr train --out "$out" --quiet "$@" "${limit[@]}" || exit 1
  fi
  [ -f "$out/model.safetensors" ] || { echo "$out stopped at the time limit"; exit 0; }
}
