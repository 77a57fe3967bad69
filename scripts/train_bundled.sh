#!/usr/bin/env bash
# Reproduces the bundled SynthCity models in gald_viz/bundled/synthcity/ and their model cards
# (gald_viz/bundled/README.md), exactly as the bundled files were made:
#   stages 1-4: fcn from scratch: 200 iterations (lr 0.02), then 100 (lr 0.01, seed 1), then 3000 at batch 4
#               (lr 0.02, OHEM, seed 2, a pool of 400 scenes), then 1000 more (lr 0.01, seed 4), each
#               continuing the one before;
#   stage 5:    aspp, aspp_ldv1, aspp_ldv2 and cgnl_ldv1 (400 iterations, lr 0.02, OHEM) on the *frozen*
#               backbone of that fcn, whose probe and auxiliary heads they copy and keep frozen too: only
#               the GA/LD head, the classifier and the GA probe train. The four differ in their context
#               head alone, so the GA-vs-GALD comparison is fair; and a head-only run is cheap on a CPU;
#   stage 6:    each of the four continues its stage-5 weights for 300 iterations (lr 0.01, seed 5), with the
#               same parts frozen.
# Probe heads read detached features, so they never change the main network.
# Then the files are copied into gald_viz/bundled/, evaluated on 50 SynthCity val images at 1024x2048 and the
# cards rendered.
#
# Stages 1-2 ran one thread per run on a shared 2-core CPU; stages 3-6 one run at a time with 2 threads.
# On a GPU the results differ in the last bits.
#
# Usage: bash scripts/train_bundled.sh [RUNS_DIR]   (default runs/bundled; results in results/)
#        STAGES="6 eval" bash scripts/train_bundled.sh  runs only the named steps (1 2 3 4 5 6 eval)
#        MODELS="aspp" STAGES=5 bash scripts/train_bundled.sh  stages 5-6 for some GA/GALD models only
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-runs/bundled}
STAGES=${STAGES:-1 2 3 4 5 6 eval}
GA_MODELS=(aspp aspp_ldv1 aspp_ldv2 cgnl_ldv1)
read -r -a TRAIN_MODELS <<<"${MODELS:-${GA_MODELS[*]}}"
mkdir -p "$RUNS"/stage{2,3,4,5,6}

options=(--option backbone=small --option head_channels=128 --option probes=true --option aux=true
  --option input_scale=0.5 --no-progress)
common=(--data synthcity --crop 256 512 --scale 0.75 1.5 --wd 1e-4 "${options[@]}")

wants() { [[ " $STAGES " == *" $1 "* ]]; }

if wants 1; then
  python -m gald_viz.train --arch fcn --out "$RUNS/fcn.safetensors" --iters 200 --batch 8 --lr 0.02 --seed 0 \
    --pool 200 --save-every 50 --threads 1 "${common[@]}"
fi
if wants 2; then
  python -m gald_viz.train --arch fcn --out "$RUNS/stage2/fcn.safetensors" --iters 100 --batch 8 --lr 0.01 \
    --seed 1 --pool 200 --save-every 25 --threads 1 "${common[@]}" --init "$RUNS/fcn.safetensors"
fi
if wants 3; then
  python -m gald_viz.train --arch fcn --out "$RUNS/stage3/fcn.safetensors" --iters 3000 --batch 4 --lr 0.02 \
    --seed 2 --pool 400 --ohem --save-every 250 --log-every 50 --threads 2 "${common[@]}" \
    --init "$RUNS/stage2/fcn.safetensors"
fi
if wants 4; then
  python -m gald_viz.train --arch fcn --out "$RUNS/stage4/fcn.safetensors" --iters 1000 --batch 4 --lr 0.01 \
    --seed 4 --pool 400 --ohem --save-every 250 --log-every 50 --threads 2 "${common[@]}" \
    --init "$RUNS/stage3/fcn.safetensors"
fi
shared=(backbone. probe_backbone. aux.)  # the fcn parts the GA/GALD models copy and keep frozen
if wants 5; then
  for arch in "${TRAIN_MODELS[@]}"; do
    flags=()
    for prefix in "${shared[@]}"; do flags+=(--init-only "$prefix" --freeze "$prefix"); done
    python -m gald_viz.train --arch "$arch" --out "$RUNS/stage5/$arch.safetensors" --iters 400 --batch 8 \
      --lr 0.02 --seed 3 --pool 400 --ohem --save-every 100 --log-every 50 --threads 2 "${common[@]}" \
      --init "$RUNS/stage4/fcn.safetensors" "${flags[@]}"
  done
fi
if wants 6; then
  for arch in "${TRAIN_MODELS[@]}"; do
    flags=()
    for prefix in "${shared[@]}"; do flags+=(--freeze "$prefix"); done
    python -m gald_viz.train --arch "$arch" --out "$RUNS/stage6/$arch.safetensors" --iters 300 --batch 8 \
      --lr 0.01 --seed 5 --pool 400 --ohem --save-every 100 --log-every 50 --threads 2 "${common[@]}" \
      --init "$RUNS/stage5/$arch.safetensors" "${flags[@]}"
  done
fi
if wants eval; then
  mkdir -p gald_viz/bundled/synthcity
  cp "$RUNS/stage4/fcn.safetensors" gald_viz/bundled/synthcity/fcn.safetensors
  for name in "${GA_MODELS[@]}"; do
    cp "$RUNS/stage6/$name.safetensors" "gald_viz/bundled/synthcity/$name.safetensors"
  done
  for name in fcn "${GA_MODELS[@]}"; do
    python -m gald_viz.evaluate model --model "synthcity/$name" --data synthcity:val --limit 50 --device cpu
  done
  python -m gald_viz.model_cards
fi
