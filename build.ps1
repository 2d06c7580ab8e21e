<#
.SYNOPSIS
  Thin PowerShell wrapper over the same steps the eng/ scripts perform: fetch ONNX Runtime, build native/
  with CMake, build and test the .NET solution, publish the CLI.
.EXAMPLE
  ./build.ps1            # build everything (native when nvcc is found)
  ./build.ps1 test       # the README's test command
  ./build.ps1 publish    # self-contained single-file coevo for linux-x64 into artifacts/publish
#>
[CmdletBinding()]
param(
    [ValidateSet('build', 'test', 'native', 'ort', 'publish', 'clean')]
    [string]$Task = 'build',
    [string]$Configuration = 'Release',
    [string]$CudaArchitectures = '80;90'
)
$ErrorActionPreference = 'Stop'
$root = $PSScriptRoot
Set-Location $root

function Invoke-Step([string]$exe, [string[]]$argv) {
    Write-Host "> $exe $($argv -join ' ')"
    & $exe @argv
    if ($LASTEXITCODE -ne 0) { throw "$exe exited with $LASTEXITCODE" }
}

function Invoke-Ort {
    if ($IsWindows) { Write-Host 'ort: on Windows set COEVO_ORT_LIB to an onnxruntime.dll of version 1.30 or later'; return }
    Invoke-Step 'bash' @("$root/eng/fetch-onnxruntime.sh")
}

function Invoke-Native {
    $env:COEVO_CUDA_ARCHITECTURES = $CudaArchitectures
    if ($IsWindows) {
        # Same CMake project the Linux script drives; configure quietly succeeds without nvcc.
        Invoke-Step 'cmake' @('-S', "$root/native", '-B', "$root/artifacts/native", "-DCOEVO_CUDA_ARCHITECTURES=$CudaArchitectures", '-DCMAKE_BUILD_TYPE=Release')
        Invoke-Step 'cmake' @('--build', "$root/artifacts/native", '--config', 'Release')
    } else {
        Invoke-Step 'bash' @("$root/eng/build-native.sh")
    }
}

switch ($Task) {
    'ort'     { Invoke-Ort }
    'native'  { Invoke-Native }
    'build'   { Invoke-Ort; Invoke-Native; Invoke-Step 'dotnet' @('build', 'OnnxCoEvo.sln', '-c', $Configuration) }
    'test'    { Invoke-Ort; Invoke-Native; Invoke-Step 'dotnet' @('test', 'OnnxCoEvo.sln', '-c', $Configuration) }
    'publish' { Invoke-Ort; Invoke-Step 'bash' @("$root/eng/publish-cli.sh") }
    'clean'   { Remove-Item -Recurse -Force -ErrorAction SilentlyContinue "$root/artifacts"; Invoke-Step 'dotnet' @('clean', 'OnnxCoEvo.sln') }
}
