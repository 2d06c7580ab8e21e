#!/usr/bin/env bash
# Here (a machine with dotnet): publish the coevo CLI self-contained and single-file for linux-x64 into .gpu-bundle/
# (git-ignored), the folder a device run carries. The native sources travel with the working tree; the GPU machine
# builds them itself (eng/gpu/run.sh), so no library goes into the bundle.
#   bash eng/gpu/bundle.sh
# Output: .gpu-bundle/cli/coevo, .gpu-bundle/commit (the commit it was built from).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bundle="$root/.gpu-bundle"
rm -rf "$bundle"
mkdir -p "$bundle"
# Without libcoevo_cuda (the GPU machine builds its own for sm_90) and without ONNX Runtime (the kernel commands do not
# load it): the carried folder stays about 30 MiB.
CoevoIncludeNative=false bash "$root/eng/publish-cli.sh" "$bundle/cli"
rm -f "$bundle/cli/libonnxruntime.so.1"
git -C "$root" rev-parse HEAD >"$bundle/commit"
git -C "$root" status --porcelain --untracked-files=no | grep -q . && echo "dirty" >>"$bundle/commit" || true
size=$(du -sb "$bundle" | cut -f1)
echo "bundle: $bundle ($((size / 1048576)) MiB; the working tree plus carried folders must stay under 64 MiB)"
