#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build OnnxCoEvo's native parts:
#   - nvcc 11.8 + cuBLAS from Debian's non-free nvidia-cuda-toolkit (compiles only; no GPU needed),
#   - clang-14 as nvcc's host compiler (gcc 12 is too new for nvcc 11.8),
#   - npm (the ONNX Runtime CPU library is taken from the onnxruntime-node npm package).
# Idempotent: skips what is already there. Needs root (apt-get).
set -euo pipefail

need_apt=()
command -v nvcc >/dev/null 2>&1 || need_apt+=(nvidia-cuda-toolkit)
command -v clang-14 >/dev/null 2>&1 || need_apt+=(clang-14)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
command -v cmake >/dev/null 2>&1 || need_apt+=(cmake)

if [ ${#need_apt[@]} -eq 0 ]; then
  echo "native deps: nvcc, clang-14, npm and cmake already present"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

if printf '%s\n' "${need_apt[@]}" | grep -qx nvidia-cuda-toolkit; then
  # nvidia-cuda-toolkit lives in Debian's non-free component; add it (and contrib) to every deb822 source.
  for f in /etc/apt/sources.list.d/debian.sources; do
    [ -f "$f" ] || continue
    if ! grep -q 'non-free' "$f"; then
      $SUDO sed -i -E 's/^Components: main$/Components: main contrib non-free non-free-firmware/' "$f"
    fi
  done
  if [ -f /etc/apt/sources.list ] && grep -qE '^deb .*debian' /etc/apt/sources.list && ! grep -q non-free /etc/apt/sources.list; then
    $SUDO sed -i -E '/^deb .*debian/ s/ main$/ main contrib non-free non-free-firmware/' /etc/apt/sources.list
  fi
fi

echo "native deps: installing ${need_apt[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
echo "native deps: done"
