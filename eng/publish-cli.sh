#!/usr/bin/env bash
# Self-contained single-file publish of the coevo CLI for linux-x64 (for machines without dotnet, such as the
# GPU machine), with the ONNX Runtime library beside it. Output: artifacts/publish/linux-x64/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/artifacts/publish/linux-x64}"
bash "$root/eng/fetch-onnxruntime.sh"
dotnet publish "$root/src/Managed/OnnxCoEvo.Cli/OnnxCoEvo.Cli.csproj" -c Release -r linux-x64 --self-contained true \
  -p:PublishSingleFile=true -p:CoevoSkipNative=true -o "$out" -nologo -v quiet -clp:ErrorsOnly
cp -f "$root/.deps/onnxruntime/libonnxruntime.so.1" "$out/"
echo "published: $out ($(du -sh "$out" | cut -f1))"
