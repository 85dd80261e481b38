// Sums the vitest JSON reports every workspace package (packages/*, services/*,
// tools/*) wrote and prints one line.
import { existsSync, readdirSync, readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
let files = 0;
for (const top of ['packages', 'services', 'tools']) {
  if (!existsSync(top)) continue;
  for (const dir of readdirSync(top)) {
    const path = `${top}/${dir}/test-results.json`;
    if (!existsSync(path)) continue;
    const r = JSON.parse(readFileSync(path, 'utf8'));
    passed += r.numPassedTests;
    failed += r.numFailedTests;
    files++;
  }
}
if (files === 0) {
  console.error('tests: no test reports found');
  process.exit(1);
}
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
