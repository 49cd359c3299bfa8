// Records a bench run as JSON under bench/results/ and compares it with the previous record.
// Every record holds our numbers and onnxruntime's from the SAME run, so two records taken at different
// times (different machine load) are compared through their ours/ORT ratios, not raw milliseconds.
// Run: npx tsc -p . && node dist/bench/run.js LABEL [--arch a,b] [--batch 1,32] [--iters N] [--threads N] [--isa avx512,avx2] [--no-compare]
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArchList, parseBatchList, parseIsaList, renderBench, runBench, type BenchReport } from '../lib/commands/bench.js';

const here = dirname(fileURLToPath(import.meta.url));
// dist/bench -> <root>/bench/results
const resultsDir = join(here, '..', '..', 'bench', 'results');

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const label = process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : 'run';
const { native } = await import('../lib/native.js');
const report = await runBench({
  archs: parseArchList(flag('arch')),
  batches: parseBatchList(flag('batch') ?? '1,32'),
  threads: Number(flag('threads') ?? native().getThreads()),
  warmup: Number(flag('warmup') ?? 3),
  iters: Number(flag('iters') ?? 15),
  compare: process.argv.includes('--no-compare') ? null : 'onnxruntime',
  isas: flag('isa') === undefined ? undefined : parseIsaList(flag('isa')!),
}, (line) => console.error(line));
console.log(renderBench(report));

mkdirSync(resultsDir, { recursive: true });
const previous = readdirSync(resultsDir).filter((f) => f.endsWith('.json')).sort().at(-1);
const stamp = report.date.replace(/[:.]/g, '-');
const file = join(resultsDir, `${stamp}-${label}.json`);
writeFileSync(file, `${JSON.stringify({ label, ...report }, null, 2)}\n`);
console.log(`recorded ${file}`);

if (previous) {
  const before = JSON.parse(readFileSync(join(resultsDir, previous), 'utf8')) as BenchReport & { label: string };
  console.log(`\nours/ORT time ratio, ${before.label ?? previous.replace(/\.json$/, "")} (${previous}) -> ${label}:`);
  for (const row of report.rows) {
    const old = before.rows.find((r) => r.arch === row.arch && r.batch === row.batch && (r.isa ?? before.isa) === row.isa);
    if (!old || old.timeRatio === null || row.timeRatio === null) continue;
    console.log(`  ${row.arch.padEnd(12)} batch ${String(row.batch).padStart(3)}: ${old.timeRatio.toFixed(3)} -> ${row.timeRatio.toFixed(3)}` +
      ` (ours ${old.ours.medianMs.toFixed(2)} -> ${row.ours.medianMs.toFixed(2)} ms, ORT ${old.ort!.medianMs.toFixed(2)} -> ${row.ort!.medianMs.toFixed(2)} ms)`);
  }
}
