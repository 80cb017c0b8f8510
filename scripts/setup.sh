#!/usr/bin/env bash
# The README's first command: install, build, and embed a handful of real sentences with the
# real all-MiniLM-L6-v2 model (on the CPU when there is no GPU).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)" --target lowbit_cli
lowbit=build/release/tools/lowbit
model=$(scripts/model_dir.sh)
echo
$lowbit info --model "$model"
echo
$lowbit embed --model "$model" --similarity \
  "A man is playing a guitar." \
  "Someone is strumming a guitar on stage." \
  "A woman is slicing an onion in the kitchen." \
  "The chef chops vegetables for the soup." \
  "Stock markets fell sharply after the announcement." \
  "Shares tumbled when the news broke."
