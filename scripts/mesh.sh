#!/usr/bin/env bash
# The README's first command. Until the mesh node lands (issue 3/4) it runs
# the foundation end to end: makes a node identity, signs and verifies a
# descriptor, completes a hidden-key Noise handshake, and benchmarks the
# crypto backends. It grows into the full local mesh.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
[ -d .tools ] && export PATH="$PWD/.tools/node_modules/.bin:$PATH"
exec pnpm exec tsx --conditions=@skymesh/source scripts/demo.ts "$@"
