#!/usr/bin/env bash
# Reproduces the bundled SynthCity models in checkpoints/synthcity/ and their model cards
# (checkpoints/README.md). Two stages, exactly as the bundled files were made:
#   stage 1: fcn from scratch (200 iterations, lr 0.02); then aspp, aspp_ldv1, aspp_ldv2 and cgnl_ldv1
#            (150 iterations, lr 0.02, OHEM) with the backbone initialised from the trained fcn, the same
#            way for all four so GA vs GALD stays a fair comparison;
#   stage 2: every model continues its own stage-1 weights for 100 more iterations (lr 0.01, seed 1, so a
#            fresh pool of 200 train scenes and fresh crops).
# Probe heads train jointly with each model (the model feeds them detached features). Then the files are
# copied into checkpoints/, evaluated on 50 SynthCity val images at 1024x2048 and the cards rendered.
#
# The bundled files were made on a shared 2-core CPU, one thread per run (THREADS=1), the runs of a stage
# side by side. On a GPU run them one after another (PARALLEL=1); results then differ in the last bits.
# aspp_ldv2 passes ldv2_key_channels=32 (head_channels // 4): the default when it was trained, since
# changed to head_channels // 8.
#
# Usage: bash scripts/train_bundled.sh [RUNS_DIR]     (default runs/bundled; results in results/)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-runs/bundled}
THREADS=${THREADS:-1}
PARALLEL=${PARALLEL:-5}
GA_MODELS=(aspp aspp_ldv1 aspp_ldv2 cgnl_ldv1)
mkdir -p "$RUNS/stage2"

options=(--option backbone=small --option head_channels=128 --option probes=true --option aux=true
  --option input_scale=0.5 --no-progress --threads "$THREADS")
common=(--data synthcity --batch 8 --crop 256 512 --scale 0.75 1.5 --wd 1e-4 --pool 200 "${options[@]}")

extra() {  # per-model flags: OHEM for the GA/GALD models, the LDv2 key width
  case "$1" in
    fcn) ;;
    aspp_ldv2) echo "--ohem --option ldv2_key_channels=32" ;;
    *) echo "--ohem" ;;
  esac
}

pids=()
run() {  # run a training command in the background, at most PARALLEL at a time
  "$@" &
  pids+=($!)
  if [ "${#pids[@]}" -ge "$PARALLEL" ]; then finish; fi
}
finish() {
  for pid in "${pids[@]}"; do wait "$pid"; done
  pids=()
}

# Stage 1
python -m gald_viz.train --arch fcn --out "$RUNS/fcn.safetensors" --iters 200 --lr 0.02 --seed 0 \
  --save-every 50 "${common[@]}"
for arch in "${GA_MODELS[@]}"; do
  # shellcheck disable=SC2046
  run python -m gald_viz.train --arch "$arch" --out "$RUNS/$arch.safetensors" --iters 150 --lr 0.02 --seed 0 \
    --save-every 25 "${common[@]}" --init "$RUNS/fcn.safetensors" --init-only backbone. $(extra "$arch")
done
finish

# Stage 2
for arch in fcn "${GA_MODELS[@]}"; do
  # shellcheck disable=SC2046
  run python -m gald_viz.train --arch "$arch" --out "$RUNS/stage2/$arch.safetensors" --iters 100 --lr 0.01 \
    --seed 1 --save-every 25 "${common[@]}" --init "$RUNS/$arch.safetensors" $(extra "$arch")
done
finish

mkdir -p checkpoints/synthcity
for name in fcn aspp aspp_ldv1 aspp_ldv2 cgnl_ldv1; do
  cp "$RUNS/stage2/$name.safetensors" "checkpoints/synthcity/$name.safetensors"
  python -m gald_viz.evaluate model --model "synthcity/$name" --data synthcity:val --limit 50 --device cpu
done
python -m gald_viz.model_cards
