#!/usr/bin/env bash
# Installs what gald-viz needs. `--tests` also installs Debian's chromium for the real-browser tests.
# torch: an already installed torch is kept (so a CUDA build you chose stays). Otherwise torch 2.13.0 is
# installed; set GALD_VIZ_TORCH to another pip requirement (for example "torch==2.13.0+cu128 --index-url ...")
# to choose a build.
set -euo pipefail
cd "$(dirname "$0")/.."

pip_install() { python -m pip install --disable-pip-version-check -q "$@"; }

if ! python -c "import torch" 2>/dev/null; then
  # shellcheck disable=SC2086
  pip_install ${GALD_VIZ_TORCH:-torch==2.13.0}
fi
pip_install -r requirements.txt

if [ "${1:-}" = "--tests" ] && [ ! -x /usr/bin/chromium ]; then
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -q
  $sudo_cmd apt-get install -y -q chromium fonts-dejavu-core
fi
