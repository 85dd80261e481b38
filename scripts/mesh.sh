#!/usr/bin/env bash
# The README's first command (`npm start`, also `pnpm mesh`): installs what
# is missing, then runs the local mesh (scripts/mesh.ts): six nodes on
# 127.0.0.1, a demo .mesh service, a loopback-only exit and a SOCKS5 proxy
# on 127.0.0.1:1080. Options go through (`npm start -- --help`). The
# foundation demo that used to run here is `pnpm demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
[ -d .tools ] && export PATH="$PWD/.tools/node_modules/.bin:$PATH"
# exec, and tsx directly (not through pnpm), so Ctrl-C and SIGTERM reach the
# mesh and nothing is left running after it.
exec ./node_modules/.bin/tsx --conditions=@skymesh/source scripts/mesh.ts "$@"
