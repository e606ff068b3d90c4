#!/usr/bin/env bash
# The whole test suite on a fresh machine: install what the tests need, build
# the console, run unit, integration and end-to-end tests, and print one
# closing line "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-deps.sh
npx tsc --noEmit
npx next build
mkdir -p test-results
set +e
npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json "$@"
status=$?
set -e
node -e '
const r = require("./test-results/vitest.json");
const skipped = r.numPendingTests + r.numTodoTests;
console.log(`\nTests: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
' || true
exit $status
