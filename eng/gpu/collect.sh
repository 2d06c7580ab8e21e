#!/usr/bin/env bash
# Here, after a device run: copies its JSON results into bench/results/ named by machine and date, e.g.
#   bench/results/kernels-nvidia-h100-80gb-hbm3-2026-11-22.json (+ parity-..., torch-kernels-...)
#   bash eng/gpu/collect.sh FILES_AT     (the folder the device tool returned)
# Only real numbers from the GPU machine go there; this script never edits them.
set -euo pipefail
from="${1:?usage: collect.sh FILES_AT}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
machine=$(grep -A1 '^name, ' "$from/machine.txt" | tail -1 | cut -d, -f1 | tr 'A-Z' 'a-z' | tr -cs 'a-z0-9' '-' | sed 's/-$//')
day=$(sed -n 's/^date: \([0-9-]*\)T.*/\1/p' "$from/machine.txt")
[ -n "$machine" ] && [ -n "$day" ] || { echo "collect: cannot read the machine and date from $from/machine.txt" >&2; exit 1; }
for name in kernels parity torch-kernels; do
  if [ -f "$from/$name.json" ]; then
    cp "$from/$name.json" "$root/bench/results/$name-$machine-$day.json"
    echo "collect: bench/results/$name-$machine-$day.json"
  fi
done
