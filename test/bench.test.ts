// `alexnet-cli bench`: the report's structure and arithmetic (never its timings: benchmarks are not tests).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { native } from '../lib/native.js';
import type { BenchReport } from '../lib/commands/bench.js';

const cli = fileURLToPath(new URL('../bin/alexnet-cli.js', import.meta.url));
const supported = native().cpuFeatures().supported;

function ortInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve('onnxruntime-node');
    return true;
  } catch {
    return false;
  }
}

test('bench --isa times every kernel set the CPU runs, interleaved, with ratios to the first', (t) => {
  const compare = ortInstalled();
  if (!compare) t.diagnostic('onnxruntime-node is not installed: the ORT columns are not checked');
  const args = [cli, 'bench', '--arch', 'torchvision', '--batch', '1,2', '--warmup', '0', '--iters', '2', '--threads', '2',
    '--isa', supported.join(','), '--json', ...(compare ? ['--compare', 'onnxruntime'] : [])];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as BenchReport;
  assert.deepEqual(report.isas, supported);
  assert.equal(report.threads, 2);
  // the CPU it ran on, as the OS names it
  assert.equal(report.cpu, cpus()[0].model.trim());
  assert.equal(report.rows.length, 2 * supported.length);
  for (const batch of [1, 2]) {
    const rows = report.rows.filter((row) => row.batch === batch);
    assert.deepEqual(rows.map((row) => row.isa), supported);
    for (const row of rows) {
      assert.equal(row.arch, 'torchvision');
      assert.ok(row.ours.medianMs > 0 && row.ours.p90Ms >= row.ours.medianMs, JSON.stringify(row.ours));
      assert.ok(Math.abs(row.ours.imagesPerSecond - (1000 * batch) / row.ours.medianMs) < 1e-9 * row.ours.imagesPerSecond);
      assert.ok(Math.abs(row.isaRatio - row.ours.medianMs / rows[0].ours.medianMs) < 1e-12);
      if (compare) {
        assert.ok(row.ort && row.ort.medianMs > 0);
        assert.deepEqual(row.ort, rows[0].ort);  // one ORT measurement per configuration
        assert.ok(Math.abs(row.timeRatio! - row.ours.medianMs / row.ort!.medianMs) < 1e-12);
      } else {
        assert.equal(row.ort, null);
        assert.equal(row.timeRatio, null);
      }
    }
    assert.equal(rows[0].isaRatio, 1);
  }
});

test('bench rejects a kernel set the CPU does not run, and malformed lists, with one line', () => {
  for (const [isa, expected] of [['sse9', /Expected kernel sets this CPU runs \(.*\) for --isa but received sse9/],
    ['avx2,,portable', /Expected a comma-separated list of distinct kernel sets for --isa/],
    ['avx2,avx2', /Expected a comma-separated list of distinct kernel sets for --isa/]] as const) {
    const r = spawnSync(process.execPath, [cli, 'bench', '--arch', 'torchvision', '--batch', '1', '--iters', '1', '--isa', isa],
      { encoding: 'utf8' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, expected);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});
