// bench/fuzz.ts as a bounded test: a fixed seed and number of cases over every weights parser and the
// image decoders. Each case must parse or fail with one coded line naming the file; no signal, no hang
// (no watchdog here: tests carry no time limits; `node dist/bench/fuzz.js` has one), RSS under 1 GiB.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { basename } from 'node:path';
import { fuzz } from '../bench/fuzz.js';

test('fuzz: seed 1, 300 mutated weights files and images, every one parsed or refused in one line', async (t) => {
  const summary = await fuzz({ seed: 1, cases: 300, rssMb: 1024, watchdogS: 0 });
  t.diagnostic(`${summary.ok} parsed, ${summary.errors} one-line errors, peak RSS ${summary.maxRssMb} MB; ${JSON.stringify(summary.byMutation)}`);
  assert.equal(summary.cases, 300);
  assert.deepEqual(summary.failures.map((f) => `${f.outcome} #${f.index} ${basename(f.fixture)} (${f.mutation}): ${f.message}`), []);
  // the mutations reach the parsers: some cases still parse, most are refused
  assert.ok(summary.errors > summary.cases / 2, `${summary.errors} errors`);
  assert.ok(summary.maxRssMb <= 1024);
});
