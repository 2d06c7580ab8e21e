#!/usr/bin/env bash
# Configures and builds native/ (libcoevo_cuda) into artifacts/native/ (Release, incremental):
#   artifacts/native/lib/libcoevo_cuda.so    the library the C# CUDA backend loads
#   artifacts/native/bin/coevo_native_tests  the native test (run it, or ctest, on a machine with a GPU)
#   artifacts/native/build/                  the CMake build tree; build.log holds the last configure/build output
# Environment:
#   COEVO_CUDA_ARCHITECTURES  CUDA architectures, CMake syntax (default "80;90"); a change reconfigures
#   COEVO_NATIVE_OUT          output folder instead of artifacts/native
# Exit status: 0 when built or up to date, and also when there is no CUDA compiler (the library is then simply
# absent and the C# side reports the CUDA backend unavailable); non-zero on a real configure or compile failure.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${COEVO_NATIVE_OUT:-$repo/artifacts/native}"
archs="${COEVO_CUDA_ARCHITECTURES:-80;90}"
build="$out/build"
log="$out/build.log"
lib="$out/lib/libcoevo_cuda.so"

say() { echo "build-native: $*"; }

mkdir -p "$out"
# Two builds started at once (parallel MSBuild nodes, two terminals) take turns.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$out/.lock"
  flock 9
fi

nvcc_path=""
if [ -n "${CUDACXX:-}" ] && [ -x "${CUDACXX}" ]; then
  nvcc_path="$CUDACXX"
elif command -v nvcc >/dev/null 2>&1; then
  nvcc_path="$(command -v nvcc)"
elif [ -x /usr/local/cuda/bin/nvcc ]; then
  nvcc_path=/usr/local/cuda/bin/nvcc
fi
if [ -z "$nvcc_path" ]; then
  say "nvcc not found: libcoevo_cuda will not be built; the CUDA backend will report unavailable"
  exit 0
fi
if ! command -v cmake >/dev/null 2>&1; then
  say "cmake not found: libcoevo_cuda will not be built; the CUDA backend will report unavailable"
  exit 0
fi

cached() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt" 2>/dev/null || true; }
if [ -f "$build/CMakeCache.txt" ] && [ "$(cached CMAKE_CUDA_COMPILER)" != "$nvcc_path" ]; then
  # A tree configured with another (or no) CUDA compiler keeps that choice in its cache: start it afresh.
  say "CUDA compiler changed to $nvcc_path: reconfiguring from scratch"
  rm -rf "$build"
fi

generator=()
if [ ! -f "$build/CMakeCache.txt" ] && command -v ninja >/dev/null 2>&1; then
  generator=(-G Ninja)
fi

: >"$log"
run_logged() {
  if ! "$@" >>"$log" 2>&1; then
    echo "build-native: FAILED: $*" >&2
    tail -n 60 "$log" >&2
    echo "build-native: full log: $log" >&2
    exit 1
  fi
}

if [ ! -f "$build/CMakeCache.txt" ] || [ "$(cached COEVO_CUDA_ARCHITECTURES)" != "$archs" ]; then
  say "configuring native/ with $nvcc_path, archs $archs -> $build"
  # CUDACXX (not -DCMAKE_CUDA_COMPILER) so that CMake still probes the compiler and, if it cannot use it,
  # configures without CUDA instead of failing.
  run_logged env CUDACXX="$nvcc_path" cmake -S "$repo/native" -B "$build" "${generator[@]}" \
    -DCMAKE_BUILD_TYPE=Release \
    "-DCOEVO_CUDA_ARCHITECTURES=$archs" \
    -DCOEVO_OUTPUT_DIR="$out"
fi

jobs="$(nproc 2>/dev/null || echo 2)"
run_logged cmake --build "$build" --parallel "$jobs"

if [ ! -f "$lib" ]; then
  say "CMake found no working CUDA compiler ($nvcc_path; see $build/CMakeFiles/CMakeError.log):" \
    "libcoevo_cuda will not be built; the CUDA backend will report unavailable"
  exit 0
fi
if grep -qE '(Building|Linking)' "$log"; then
  say "built $lib (archs $archs)"
else
  say "up to date: $lib (archs $archs)"
fi
