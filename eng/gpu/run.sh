#!/usr/bin/env bash
# On the GPU machine (no dotnet, no network; nvcc, cmake, python3 with PyTorch), from the repository root:
#   bash eng/gpu/run.sh [all|parity|bench|native] [--quick]
# 1. builds native/ for sm_90 with cmake + nvcc into /tmp/coevo-native and runs its CTest (the C test of the ABI),
# 2. parity: every kernel against its CPU twin through the published CLI (.gpu-bundle/cli/coevo bench kernels --check),
# 3. bench: PyTorch peers (bench/torch/kernels.py), then our kernels with the peers joined (coevo bench kernels --torch).
# Results go to $OUT (the device tool's folder; ./gpu-out elsewhere), at most 8 files:
#   machine.txt build.log parity.log parity.json torch-kernels.json bench.log kernels.json
# Exit status: non-zero when the build, a parity check or a step fails (later steps still run; see the logs).
set -uo pipefail
mode="${1:-all}"
quick=""
[ "${2:-}" = "--quick" ] && quick="--quick"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${OUT:-$root/gpu-out}"
mkdir -p "$out"
cd "$root"
status=0
say() { echo "== gpu: $*"; }

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(cat .gpu-bundle/commit 2>/dev/null || echo unknown)"
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,clocks.max.mem --format=csv 2>&1
  nvcc --version 2>&1 | tail -2
  cmake --version 2>&1 | head -1
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)' 2>&1
} >"$out/machine.txt"
cat "$out/machine.txt"

build=/tmp/coevo-native
configure() {
  cmake -S native -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCOEVO_CUDA_ARCHITECTURES=90 -DCOEVO_OUTPUT_DIR="$build" "$@" >>"$out/build.log" 2>&1
}
say "native/ for sm_90 -> $build"
: >"$out/build.log"
if ! configure; then
  # A toolkit without cuBLAS: look for the library and header elsewhere (e.g. Python's nvidia-cublas wheel).
  lib=$(find / -xdev -name 'libcublas.so.*' -not -path '*/stubs/*' 2>/dev/null | head -1)
  inc=$(find / -xdev -name cublas_v2.h 2>/dev/null | head -1)
  say "configure failed; retrying with cuBLAS from ${lib:-nowhere} and ${inc:-nowhere}"
  rm -rf "$build"
  [ -n "$lib" ] && [ -n "$inc" ] && configure -DCOEVO_CUBLAS_LIBRARY_DIR="$(dirname "$lib")" -DCOEVO_CUBLAS_INCLUDE_DIR="$(dirname "$inc")"
fi
if [ -f "$build/CMakeCache.txt" ] && cmake --build "$build" --parallel "$(nproc)" >>"$out/build.log" 2>&1 && [ -f "$build/lib/libcoevo_cuda.so" ]; then
  (cd "$build" && ctest --output-on-failure >>"$out/build.log" 2>&1) || { say "ctest failed (see build.log)"; status=1; }
else
  say "native build failed:"; tail -40 "$out/build.log"; exit 1
fi
tail -5 "$out/build.log"
export COEVO_CUDA_LIB="$build/lib/libcoevo_cuda.so"
[ "$mode" = "native" ] && exit "$status"

coevo="$root/.gpu-bundle/cli/coevo"
if [ ! -x "$coevo" ]; then
  say "no published CLI at $coevo: run 'bash eng/gpu/bundle.sh' here first and carry .gpu-bundle"; exit 1
fi
export DOTNET_BUNDLE_EXTRACT_BASE_DIR=/tmp/coevo-extract

if [ "$mode" = "all" ] || [ "$mode" = "parity" ]; then
  say "parity: coevo bench kernels --check $quick"
  "$coevo" bench kernels --check $quick --json "$out/parity.json" >"$out/parity.log" 2>&1 || status=1
  tail -60 "$out/parity.log"
fi

if [ "$mode" = "all" ] || [ "$mode" = "bench" ]; then
  say "PyTorch peers: bench/torch/kernels.py $quick"
  PYTHONUNBUFFERED=1 python3 bench/torch/kernels.py --out "$out/torch-kernels.json" $quick >"$out/bench.log" 2>&1 || status=1
  torch_arg=()
  [ -f "$out/torch-kernels.json" ] && torch_arg=(--torch "$out/torch-kernels.json")
  say "ours: coevo bench kernels $quick ${torch_arg[*]}"
  "$coevo" bench kernels $quick "${torch_arg[@]}" --json "$out/kernels.json" >>"$out/bench.log" 2>&1 || status=1
  tail -45 "$out/bench.log"
fi
exit "$status"
