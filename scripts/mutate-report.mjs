#!/usr/bin/env node
// The numbers of the last `npm run mutate -- ts` per area, read back from reports/mutation/ (Stryker's
// JSON report of each group and the area's sample file): killed (of them by timeout), survived, judged
// equivalent (scripts/mutate-equivalent.json), over the sampled mutants only.
//
//   node scripts/mutate-report.mjs [AREA ...]
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIR = join(ROOT, 'reports', 'mutation');
const equivalents = JSON.parse(readFileSync(join(ROOT, 'scripts', 'mutate-equivalent.json'), 'utf8')).equivalent;
const norm = (s) => s.replace(/\s+/g, ' ').trim();

function textAt(source, loc) {
  const lines = source.split('\n');
  const [s, e] = [loc.start, loc.end];
  if (s.line === e.line) return lines[s.line - 1].slice(s.column - 1, e.column - 1);
  return [lines[s.line - 1].slice(s.column - 1), ...lines.slice(s.line, e.line - 1), lines[e.line - 1].slice(0, e.column - 1)].join('\n');
}

const areas = process.argv.slice(2).length ? process.argv.slice(2) : ['score', 'weights', 'model', 'classifier'];
for (const area of areas) {
  const sampleFile = join(DIR, `${area}.sample.json`);
  const sample = existsSync(sampleFile) ? JSON.parse(readFileSync(sampleFile, 'utf8')) : undefined;
  // sample files written before they named the mutator count every mutant of a sampled node
  const inSample = (file, m) => !sample || sample.nodes.some((n) => file.endsWith(n.file) && n.start.line === m.location.start.line && n.start.column === m.location.start.column - 1
    && n.end.line === m.location.end.line && n.end.column === m.location.end.column - 1 && (n.mutator === undefined || (n.mutator === m.mutatorName && n.replacement === m.replacement)));
  const counts = { killed: 0, timeout: 0, survived: 0, equivalent: 0, other: 0 };
  const survivors = [];
  // a group's <area>-<group>.retest.json (--retest-survivors) replaces the first stage's result of each mutant it ran again
  const latest = new Map();
  const names = readdirSync(DIR).filter((f) => f.startsWith(`${area}-`) && f.endsWith('.json') && !f.includes('incremental')).sort((a, b) => a.includes('.retest') - b.includes('.retest'));
  for (const name of names) {
    const report = JSON.parse(readFileSync(join(DIR, name), 'utf8'));
    for (const [file, { source, mutants }] of Object.entries(report.files)) {
      for (const m of mutants) latest.set(`${file}|${JSON.stringify(m.location)}|${m.mutatorName}|${m.replacement}`, { file, source, m });
    }
  }
  {
    for (const { file, source, m } of latest.values()) {
      {
        if (m.status === 'Ignored' || m.status === 'Pending' || !inSample(file, m)) continue;
        if (m.status === 'Killed') counts.killed++;
        else if (m.status === 'Timeout') counts.timeout++;
        else if (m.status === 'Survived' || m.status === 'NoCoverage') {
          const original = textAt(source, m.location);
          const eq = equivalents.find((q) => file.endsWith(q.file) && q.mutator === m.mutatorName && norm(q.original) === norm(original) && norm(q.replacement) === norm(m.replacement)
            && (q.line === undefined || source.split('\n')[m.location.start.line - 1].includes(q.line)));
          if (eq) counts.equivalent++;
          else {
            counts.survived++;
            survivors.push(`${file.replace(/^.*dist\//, 'dist/')}:${m.location.start.line} ${m.mutatorName}: ${norm(original).slice(0, 70)} -> ${norm(m.replacement).slice(0, 40)}`);
          }
        } else counts.other++;
      }
    }
  }
  const detected = counts.killed + counts.timeout;
  const denominator = detected + counts.survived;
  const pct = (k) => (denominator ? `${((100 * k) / denominator).toFixed(1)}%` : 'n/a');
  console.log(`${area}: killed ${counts.killed} + timeout ${counts.timeout} of ${denominator} non-equivalent = ${pct(detected)} (${pct(counts.killed)} without timeouts); survived ${counts.survived}, equivalent ${counts.equivalent}, invalid ${counts.other}${sample ? `; sample of ${sample.size} (seed ${sample.seed}) of ${sample.population}` : ''}`);
  for (const s of survivors) console.log(`  survived: ${s}`);
}
