#!/usr/bin/env bash
# Reproduces the bundled SynthCity models in checkpoints/synthcity/ and their model cards
# (checkpoints/README.md): train fcn from scratch, then aspp, aspp_ldv1, aspp_ldv2 and cgnl_ldv1 with the
# backbone initialised from the trained fcn (the same way for all four, so GA vs GALD stays a fair
# comparison), copy them into checkpoints/, evaluate each on 50 SynthCity val images at 1024x2048 and
# render the cards. Probe heads train jointly with each model (the model feeds them detached features).
#
# The bundled files were made on a shared 2-core CPU, one thread per run (THREADS=1), the four GA/GALD runs
# side by side (PARALLEL=4). On a GPU, PARALLEL=1 is better; results then differ in the last bits.
#
# Usage: bash scripts/train_bundled.sh [RUNS_DIR]     (default runs/bundled; results in results/)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-runs/bundled}
THREADS=${THREADS:-1}
PARALLEL=${PARALLEL:-4}
FCN_ITERS=200
GA_ITERS=150
mkdir -p "$RUNS"

common=(--data synthcity --batch 8 --crop 256 512 --scale 0.75 1.5 --lr 0.02 --wd 1e-4 --seed 0 --pool 200
  --option backbone=small --option head_channels=128 --option probes=true --option aux=true
  --option input_scale=0.5 --no-progress)

python -m gald_viz.train --arch fcn --out "$RUNS/fcn.safetensors" --iters "$FCN_ITERS" "${common[@]}" \
  --save-every 50 --threads "$THREADS"

pids=()
for arch in aspp aspp_ldv1 aspp_ldv2 cgnl_ldv1; do
  python -m gald_viz.train --arch "$arch" --out "$RUNS/$arch.safetensors" --iters "$GA_ITERS" "${common[@]}" \
    --save-every 25 --init "$RUNS/fcn.safetensors" --init-only backbone. --ohem --threads "$THREADS" &
  pids+=($!)
  if [ "${#pids[@]}" -ge "$PARALLEL" ]; then
    for pid in "${pids[@]}"; do wait "$pid"; done
    pids=()
  fi
done
for pid in "${pids[@]}"; do wait "$pid"; done

mkdir -p checkpoints/synthcity
for name in fcn aspp aspp_ldv1 aspp_ldv2 cgnl_ldv1; do
  cp "$RUNS/$name.safetensors" "checkpoints/synthcity/$name.safetensors"
  python -m gald_viz.evaluate model --model "synthcity/$name" --data synthcity:val --limit 50 --device cpu
done
python -m gald_viz.model_cards
