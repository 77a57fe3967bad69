#!/usr/bin/env bash
# Reproduces the bundled SynthCity models in gald_viz/bundled/synthcity/, their evidence and their cards
# (gald_viz/bundled/README.md). Recipe v2 (issue 14): full resolution, every branch trained.
#
#   fcn      from scratch at input_scale 1.0 (feature cells of 8 native px, the paper's output stride 8 at
#            full resolution): 4000 iterations, batch 8, 256x512 crops, lr 0.02, OHEM, a pool of 500 scenes.
#   ga/gald  aspp, aspp_ldv1, aspp_ldv2, cgnl_ldv1 start from that fcn's backbone, auxiliary and backbone
#            probe (--init-only) and train *everything* jointly: 2000 iterations, batch 4 of 384x768 crops
#            (the fcn's pixels per batch in 2.25x larger windows: context for the GA head, whose image
#            pooling sees the whole 1024x2048 image at inference; the paper crops 832x832), lr 0.01, the
#            backbone at 0.5x and the local distribution at 25x (--lr-mult), so the LD branches (the LDv1
#            mask's W_d, LDv2's theta/phi/g), whose relative gradient is ~34x smaller than the GA head's,
#            learn too (at 5x the LDv1 mask had moved 4 % from its initialisation after 1000 iterations
#            and its channel mean spanned 0.03 over an image: training/v2/aspp_ldv1.ld5.log).
#            The four see the same crops in the same order (seed 11) and differ in their context head.
#   probes   each model's probe heads alone (--probes: the network frozen; crops as ga) until their
#            validation mIoU on 10 unseen SynthCity val scenes (seed 9100) stops rising (validated every
#            50, patience 3).
#   evidence the mechanism reports of gald_viz.model_evidence on 100 unseen scenes (seed 4242); their runs
#            also hold each model's scores on those scenes (per-class IoU, the floors), which the cards
#            read; then the cards and the app's default pair.
# Every run writes OUT.log and, every --save-every iterations, a resume sidecar: an interrupted stage
# continues with RESUME=1 (the same command plus --resume OUT.resume.safetensors), which also skips runs
# whose OUT is written (a run writes OUT only when it finishes).
# scripts/branch_learning.py CHECKPOINT prints how far each branch moved and its gradient share.
#
# Usage: bash scripts/train_bundled.sh [RUNS_DIR]            (default runs/v2)
#        STAGES="copy evidence cards" RANKS=2 bash scripts/train_bundled.sh   (the evidence on 2 processes)
#        STAGES="ga probes" MODELS="aspp_ldv1" bash scripts/train_bundled.sh
# MODELS picks the models of every stage: copy copies those, evidence runs the pairs of two picked models
# (STAGES="copy evidence" MODELS="fcn aspp aspp_ldv1" while the others still train).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-runs/v2}
STAGES=${STAGES:-fcn ga probes copy evidence cards}
THREADS=${THREADS:-1}
ALL=(fcn aspp aspp_ldv1 aspp_ldv2 cgnl_ldv1)
read -r -a MODELS <<<"${MODELS:-${ALL[*]}}"
mkdir -p "$RUNS"

options=(--option backbone=small --option head_channels=128 --option probes=true --option aux=true
  --option input_scale=1.0 --no-progress)
common=(--data synthcity --scale 0.75 1.5 --wd 1e-4 --threads "$THREADS" "${options[@]}")

wants() { [[ " $STAGES " == *" $1 "* ]]; }
picked() { [[ " ${MODELS[*]} " == *" $1 "* ]]; }
train() {  # train OUT ARGS...: with RESUME=1, skips a finished OUT and resumes from OUT's sidecar
  local out=$1 sidecar=${1%.safetensors}.resume.safetensors
  shift
  if [[ ${RESUME:-0} == 1 && -f $out ]]; then echo "finished already: $out (RESUME=1 skips it)"; return; fi
  if [[ ${RESUME:-0} == 1 && -f $sidecar ]]; then set -- "$@" --resume "$sidecar"; fi
  python -m gald_viz.train --out "$out" "$@"
}

if wants fcn && picked fcn; then
  train "$RUNS/fcn.safetensors" --arch fcn --iters 4000 --batch 8 --crop 256 512 --lr 0.02 --seed 10 \
    --pool 500 --ohem --save-every 100 --log-every 25 "${common[@]}"
fi
if wants ga; then
  for arch in "${MODELS[@]}"; do
    [[ $arch == fcn ]] && continue
    ld=()  # the local distribution at 25x, where there is one
    [[ $arch == *_ld* ]] && ld=(--lr-mult ld.=25)
    train "$RUNS/$arch.safetensors" --arch "$arch" --iters 2000 --batch 4 --crop 384 768 --lr 0.01 \
      --seed 11 --pool 500 --ohem --lr-mult backbone.=0.5 "${ld[@]}" --val-every 250 --val-images 10 \
      --save-every 100 --log-every 25 "${common[@]}" --init "$RUNS/fcn.safetensors" \
      --init-only backbone. --init-only aux. --init-only probe_backbone.
  done
fi
if wants probes; then
  for arch in "${MODELS[@]}"; do
    train "$RUNS/probes/$arch.safetensors" --arch "$arch" --probes --init "$RUNS/$arch.safetensors" \
      --iters 1000 --batch 4 --lr 0.02 --seed 12 --pool 500 --val-every 50 --val-images 10 --patience 3 \
      --save-every 50 --log-every 25 --data synthcity --crop 384 768 --scale 0.75 1.5 --wd 1e-4 \
      --threads "$THREADS" --no-progress
  done
fi
if wants copy; then
  mkdir -p gald_viz/bundled/synthcity
  for name in "${MODELS[@]}"; do
    cp "$RUNS/probes/$name.safetensors" "gald_viz/bundled/synthcity/$name.safetensors"
  done
fi
if wants evidence; then
  # RANKS=N splits every job's images over N torchrun processes of one thread each (2 on 2 cores).
  launch="python -m"
  if (( ${RANKS:-1} > 1 )); then launch="env OMP_NUM_THREADS=1 torchrun --nproc-per-node $RANKS -m"; fi
  python - "${MODELS[@]}" <<'PY' | while read -r line; do eval "$launch ${line#python -m } --device cpu"; done
import sys
from gald_viz.model_evidence import commands_for
for line in commands_for(sys.argv[1:]):
    print(line)
PY
fi  # the cards read each model's scores from its mechanism run (the same prediction as a plain run)
if wants cards; then
  python -m gald_viz.model_cards
fi
