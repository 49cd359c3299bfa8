#!/usr/bin/env node
// `npm run mutate`: how many realistic bugs would the tests notice?
//
//   npm run mutate -- ts [--area score,weights,model,classifier] [--sample N|all] [--seed S] [--group NAME,...] [--incremental] [--fast-only]
//   npm run mutate -- ts --area A --sample N --seed S --retest-survivors   # after a --fast-only run: its survivors again, end-to-end tests too
//   npm run mutate -- native [--only NAME,...]
//   npm run mutate                  # both: every TS area (sampled, 60 mutants each), then every planted native bug
//
// TypeScript: Stryker (@stryker-mutator/core) mutates the compiled JavaScript in dist/lib (the emitted
// code is the TypeScript without its types, so no compiler runs per mutant) and its command runner runs
// only the test files of the mutated file's group (AREAS below): the fast, in-process ones first, the end-to-end ones (CLI runs) only
// for the mutants those let through (--fast-only: not at all, a lower bound on the score). One mutant at a time (--concurrency 1: the machine has 2 cores).
// With --sample N, a seeded random sample of N mutants per area is run (scripts/mutate-sample-ignorer.mjs
// keeps Stryker to their nodes); the score is over the sample, with its 95% Wilson interval.
// Survivors judged equivalent (no input can tell them from the original) are listed, with the
// reason, in scripts/mutate-equivalent.json and left out of the score's denominator.
//
// Native: scripts/mutate-native.mjs (planted bugs in the kernels and the napi argument checks).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
// mulberry32, a small seeded generator (test/reference.ts; `npm run mutate` builds dist/ first), so a
// sample can be run again
import { random as seededRandom } from '../dist/test/reference.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(ROOT);

/**
 * fast: in-process unit tests run first; slow: end-to-end tests run only for what the fast ones let through.
 * groups: files of the area whose mutants need only some of its tests (Stryker runs once per group, with
 * that group's tests); files in no group get the area's fast and slow lists.
 */
export const AREAS = {
  score: {
    mutate: 'dist/lib/score', fast: ['score-metrics', 'score-run', 'score-dataset-walk'], slow: ['score', 'score-stop'],
    groups: [
      { name: 'run', files: ['run.js', 'complete.js', 'scheduler.js', 'pool.js', 'decode-worker.js'], fast: ['score-run', 'score-metrics'], slow: ['score', 'score-stop'] },
      { name: 'dataset', files: ['dataset.js'], fast: ['score-dataset-walk', 'score-metrics'], slow: ['score-run', 'score'] },
    ],
  },
  weights: {
    mutate: 'dist/lib/weights',
    fast: ['weights-pickle', 'weights-pickle-values', 'weights-torch-cases', 'weights-onnx-graphs', 'weights-onnx-defaults', 'weights-resolve', 'weights-safetensors', 'weights-torch', 'weights-onnx', 'weights-formats'],
    slow: ['weights-forward', 'weights-commands', 'download', 'safety'],
    groups: [
      { name: 'pickle', files: ['pickle.js'], fast: ['weights-pickle', 'weights-pickle-values', 'weights-torch'], slow: ['weights-torch-cases', 'safety'] },
      { name: 'torch', files: ['torch.js', 'zip.js', 'dtypes.js'], fast: ['weights-dtypes', 'weights-zip', 'weights-torch-cases', 'weights-torch', 'weights-safetensors', 'weights-formats'], slow: ['weights-pickle-values', 'safety', 'weights-onnx-graphs'] },
      { name: 'onnx', files: ['onnx.js', 'onnx-export.js'], fast: ['weights-onnx-defaults', 'weights-onnx', 'weights-onnx-graphs'], slow: ['weights-resolve', 'safety', 'ort-oracle'] },
      { name: 'formats', files: ['caffe.js', 'keras.js', 'keras-h5-worker.js', 'npy.js', 'safetensors.js'], fast: ['weights-npy-cases', 'weights-caffe-cases', 'weights-safetensors-cases', 'weights-formats', 'weights-safetensors'], slow: ['weights-resolve', 'weights-forward', 'safety'] },
      { name: 'resolve', files: ['resolve.js', 'index.js', 'detect.js', 'convert.js', 'limits.js', 'types.js'], fast: ['weights-detect', 'weights-resolve', 'weights-formats'], slow: ['weights-commands', 'weights-forward', 'safety'] },
      { name: 'download', files: ['cache.js', 'download.js', 'lock.js', 'registry.js'], fast: ['download', 'weights-registry'], slow: ['weights-commands'] },
    ],
  },
  model: {
    mutate: 'dist/lib/model', fast: ['model-load', 'arena', 'model-archs', 'model-shapes', 'summary', 'plan'], slow: ['precision-model', 'model'],
    groups: [
      { name: 'shapes', files: ['archs.js', 'random.js', 'shapes.js', 'layers.js'], fast: ['model-archs', 'model-shapes', 'summary'], slow: ['plan'] },
    ],
  },
  classifier: { mutate: 'dist/lib/classifier.js', fast: ['classifier', 'classifier-each'], slow: ['classify', 'api'] },
};

/** the group of an area a compiled file belongs to ({name: 'rest'} with the area's lists for files in none) */
function groupOf(area, fileName) {
  const base = fileName.replace(/\\/g, '/').split('/').pop();
  return (AREAS[area].groups ?? []).find((g) => g.files.includes(base)) ?? { name: 'rest', files: [], fast: AREAS[area].fast, slow: AREAS[area].slow };
}

function parseArgs(argv) {
  const opts = { what: [], areas: Object.keys(AREAS), sample: 60, seed: 17, incremental: false, only: null, fastOnly: false, groups: null, retest: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--area') opts.areas = argv[++i].split(',');
    else if (a === '--sample') { const v = argv[++i]; opts.sample = v === 'all' ? 0 : Number(v); }
    else if (a === '--all') opts.sample = 0;
    else if (a === '--seed') opts.seed = Number(argv[++i]);
    else if (a === '--incremental') opts.incremental = true;
    else if (a === '--fast-only') opts.fastOnly = true;
    else if (a === '--retest-survivors') opts.retest = true;
    else if (a === '--only') opts.only = argv[++i].split(',');
    else if (a === '--group') opts.groups = argv[++i].split(',');
    else if (a === 'ts' || a === 'native') opts.what.push(a);
    else throw new Error(`Expected ts, native, --area A,B, --sample N|all, --seed S, --incremental or --only NAMES but received ${a}`);
  }
  for (const area of opts.areas) if (!AREAS[area]) throw new Error(`Expected one of ${Object.keys(AREAS).join(', ')} for --area but received ${area}`);
  if (!Number.isInteger(opts.sample) || opts.sample < 0) throw new Error(`Expected a non-negative integer or 'all' for --sample but received ${opts.sample}`);
  if (opts.what.length === 0) opts.what = ['ts', 'native'];
  return opts;
}

function areaFiles(area) {
  const p = AREAS[area].mutate;
  return p.endsWith('.js') ? [p] : readdirSync(p).filter((f) => f.endsWith('.js')).sort().map((f) => `${p}/${f}`);
}

const quiet = { debug() {}, info() {}, warn() {}, error() {}, trace() {}, fatal() {}, isDebugEnabled: () => false, isTraceEnabled: () => false, isInfoEnabled: () => false, isWarnEnabled: () => false };

/** Every mutant Stryker would make in these files (its own instrumenter), locations with 0-based lines */
async function enumerate(files) {
  const { Instrumenter } = await import('@stryker-mutator/instrumenter');
  const result = await new Instrumenter(quiet).instrument(
    files.map((name) => ({ name, mutate: true, content: readFileSync(name, 'utf8') })),
    { plugins: null, excludedMutations: [], ignorers: [] },
  );
  return result.mutants;
}

const keyOf = (m) => `${relative(ROOT, m.fileName).replace(/\\/g, '/')}|${m.location.start.line}:${m.location.start.column}-${m.location.end.line}:${m.location.end.column}|${m.mutatorName}|${m.replacement}`;

function originalText(file, loc) {
  const lines = readFileSync(file, 'utf8').split('\n');
  if (loc.start.line === loc.end.line) return lines[loc.start.line].slice(loc.start.column, loc.end.column);
  return [lines[loc.start.line].slice(loc.start.column), ...lines.slice(loc.start.line + 1, loc.end.line), lines[loc.end.line].slice(0, loc.end.column)].join('\n');
}

const oneLine = (s, n = 90) => { const t = s.replace(/\s+/g, ' ').trim(); return t.length > n ? `${t.slice(0, n - 3)}...` : t; };

function loadEquivalents() {
  try {
    return JSON.parse(readFileSync(join(ROOT, 'scripts', 'mutate-equivalent.json'), 'utf8')).equivalent;
  } catch {
    return [];
  }
}

/**
 * a survivor is judged equivalent when an entry names its file, mutator, original text and replacement, and
 * (where the entry has one) its `line` text occurs on the mutant's first line: for an original like `[]` that
 * occurs in many places, only some of which are equivalent
 */
function equivalentReason(equivalents, file, mutator, original, replacement, lineText = '') {
  const norm = (s) => s.replace(/\s+/g, ' ').trim();
  const e = equivalents.find((q) => file.endsWith(q.file) && q.mutator === mutator && norm(q.original) === norm(original) && norm(q.replacement) === norm(replacement)
    && (q.line === undefined || lineText.includes(q.line)));
  return e?.reason;
}

function wilson(k, n) {
  if (n === 0) return [0, 1];
  const z = 1.96;
  const p = k / n;
  const d = 1 + (z * z) / n;
  const c = (p + (z * z) / (2 * n)) / d;
  const h = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
  return [Math.max(0, c - h), Math.min(1, c + h)];
}

async function runArea(area, opts) {
  const files = areaFiles(area);
  const all = await enumerate(files);
  let sampled = all;
  const sampleFile = join(ROOT, 'reports', 'mutation', `${area}.sample.json`);
  mkdirSync(dirname(sampleFile), { recursive: true });
  if (opts.sample > 0 && opts.sample < all.length) {
    const random = seededRandom(opts.seed);
    const order = all.map((m) => [random(), m]).sort((a, b) => a[0] - b[0]).map(([, m]) => m);
    sampled = order.slice(0, opts.sample);
  }
  const sampleKeys = new Set(sampled.map(keyOf));
  const isSample = sampled !== all;
  // the ignorer plugin reads the sample from here: without it every mutant inside a sampled node's range runs too
  if (isSample) process.env.ALEXNET_MUTATE_SAMPLE = sampleFile;
  else delete process.env.ALEXNET_MUTATE_SAMPLE;
  if (isSample) {
    writeFileSync(sampleFile, JSON.stringify({
      area, seed: opts.seed, size: sampled.length, population: all.length,
      nodes: sampled.map((m) => ({ file: relative(ROOT, m.fileName).replace(/\\/g, '/'), start: { line: m.location.start.line + 1, column: m.location.start.column }, end: { line: m.location.end.line + 1, column: m.location.end.column }, mutator: m.mutatorName, replacement: m.replacement })),
    }, null, 1));
  }
  // one node --test per file, chained with &&: a mutant is killed at the first file that fails, without waiting
  // for the files after it (the lists put the quick files first)
  const testRun = (names) => names.map((n) => `node --test --test-concurrency=1 dist/test/${n}.test.js`).join(' && ');
  const commandOf = (g) => (g.slow.length && !opts.fastOnly ? `${testRun(g.fast)} && ${testRun(g.slow)}` : testRun(g.fast));
  // one Stryker run per group of files, each with its own tests
  const byGroup = new Map();
  for (const m of sampled) {
    const g = groupOf(area, m.fileName);
    if (!byGroup.has(g.name)) byGroup.set(g.name, { group: g, mutants: [] });
    byGroup.get(g.name).mutants.push(m);
  }
  console.log(`\n== ${area}: ${isSample ? `a sample of ${sampled.length} (seed ${opts.seed}) of ${all.length}` : `all ${all.length}`} mutants in ${files.length} files`);
  const { Stryker } = await import('@stryker-mutator/core');
  const started = Date.now();
  const results = [];
  // --retest-survivors: the second stage of a --fast-only run of the same sample (same seed, same code). Its
  // kills stand; the mutants it let through run again with the full command (in-process, then end-to-end tests),
  // so the result is what a run without --fast-only gives, at the cost of the survivors only
  const previousOf = new Map();
  if (opts.retest) {
    const retestNodes = [];
    for (const { group, mutants } of byGroup.values()) {
      if (opts.groups && !opts.groups.includes(group.name)) continue;
      const file = join(ROOT, 'reports', 'mutation', `${area}-${group.name}.json`);
      const previous = [];
      for (const [fileName, { mutants: ms }] of Object.entries(JSON.parse(readFileSync(file, 'utf8')).files)) {
        for (const m of ms) previous.push({ ...m, fileName: join(ROOT, fileName) });
      }
      const zeroBased = (r) => ({ ...r, location: { start: { line: r.location.start.line - 1, column: r.location.start.column - 1 }, end: { line: r.location.end.line - 1, column: r.location.end.column - 1 } } });
      const byKey = new Map(previous.map((r) => [keyOf(zeroBased(r)), r]));
      const missing = mutants.filter((m) => !byKey.has(keyOf(m)));
      if (missing.length) throw new Error(`Expected ${file} to hold every sampled mutant of ${area}/${group.name} (run the same --sample and --seed with --fast-only first, on the same code) but ${missing.length} are missing`);
      const again = mutants.filter((m) => ['Survived', 'NoCoverage'].includes(byKey.get(keyOf(m)).status));
      previousOf.set(group.name, { previous, again });
      retestNodes.push(...again);
    }
    process.env.ALEXNET_MUTATE_SAMPLE = join(ROOT, 'reports', 'mutation', `${area}.retest-sample.json`);
    writeFileSync(process.env.ALEXNET_MUTATE_SAMPLE, JSON.stringify({
      area, seed: opts.seed, size: retestNodes.length, nodes: retestNodes.map((m) => ({ file: relative(ROOT, m.fileName).replace(/\\/g, '/'), start: { line: m.location.start.line + 1, column: m.location.start.column }, end: { line: m.location.end.line + 1, column: m.location.end.column }, mutator: m.mutatorName, replacement: m.replacement })),
    }, null, 1));
  }
  for (const { group, mutants: groupMutants } of byGroup.values()) {
    // --group: run only these groups (their mutants alone count: a partial measurement)
    if (opts.groups && !opts.groups.includes(group.name)) {
      for (const m of groupMutants) sampleKeys.delete(keyOf(m));
      continue;
    }
    let mutants = groupMutants;
    let reportName = `${area}-${group.name}`;
    if (opts.retest) {
      const { previous, again } = previousOf.get(group.name);
      const againKeys = new Set(again.map(keyOf));
      // the first stage's results stand, except for the mutants run again (their new result replaces them below)
      const zeroKey = (r) => keyOf({ ...r, location: { start: { line: r.location.start.line - 1, column: r.location.start.column - 1 }, end: { line: r.location.end.line - 1, column: r.location.end.column - 1 } } });
      // (mutants outside the sample do not count: their first-stage survivors are not listed again)
      results.push(...previous.filter((r) => !againKeys.has(zeroKey(r)) && sampleKeys.has(zeroKey(r))));
      mutants = again;
      reportName += '.retest';
      if (mutants.length === 0) {
        console.log(`-- ${area}/${group.name}: no survivor of the first stage to run again`);
        continue;
      }
    }
    // the second stage runs the in-process tests again (tests added since the first stage count now) and then, unless
    // --fast-only, the end-to-end ones
    const command = opts.retest && !opts.fastOnly ? `${testRun(group.fast)}${group.slow.length ? ` && ${testRun(group.slow)}` : ''}` : commandOf(group);
    const groupRanges = isSample
      ? [...new Set(mutants.map((m) => `${relative(ROOT, m.fileName)}:${m.location.start.line + 1}:${m.location.start.column}-${m.location.end.line + 1}:${m.location.end.column}`))]
      : [...new Set(mutants.map((m) => relative(ROOT, m.fileName)))];
    console.log(`-- ${area}/${group.name}: ${mutants.length} mutants${isSample ? ' sampled' : ''}${opts.retest ? ' (survivors of the first stage)' : ''}; tests: ${command}`);
    results.push(...await new Stryker({
      testRunner: 'command',
      commandRunner: { command },
      mutate: groupRanges,
      coverageAnalysis: 'off',
      concurrency: 1,
      incremental: opts.incremental,
      incrementalFile: `reports/mutation/${area}-${group.name}.incremental.json`,
      reporters: ['json', 'progress'],
      jsonReporter: { fileName: `reports/mutation/${reportName}.json` },
      timeoutFactor: 3,
      timeoutMS: 20000,
      dryRunTimeoutMinutes: 30,
      tempDirName: '.stryker-tmp',
      cleanTempDir: true,
      ignorePatterns: ['bench', 'docs', 'reports', '.device', '/build/CMakeFiles', '/build/**/*.o', '/test/*.ts', '/lib', '/bin', '/tsconfig.json'], // no tsc runs: TypeScript 7 has no JS API for Stryker's tsconfig rewrite
      plugins: ['@stryker-mutator/*', join(ROOT, 'scripts', 'mutate-sample-ignorer.mjs')],
      ignorers: isSample ? ['alexnet-sample'] : [],
      disableTypeChecks: false,
      logLevel: 'warn',
      fileLogLevel: 'off',
    }).runMutationTest());
  }
  const minutes = (Date.now() - started) / 60000;
  const equivalents = loadEquivalents();
  const counted = [];
  const survivors = [];
  // one result per mutant: a later one (the second stage's) replaces an earlier one of the same mutant
  const latest = new Map();
  for (const result of results) {
    const { start, end } = result.location;
    latest.set(keyOf({ ...result, location: { start: { line: start.line - 1, column: start.column - 1 }, end: { line: end.line - 1, column: end.column - 1 } } }), result);
  }
  for (const result of latest.values()) {
    if (result.status === 'Ignored' || result.status === 'Pending') continue;
    // results carry the report schema's 1-based lines and columns; the instrumenter's are 0-based
    const { start, end } = result.location;
    const r = { ...result, location: { start: { line: start.line - 1, column: start.column - 1 }, end: { line: end.line - 1, column: end.column - 1 } } };
    const inSample = sampleKeys.has(keyOf(r));
    const original = originalText(r.fileName, r.location);
    const where = `${relative(ROOT, r.fileName)}:${r.location.start.line + 1}:${r.location.start.column + 1}`;
    const detected = r.status === 'Killed' || r.status === 'Timeout';
    const invalid = r.status === 'RuntimeError' || r.status === 'CompileError';
    const equivalent = !detected && !invalid ? equivalentReason(equivalents, r.fileName, r.mutatorName, original, r.replacement, readFileSync(r.fileName, 'utf8').split('\n')[r.location.start.line]) : undefined;
    if (inSample) counted.push({ detected, invalid, equivalent, timeout: r.status === 'Timeout' });
    if (!detected && !invalid) survivors.push({ where, mutator: r.mutatorName, original, replacement: r.replacement, status: r.status, inSample, equivalent });
  }
  const valid = counted.filter((c) => !c.invalid);
  const killed = valid.filter((c) => c.detected).length;
  // a timeout counts as detected (Stryker's rule: a mutant that loops forever is caught), but on a loaded
  // machine a slow test run times out too: they are counted apart so the score without them can be read
  const timeouts = valid.filter((c) => c.timeout).length;
  const equivalent = valid.filter((c) => c.equivalent).length;
  const denominator = valid.length - equivalent;
  const score = denominator ? killed / denominator : 1;
  const [lo, hi] = wilson(killed, denominator);
  console.log(`\n${area}: ${killed} of ${denominator} non-equivalent mutants killed = ${(100 * score).toFixed(1)}%`
    + (isSample ? ` (95% interval ${(100 * lo).toFixed(1)}-${(100 * hi).toFixed(1)}%)` : '')
    + `; ${timeouts} of the killed by timeout; ${equivalent} judged equivalent, ${counted.length - valid.length} invalid (runtime/compile errors); ${results.length} run in ${minutes.toFixed(1)} min`);
  for (const s of survivors.filter((x) => !x.equivalent)) {
    console.log(`  survived${s.inSample ? '' : ' (not in the sample)'}: ${s.where} ${s.mutator}: ${oneLine(s.original)}  ->  ${oneLine(s.replacement)}`);
  }
  for (const s of survivors.filter((x) => x.equivalent)) {
    console.log(`  equivalent: ${s.where} ${s.mutator}: ${oneLine(s.original)}  ->  ${oneLine(s.replacement)}  (${s.equivalent})`);
  }
  return { area, killed, timeouts, denominator, equivalent, score, interval: isSample ? [lo, hi] : null, population: all.length, sampled: sampled.length, minutes };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const summary = [];
  if (opts.what.includes('ts')) {
    for (const area of opts.areas) summary.push(await runArea(area, opts));
  }
  let nativeStatus = 0;
  if (opts.what.includes('native')) {
    const args = [join(ROOT, 'scripts', 'mutate-native.mjs'), ...(opts.only ? ['--only', opts.only.join(',')] : [])];
    nativeStatus = spawnSync(process.execPath, args, { stdio: 'inherit' }).status ?? 1;
  }
  if (summary.length) {
    console.log('\nmutation score (TypeScript, killed / non-equivalent mutants):');
    for (const s of summary) {
      console.log(`  ${s.area.padEnd(11)} ${(100 * s.score).toFixed(1).padStart(5)}%  ${s.killed}/${s.denominator}`
        + (s.interval ? `  sample of ${s.sampled} of ${s.population}, 95% interval ${(100 * s.interval[0]).toFixed(1)}-${(100 * s.interval[1]).toFixed(1)}%` : `  all ${s.population}`)
        + `  (${s.equivalent} equivalent, ${s.minutes.toFixed(1)} min)`);
    }
    writeFileSync(join(ROOT, 'reports', 'mutation', 'summary.json'), JSON.stringify(summary, null, 1));
  }
  process.exitCode = nativeStatus;
}

await main();
