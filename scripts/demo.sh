#!/usr/bin/env bash
# The Kong Air demo: runs every part in scripts/demo/, in name order.
set -euo pipefail
cd "$(dirname "$0")/.."
for part in scripts/demo/[0-9]*.sh; do
  echo "=== ${part#scripts/demo/}"
  bash "$part"
done
