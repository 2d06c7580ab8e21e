#!/usr/bin/env bash
# Self-contained single-file publish of the coevo CLI for linux-x64 (for machines without dotnet, such as the
# GPU machine), with the ONNX Runtime library beside it. Output: artifacts/publish/linux-x64/.
# Invariant globalization: the target may lack ICU; the only effect is that NFC normalization (Qwen2 tokenizers)
# becomes a no-op there. Partial trimming trims only the framework (about 32 MB instead of 57 MB compressed); our
# assemblies and CommandLineParser stay whole because they bind options and JSON by reflection.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/artifacts/publish/linux-x64}"
bash "$root/eng/fetch-onnxruntime.sh"
dotnet publish "$root/src/Managed/OnnxCoEvo.Cli/OnnxCoEvo.Cli.csproj" -c Release -r linux-x64 --self-contained true \
  -p:PublishSingleFile=true -p:CoevoSkipNative=true -p:InvariantGlobalization=true -p:EnableCompressionInSingleFile=true -p:DebugType=none \
  -p:PublishTrimmed=true -p:TrimMode=partial -p:SuppressTrimAnalysisWarnings=true -p:JsonSerializerIsReflectionEnabledByDefault=true -o "$out" -nologo -v quiet -clp:ErrorsOnly
cp -f "$root/.deps/onnxruntime/libonnxruntime.so.1" "$out/"
echo "published: $out ($(du -sh "$out" | cut -f1))"
