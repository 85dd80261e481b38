#!/usr/bin/env bash
# The README's test command: installs everything (pnpm, packages, and on CI
# a local PostgreSQL for the gateway's real-database tests), then runs every
# package's tests and prints one closing line "tests: N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
[ -d .tools ] && export PATH="$PWD/.tools/node_modules/.bin:$PATH"

if url=$(bash scripts/ensure-postgres.sh); then
  export TEST_DATABASE_URL="$url"
elif [ "${CI:-}" = "true" ]; then
  echo "test: PostgreSQL is required on CI" >&2
  exit 1
else
  echo "test: no PostgreSQL here; the gateway's real-Postgres tests will fail" >&2
fi

rm -f packages/*/test-results.json services/*/test-results.json tools/*/test-results.json
status=0
pnpm exec turbo run test --concurrency=2 --output-logs=full || status=$?
node scripts/test-summary.mjs || status=1
exit $status
