#!/usr/bin/env bash
# The README's test command: installs everything, then runs every package's
# tests and prints one closing line "tests: N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
[ -d .tools ] && export PATH="$PWD/.tools/node_modules/.bin:$PATH"

rm -f packages/*/test-results.json services/*/test-results.json
status=0
pnpm exec turbo run test --concurrency=2 --output-logs=full || status=$?
node scripts/test-summary.mjs || status=1
exit $status
