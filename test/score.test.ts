// `score` and `merge` end to end: a dataset generated from the committed photographs (crops, flips,
// resizes, JPEG/PNG re-encodings) in class folders, scored by a tiny random network (test/score-dataset.ts)
// through a scratch CLI entry point (the same yargs CommandModules bin/ wires), with the metrics
// checked against an independent computation from the per-image output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readLabels } from '../lib/labels.js';
import { compareBytes } from '../lib/score/dataset.js';
import { chooseShard, expandOutPath } from '../lib/score/scheduler.js';
import { CLASSES, IMAGES, makeImageFolder, readJsonl, writeTinyWeights, type Generated, type Rec } from './score-dataset.js';

// dist/test/score.test.js -> dist/lib
const here = dirname(fileURLToPath(import.meta.url));
const DIST_LIB = join(here, '..', 'lib');

// A scratch entry point: score and merge on yargs, errors as bin/alexnet-cli.ts prints them
const RUNNER = `
import yargs from '${import.meta.resolve('yargs')}';
const lib = ${JSON.stringify(DIST_LIB)};
const { scoreCommand } = await import(lib + '/commands/score.js');
const { mergeCommand } = await import(lib + '/commands/merge.js');
const { exitCodeFor } = await import(lib + '/errors.js');
const fail = (err) => { process.stderr.write('alexnet-cli: ' + err.message + '\\n'); process.exit(exitCodeFor(err)); };
const guarded = (c) => ({ ...c, handler: async (argv) => { try { await c.handler(argv); } catch (e) { fail(e); } } });
await yargs(process.argv.slice(2)).command(guarded(scoreCommand)).command(guarded(mergeCommand)).strict()
  .fail((msg, err) => fail(err ?? Object.assign(new Error(msg), { code: 'ERR_USAGE' }))).parseAsync();
`;
const work = mkdtempSync(join(tmpdir(), 'alexnet-score-'));
const runnerFile = join(work, 'runner.mjs');
writeFileSync(runnerFile, RUNNER);
const runnerArgs = (args: string[]) => [runnerFile, ...args];

// none of a scheduler's variables (a test run inside a Slurm job scores 0/1 all the same), plus `env`
const SCHEDULER_VARIABLE = /^(SLURM_|JOB_COMPLETION_INDEX$|ALEXNET_CLI_SHARD_COUNT$)/;
const cleanEnv = (env: Record<string, string> = {}) => ({
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !SCHEDULER_VARIABLE.test(k))), ...env,
});

function cli(args: string[], env?: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, runnerArgs(args), { encoding: 'utf8', env: cleanEnv(env) });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** top-1, top-5, mean per-class accuracy computed here, independently of lib/score/metrics.ts */
function independentMetrics(records: Rec[], numClasses: number) {
  const ok = records.filter((r) => r.error === undefined);
  const perClass = new Map<number, { n: number; hit: number }>();
  let top1 = 0;
  let top5 = 0;
  for (const r of ok) {
    const c = perClass.get(r.label) ?? { n: 0, hit: 0 };
    c.n++;
    if (r.top![0] === r.label) {
      top1++;
      c.hit++;
    }
    if (r.top!.slice(0, Math.min(5, numClasses)).includes(r.label)) top5++;
    perClass.set(r.label, c);
  }
  const classAcc = [...perClass.values()].map((c) => c.hit / c.n);
  return {
    scored: ok.length,
    unreadable: records.length - ok.length,
    top1: top1 / ok.length,
    top5: top5 / ok.length,
    meanPerClassTop1: classAcc.reduce((a, b) => a + b, 0) / classAcc.length,
  };
}

let generated: Generated;
const TINY = join(work, 'tiny-4.safetensors');
const TINY_1000 = join(work, 'tiny-1000.safetensors');
const MODEL = ['--weights', TINY, '--workers', '2'];

test('generate the dataset and the tiny networks', async () => {
  generated = await makeImageFolder(join(work, 'folder'));
  assert.equal(generated.truth.size, 16);
  writeTinyWeights(TINY, 4, 7);
  writeTinyWeights(TINY_1000, 1000, 7);
});

test('score an ImageFolder: metrics match an independent computation, broken files are listed', () => {
  const out = join(work, 'full.jsonl');
  const confusion = join(work, 'confusion.csv');
  const r = cli(['score', generated.root, '--labels', generated.labelsFile, ...MODEL, '--batch', '3', '--out', out, '--json', '--confusion', confusion]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /1 file is not an image by extension \(not scored\): rocket\/notes.txt/);
  const report = JSON.parse(r.stdout);
  const { header, records } = readJsonl(out);
  assert.equal(header.datasetSize, 20);
  assert.equal(header.numClasses, 4);
  assert.equal(records.length, 20);
  assert.deepEqual(records.map((x) => x.path), [...records.map((x) => x.path)].sort());
  for (const rec of records) {
    const expected = generated.truth.get(rec.path) ?? CLASSES.indexOf(rec.path.split('/')[0]);
    assert.equal(rec.label, expected, rec.path);
    if (rec.error === undefined) {
      assert.equal(rec.top!.length, 4);
      assert.ok(Math.abs(rec.prob!.reduce((a, b) => a + b, 0) - 1) < 1e-5);
    }
  }
  const errors = new Map(records.filter((x) => x.error !== undefined).map((x) => [x.path, x.error!]));
  assert.deepEqual([...errors.keys()].sort(), [...generated.broken].sort());
  assert.match(errors.get('coffee/truncated.jpg')!, /truncated file/);
  assert.match(errors.get('rocket/not-an-image.jpg')!, /expected valid GIF data but found blocks omggif cannot parse/);
  assert.match(errors.get('astronaut/empty.jpg')!, /the file is empty/);
  assert.match(errors.get('cat/corrupt.jpg')!, /corrupt data/);

  const expected = independentMetrics(records, 4);
  assert.equal(report.scored, 16);
  assert.equal(report.unreadable, 4);
  assert.equal(report.top1, expected.top1);
  assert.equal(report.top5, expected.top5);
  assert.equal(report.top5, 1); // 4 classes: the true one is always among the top 5
  assert.ok(Math.abs(report.meanPerClassTop1 - expected.meanPerClassTop1) < 1e-12);
  assert.deepEqual(report.errors.map((e: { path: string }) => e.path), [...generated.broken].sort());
  assert.equal(report.perClass.length, 4);
  // a random head that always says the same class would make every metric trivial
  assert.ok(new Set(records.filter((x) => x.top).map((x) => x.top![0])).size > 1, 'predictions vary');

  const matrix = readFileSync(confusion, 'utf8').trim().split('\n').map((l) => l.split(','));
  assert.deepEqual(matrix[0], ['true\\predicted', ...CLASSES]);
  let diagonal = 0;
  let total = 0;
  for (let t = 0; t < 4; t++) {
    for (let p = 0; p < 4; p++) {
      total += Number(matrix[t + 1][p + 1]);
      if (t === p) diagonal += Number(matrix[t + 1][p + 1]);
    }
  }
  assert.equal(total, 16);
  assert.equal(diagonal / total, expected.top1);
});

test('the text report names the metrics, the unreadable files and each class', () => {
  const r = cli(['score', generated.root, '--labels', generated.labelsFile, ...MODEL, '--limit', '6']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^top-1 {8}\d+\.\d\d% \(\d+\/5\)$/m);
  assert.match(r.stdout, /unreadable images \(1\):\n {2}astronaut\/empty.jpg: expected an image \(JPEG, PNG, WebP, BMP, GIF or TIFF\) but the file is empty/);
  assert.match(r.stdout, /per-class accuracy:/);
  assert.match(r.stdout, /images\/s/);
});

/** 5 copies of every file of the generated folder (100 files): a run long enough to interrupt */
function makeLargerFolder(): { root: string; reference: Rec[] } {
  const root = join(work, 'larger');
  for (const path of [...generated.truth.keys(), ...generated.broken]) {
    const [cls, file] = path.split('/');
    mkdirSync(join(root, cls), { recursive: true });
    for (let k = 0; k < 5; k++) linkSync(join(generated.root, path), join(root, cls, `copy${k}-${file}`));
  }
  const out = join(work, 'larger-full.jsonl');
  const r = cli(['score', root, '--labels', generated.labelsFile, ...MODEL, '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  return { root, reference: readJsonl(out).records };
}

let larger: { root: string; reference: Rec[] };

/** Starts a run and sends `signal` once `lines` lines are in the output file (or the run ended first) */
async function interrupt(args: string[], out: string, lines: number, signal: NodeJS.Signals): Promise<{ code: number | null; stderr: string; finished: boolean }> {
  const child = spawn(process.execPath, runnerArgs(args), { stdio: ['ignore', 'ignore', 'pipe'], env: cleanEnv() });
  let stderr = '';
  child.stderr!.on('data', (d) => { stderr += d; });
  let code: number | null | undefined;
  const exited = new Promise<void>((resolve) => child.on('exit', (c) => { code = c; resolve(); }));
  while (code === undefined) {
    if (existsSync(out) && readFileSync(out, 'utf8').split('\n').length > lines) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  const finished = code !== undefined;
  child.kill(signal);
  await exited;
  return { code: code ?? null, stderr, finished };
}

test('killed with SIGKILL mid-run and resumed: nothing twice, nothing lost, the same metrics', async (t) => {
  larger = makeLargerFolder();
  const out = join(work, 'killed.jsonl');
  const args = ['score', larger.root, '--labels', generated.labelsFile, '--weights', TINY, '--workers', '1', '--batch', '1', '--out', out, '--json'];
  const run = await interrupt(args, out, 5, 'SIGKILL');
  const partial = readJsonl(out).records;
  assert.ok(partial.length >= 4, `${partial.length} records before the kill`);
  if (!run.finished) assert.ok(partial.length < 100, 'the kill came before the end');
  t.diagnostic(run.finished ? 'the run ended before the kill' : `killed after ${partial.length} of 100 records`);
  // what a kill in the middle of a write leaves: a last line without its newline
  appendFileSync(out, '{"path":"rocket/copy4-rocket-who');

  const r = cli([...args, '--resume']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /dropped a torn last line/);
  const resumed = readJsonl(out);
  const paths = resumed.records.map((x) => x.path);
  assert.equal(new Set(paths).size, paths.length, 'no image twice');
  assert.deepEqual([...paths].sort(), larger.reference.map((x) => x.path));
  const report = JSON.parse(r.stdout);
  const expected = independentMetrics(larger.reference, 4);
  assert.equal(report.top1, expected.top1);
  assert.equal(report.top5, expected.top5);
  assert.ok(Math.abs(report.meanPerClassTop1 - expected.meanPerClassTop1) < 1e-12);
  assert.equal(report.unreadable, 20);
  // the same predictions, whatever the batch
  const byPath = new Map(larger.reference.map((x) => [x.path, x]));
  for (const rec of resumed.records) assert.deepEqual(rec.top, byPath.get(rec.path)!.top, rec.path);

  // resuming a finished run scores nothing and reports the same
  const again = cli([...args, '--resume']);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(JSON.parse(again.stdout).top1, expected.top1);
  assert.equal(readJsonl(out).records.length, 100);
});

test('SIGINT stops after the batch in flight, exits 130, and --resume finishes the run', async (t) => {
  const out = join(work, 'sigint.csv');
  const args = ['score', larger.root, '--labels', generated.labelsFile, '--weights', TINY, '--workers', '1', '--batch', '2', '--out', out];
  const run = await interrupt(args, out, 4, 'SIGINT');
  if (!run.finished) {
    assert.equal(run.code, 130, run.stderr);
    assert.match(run.stderr, /interrupted after \d+ of 100 images; the predictions are in .*sigint.csv, continue with --resume/);
  }
  t.diagnostic(run.finished ? 'the run ended before SIGINT' : run.stderr.trim());
  const r = cli([...args, '--resume', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const lines = readFileSync(out, 'utf8').trim().split('\n');
  // a plain CSV, its header beside it
  assert.equal(lines[0], 'path,label,top1,top2,top3,top4,top5,prob1,prob2,prob3,prob4,prob5,error');
  assert.equal(JSON.parse(readFileSync(`${out}.meta.json`, 'utf8')).alexnetCliScore, 2);
  const paths = lines.slice(1).map((l) => l.split(',')[0]);
  assert.equal(new Set(paths).size, 100);
  assert.equal(paths.length, 100);
  assert.equal(JSON.parse(r.stdout).top1, independentMetrics(larger.reference, 4).top1);
});

test('--resume refuses an output written by another configuration; an existing output needs --resume', () => {
  const out = join(work, 'full.jsonl');
  const otherWeights = join(work, 'other', 'tiny-other.safetensors');
  mkdirSync(dirname(otherWeights), { recursive: true });
  writeTinyWeights(otherWeights, 4, 8);
  const other = cli(['score', generated.root, '--labels', generated.labelsFile, '--weights', otherWeights, '--out', out, '--resume']);
  assert.equal(other.status, 2);
  assert.match(other.stderr, /full.jsonl: expected the output of the same run to resume but it was written with weights .*tiny-4.safetensors \(SHA-256 [0-9a-f]{12}\) where this run has .*tiny-other.safetensors \(SHA-256 [0-9a-f]{12}\)/);
  const again = cli(['score', generated.root, '--labels', generated.labelsFile, ...MODEL, '--out', out]);
  assert.equal(again.status, 2);
  assert.match(again.stderr, /full.jsonl: expected a new output file but it exists; pass --force to overwrite it, --resume to continue that run, or remove the file/);
});

test('three shards merged equal the single run; overlaps and mixed configurations are refused', () => {
  const full = JSON.parse(cli(['merge', join(work, 'full.jsonl'), '--json']).stdout);
  const shardOut = (i: number) => join(work, `shard-${i}.jsonl`);
  const sizes: number[] = [];
  for (let i = 0; i < 3; i++) {
    const r = cli(['score', generated.root, '--labels', generated.labelsFile, ...MODEL, '--shard', `${i}/3`, '--out', shardOut(i), '--json']);
    assert.equal(r.status, 0, r.stderr);
    sizes.push(readJsonl(shardOut(i)).records.length);
  }
  assert.deepEqual(sizes, [7, 7, 6]);
  const merged = cli(['merge', shardOut(0), shardOut(1), shardOut(2), '--json']);
  assert.equal(merged.status, 0, merged.stderr);
  const m = JSON.parse(merged.stdout);
  for (const key of ['top1', 'top5', 'meanPerClassTop1', 'scored', 'unreadable', 'perClass', 'errors']) assert.deepEqual(m[key], full[key], key);
  assert.deepEqual(m.shards.map((s: { index: number }) => s.index), [0, 1, 2]);

  const partial = cli(['merge', shardOut(0), shardOut(2)]);
  assert.equal(partial.status, 0);
  assert.match(partial.stderr, /shard 1\/3 missing\n.*the metrics cover 13 of 20 images \(7 missing\)/);

  const overlap = cli(['merge', shardOut(0), join(work, 'full.jsonl')]);
  assert.equal(overlap.status, 1);
  assert.match(overlap.stderr, /full.jsonl: expected a shard of 3 \(as .*shard-0.jsonl\) but found shard 0\/1/);
  const twice = cli(['merge', shardOut(1), shardOut(1)]);
  assert.equal(twice.status, 1);
  assert.match(twice.stderr, /shard-1.jsonl: expected distinct shards but it holds shard 1\/3, as .*shard-1.jsonl does/);
});

test('merge --out writes the predictions of one unsharded run, line for line; --complete refuses what is missing', () => {
  const whole = join(work, 'whole.jsonl');
  const r = cli(['score', generated.root, '--labels', generated.labelsFile, ...MODEL, '--out', whole, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const shardOut = (i: number) => join(work, `shard-${i}.jsonl`);
  const mergedFile = join(work, 'merged.jsonl');
  // the shards in another order than their indices
  const merged = cli(['merge', shardOut(2), shardOut(0), shardOut(1), '--out', mergedFile, '--complete', '--json']);
  assert.equal(merged.status, 0, merged.stderr);
  assert.equal(readFileSync(mergedFile, 'utf8'), readFileSync(whole, 'utf8'));
  const report = JSON.parse(merged.stdout);
  assert.deepEqual([report.missingShards, report.incompleteShards, report.missingImages], [[], [], 0]);
  for (const key of ['top1', 'top5', 'meanPerClassTop1', 'perClass', 'errors']) assert.deepEqual(report[key], JSON.parse(r.stdout)[key], key);

  // a shard cut short (a task killed before it ended) and one missing
  const cut = join(work, 'shard-0-cut.jsonl');
  writeFileSync(cut, readFileSync(shardOut(0), 'utf8').split('\n').slice(0, 4).join('\n') + '\n');
  const partial = cli(['merge', cut, shardOut(2), '--json']);
  assert.equal(partial.status, 0, partial.stderr);
  const p = JSON.parse(partial.stdout);
  assert.deepEqual(p.missingShards, [1]);
  assert.deepEqual(p.incompleteShards, [{ index: 0, path: cut, images: 3, expected: 7 }]);
  assert.equal(p.missingImages, 11);
  const strict = cli(['merge', cut, shardOut(2), '--complete']);
  assert.equal(strict.status, 1);
  assert.match(strict.stderr, /Expected every shard complete \(--complete\) but found .*shard-0-cut.jsonl holds 3 of the 7 images of shard 0\/3 \(run it again with --resume\); shard 1\/3 missing; the metrics cover 9 of 20 images \(11 missing\); submit the array again/);

  // the same image in two outputs: every one named
  const doubled = join(work, 'shard-1-doubled.jsonl');
  const lines0 = readFileSync(shardOut(0), 'utf8').split('\n');
  writeFileSync(doubled, readFileSync(shardOut(1), 'utf8') + lines0[1] + '\n' + lines0[2] + '\n');
  const twice = cli(['merge', shardOut(0), doubled, shardOut(2)]);
  assert.equal(twice.status, 1);
  const first = JSON.parse(lines0[1]).path;
  assert.match(twice.stderr, new RegExp(`shard-1-doubled.jsonl: expected each image in one output only but found 2 images twice: ${first} \\(also in .*shard-0.jsonl\\), `));
});

test('CSV outputs are plain tables (Python csv.DictReader reads them), the header beside them; shards merge, --force starts over', () => {
  const whole = join(work, 'whole.csv');
  const r = cli(['score', generated.root, '--labels', generated.labelsFile, ...MODEL, '--out', whole, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const python = spawnSync('/usr/bin/python3', ['-c', [
    'import csv, json, sys',
    'rows = list(csv.DictReader(open(sys.argv[1], newline="")))',
    'print(json.dumps([len(rows), list(rows[0].keys()), sorted({r["label"] for r in rows})]))',
  ].join('\n'), whole], { encoding: 'utf8' });
  assert.equal(python.status, 0, python.stderr);
  const [rows, columns, labels] = JSON.parse(python.stdout);
  assert.equal(rows, 20);
  assert.deepEqual(columns, ['path', 'label', 'top1', 'top2', 'top3', 'top4', 'top5', 'prob1', 'prob2', 'prob3', 'prob4', 'prob5', 'error']);
  assert.deepEqual(labels, ['0', '1', '2', '3']);
  assert.equal(JSON.parse(readFileSync(`${whole}.meta.json`, 'utf8')).count, 20);
  // shards in CSV merge to the same file and metadata as the unsharded run
  const shard = (i: number) => join(work, `csv-shard-${i}.csv`);
  for (let i = 0; i < 2; i++) assert.equal(cli(['score', generated.root, '--labels', generated.labelsFile, ...MODEL, '--shard', `${i}/2`, '--out', shard(i)]).status, 0);
  const mergedFile = join(work, 'merged.csv');
  const merged = cli(['merge', shard(1), shard(0), '--out', mergedFile, '--complete', '--json']);
  assert.equal(merged.status, 0, merged.stderr);
  assert.equal(readFileSync(mergedFile, 'utf8'), readFileSync(whole, 'utf8'));
  assert.equal(readFileSync(`${mergedFile}.meta.json`, 'utf8'), readFileSync(`${whole}.meta.json`, 'utf8'));
  assert.deepEqual(JSON.parse(merged.stdout).top1, JSON.parse(r.stdout).top1);
  // an existing output: --force starts over (the one overwrite rule), --resume continues
  const again = cli(['score', generated.root, '--labels', generated.labelsFile, ...MODEL, '--out', whole, '--force', '--json']);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(readFileSync(whole, 'utf8').trim().split('\n').length, 21);
  const both = cli(['score', generated.root, '--labels', generated.labelsFile, ...MODEL, '--out', whole, '--force', '--resume']);
  assert.equal(both.status, 2);
  assert.match(both.stderr, /Expected --force \(start over\) or --resume \(continue\) but received both/);
});

test('score says what it loads before its progress bar', () => {
  const r = cli(['score', generated.root, '--labels', generated.labelsFile, ...MODEL, '--progress']);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stderr.split(/[\r\n]/).filter((l) => l !== '');
  assert.match(lines[0], new RegExp(`^alexnet-cli: loading the weights .*tiny-4\\.safetensors \\(\\d+(\\.\\d)? [kM]?B\\)$`));
  assert.equal(lines[1], `alexnet-cli: reading the dataset ${generated.root}`);
  const quiet = cli(['score', generated.root, '--labels', generated.labelsFile, ...MODEL, '--json']);
  assert.doesNotMatch(quiet.stderr, /loading the weights/);
});

test('merge and --resume refuse another dataset of the same size, and outputs of an older format', () => {
  // the same files, one of them under another class: same size, other labels
  const other = join(work, 'folder-relabelled');
  for (const cls of CLASSES) mkdirSync(join(other, cls), { recursive: true });
  for (const path of [...generated.truth.keys(), ...generated.broken]) {
    const [cls, file] = path.split('/');
    const to = path === 'cat/cat-whole.jpg' ? join(other, 'coffee', 'cat-whole.jpg') : join(other, cls, file);
    copyFileSync(join(generated.root, path), to);
  }
  const out = join(work, 'relabelled-shard-1.jsonl');
  const r = cli(['score', other, '--labels', generated.labelsFile, ...MODEL, '--shard', '1/3', '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  const merged = cli(['merge', join(work, 'shard-0.jsonl'), out]);
  assert.equal(merged.status, 1);
  assert.match(merged.stderr, /relabelled-shard-1.jsonl: expected the same configuration as .*shard-0.jsonl but found dataset .*folder-relabelled \(20 images, listing SHA-256 [0-9a-f]{12}\) where .*shard-0.jsonl has .*folder \(20 images, listing SHA-256 [0-9a-f]{12}\)/);
  const resumed = cli(['score', generated.root, '--labels', generated.labelsFile, ...MODEL, '--shard', '1/3', '--out', out, '--resume']);
  assert.equal(resumed.status, 2);
  assert.match(resumed.stderr, /relabelled-shard-1.jsonl: expected the output of the same run to resume but it was written with dataset .*folder-relabelled/);

  const v1 = join(work, 'version-1.jsonl');
  const [header, ...rest] = readFileSync(join(work, 'shard-0.jsonl'), 'utf8').split('\n');
  writeFileSync(v1, [JSON.stringify({ ...JSON.parse(header), alexnetCliScore: 1 }), ...rest].join('\n'));
  const old = cli(['merge', v1]);
  assert.equal(old.status, 1);
  assert.match(old.stderr, /version-1.jsonl: expected an alexnet-cli score output \(header line version 2\) but found version 1 \(another alexnet-cli release; score again, or merge with that release\) on line 1/);
});

test('the shard from the scheduler: Slurm array, srun step, Kubernetes Indexed Job; --shard wins', () => {
  const slurm = { SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_COUNT: '3', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_MAX: '9', SLURM_ARRAY_TASK_STEP: '4' };
  const fromSlurm = cli(['score', generated.root, '--labels', generated.labelsFile, ...MODEL, '--out', join(work, 'env-shard-{shard}.jsonl'), '--json'], slurm);
  assert.equal(fromSlurm.status, 0, fromSlurm.stderr);
  const report = JSON.parse(fromSlurm.stdout);
  assert.deepEqual(report.shards, [{ index: 1, count: 3 }]); // --array=1-9:4: task 5 is the second
  assert.equal(report.shardFrom.source, 'slurm-array');
  assert.deepEqual(report.shardFrom.variables, slurm);
  assert.equal(report.output, join(work, 'env-shard-1.jsonl'));
  // the same images as --shard 1/3
  assert.deepEqual(readJsonl(join(work, 'env-shard-1.jsonl')).records.map((x) => x.path), readJsonl(join(work, 'shard-1.jsonl')).records.map((x) => x.path));

  const text = cli(['score', generated.root, '--labels', generated.labelsFile, ...MODEL, '--limit', '4'], { JOB_COMPLETION_INDEX: '3', ALEXNET_CLI_SHARD_COUNT: '4' });
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /shard 3\/4: 1 images\nshard {8}from the Kubernetes Indexed Job \(JOB_COMPLETION_INDEX=3 ALEXNET_CLI_SHARD_COUNT=4\)\n/);

  const option = cli(['score', generated.root, '--labels', generated.labelsFile, ...MODEL, '--shard', '2/3', '--json'], slurm);
  assert.equal(option.status, 0, option.stderr);
  assert.deepEqual(JSON.parse(option.stdout).shards, [{ index: 2, count: 3 }]);
  assert.equal(JSON.parse(option.stdout).shardFrom.source, 'option');

  const noCount = cli(['score', generated.root, ...MODEL], { JOB_COMPLETION_INDEX: '1' });
  assert.equal(noCount.status, 2);
  assert.match(noCount.stderr, /Expected ALEXNET_CLI_SHARD_COUNT \(the Job's spec.completions\) next to JOB_COMPLETION_INDEX=1 but received nothing; set it in the manifest's env, or pass --shard I\/N/);
});

test('chooseShard reads the variables of each scheduler', () => {
  assert.deepEqual(chooseShard(undefined, {}), { shard: { index: 0, count: 1 }, source: 'default', variables: {} });
  assert.deepEqual(chooseShard('1/2', { SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_COUNT: '4' }).shard, { index: 1, count: 2 });
  const array = { SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_COUNT: '4', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '3', SLURM_ARRAY_TASK_STEP: '1' };
  assert.deepEqual(chooseShard(undefined, array).shard, { index: 2, count: 4 });
  // the batch script of a job with --ntasks=2: SLURM_PROCID/SLURM_NTASKS but no step
  assert.deepEqual(chooseShard(undefined, { ...array, SLURM_PROCID: '0', SLURM_NTASKS: '2' }).shard, { index: 2, count: 4 });
  assert.deepEqual(chooseShard(undefined, { SLURM_PROCID: '0', SLURM_NTASKS: '2', SLURM_JOB_ID: '7' }).source, 'default');
  // srun -n 3: step 0, tasks 0..2; inside an array task: array position * 3 + task
  assert.deepEqual(chooseShard(undefined, { SLURM_STEP_ID: '0', SLURM_PROCID: '1', SLURM_NTASKS: '3' }), {
    shard: { index: 1, count: 3 }, source: 'slurm-step', variables: { SLURM_PROCID: '1', SLURM_NTASKS: '3' },
  });
  const both = chooseShard(undefined, { ...array, SLURM_STEP_ID: '0', SLURM_PROCID: '1', SLURM_NTASKS: '3' });
  assert.deepEqual([both.shard, both.source], [{ index: 7, count: 12 }, 'slurm-array-step']);
  // a task list that is no range, unless the shard count is given
  const list = { SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_COUNT: '3', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_MAX: '9', SLURM_ARRAY_TASK_STEP: '1' };
  assert.throws(() => chooseShard(undefined, list), {
    code: 'ERR_USAGE',
    message: 'Expected the Slurm array\'s task ids to be a range (--array=A-B or A-B:STEP) but found SLURM_ARRAY_TASK_ID=4 SLURM_ARRAY_TASK_COUNT=3 SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_MAX=9 SLURM_ARRAY_TASK_STEP=1; pass --shard I/N, or set ALEXNET_CLI_SHARD_COUNT=N to use the task id as the shard index',
  });
  assert.deepEqual(chooseShard(undefined, { ...list, ALEXNET_CLI_SHARD_COUNT: '8' }).shard, { index: 4, count: 8 });
  assert.throws(() => chooseShard(undefined, { ...list, ALEXNET_CLI_SHARD_COUNT: '4' }), /Expected SLURM_ARRAY_TASK_ID below ALEXNET_CLI_SHARD_COUNT=4/);
  assert.deepEqual(chooseShard(undefined, { JOB_COMPLETION_INDEX: '0', ALEXNET_CLI_SHARD_COUNT: '8' }).shard, { index: 0, count: 8 });
  assert.throws(() => chooseShard(undefined, { JOB_COMPLETION_INDEX: 'x', ALEXNET_CLI_SHARD_COUNT: '8' }), {
    message: 'Expected an integer >= 0 in the environment variable JOB_COMPLETION_INDEX but received "x"',
  });
  assert.equal(expandOutPath('r/shard-{shard}-of-{shards}.jsonl', { index: 3, count: 8 }), 'r/shard-3-of-8.jsonl');
});

test('a resumed run whose output is complete exits without loading the network', () => {
  const out = join(work, 'shard-2.jsonl');
  const before = readFileSync(out, 'utf8');
  const r = cli(['score', generated.root, '--labels', generated.labelsFile, ...MODEL, '--shard', '2/3', '--out', out, '--resume', '--json']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /shard-2.jsonl already holds all 6 images of shard 2\/3; nothing to score/);
  const report = JSON.parse(r.stdout);
  assert.equal(report.resumed, 6);
  assert.equal(report.timing, undefined, 'nothing ran');
  assert.equal(readFileSync(out, 'utf8'), before);
  // the metrics from the file are those the run reported
  const merged = JSON.parse(cli(['merge', out, '--json']).stdout);
  for (const key of ['top1', 'top5', 'scored', 'unreadable', 'perClass']) assert.deepEqual(report[key], merged[key], key);
  // other weights are not "complete": the ordinary path refuses them
  const other = cli(['score', generated.root, '--labels', generated.labelsFile, '--weights', join(work, 'other', 'tiny-other.safetensors'), '--shard', '2/3', '--out', out, '--resume']);
  assert.equal(other.status, 2);
  assert.doesNotMatch(other.stderr, /nothing to score/);
});

test('images are sorted by their UTF-8 bytes, whatever the UTF-16 order', () => {
  const names = ['a', 'b', 'a\u{1F600}', 'a\uFF01', 'a\uE000', 'a\uD7FF', 'ab', 'A', '\u00e9', 'e\u0301', ''];
  const byBytes = [...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
  assert.deepEqual([...names].sort(compareBytes), byBytes);
  assert.notDeepEqual([...names].sort(), byBytes); // JavaScript's default order differs here
});

test('flat folders with Kaggle LOC_val_solution.csv, BVLC val.txt and path,label CSV give the same labels', () => {
  const flat = join(work, 'flat');
  mkdirSync(flat, { recursive: true });
  const imagenet = readLabels();
  // classes 0..3 of the ImageNet list stand for the four photographs
  const rows: { id: string; cls: number }[] = [];
  for (const [path, cls] of generated.truth) {
    const id = `ILSVRC2012_val_${String(rows.length + 1).padStart(8, '0')}`;
    if (rows.length % 2 === 0) { // half of them are enough
      copyFileSync(join(generated.root, path), join(flat, `${id}.JPEG`));
      rows.push({ id, cls });
    } else rows.push({ id: `${id}-skip`, cls });
  }
  const kept = rows.filter((r) => !r.id.endsWith('-skip'));
  const kaggle = join(work, 'LOC_val_solution.csv');
  writeFileSync(kaggle, `ImageId,PredictionString\n${kept.map((r) => `${r.id},${imagenet[r.cls].wnid} 1 2 3 4 ${imagenet[r.cls].wnid} 5 6 7 8`).join('\n')}\n`);
  const valTxt = join(work, 'val.txt');
  writeFileSync(valTxt, kept.map((r) => `${r.id}.JPEG ${r.cls}`).join('\n'));
  const csv = join(work, 'truth.csv');
  writeFileSync(csv, `path,label\n${kept.map((r, i) => `${r.id}.JPEG,${i % 2 ? imagenet[r.cls].label : imagenet[r.cls].wnid}`).join('\n')}\n`);

  const results = [kaggle, valTxt, csv].map((gt, i) => {
    const out = join(work, `flat-${i}.jsonl`);
    const r = cli(['score', flat, '--ground-truth', gt, '--weights', TINY_1000, '--out', out, '--json']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    const { header, records } = readJsonl(out);
    assert.equal(header.numClasses, 1000);
    return { report: JSON.parse(r.stdout), records };
  });
  const labels = results.map((x) => x.records.map((r) => [r.path, r.label]));
  assert.deepEqual(labels[0], kept.map((r) => [`${r.id}.JPEG`, r.cls]));
  assert.deepEqual(labels[1], labels[0]);
  assert.deepEqual(labels[2], labels[0]);
  assert.equal(results[1].report.top1, results[0].report.top1);
  assert.equal(results[0].report.top1, independentMetrics(results[0].records, 1000).top1);
  assert.equal(results[0].report.layout, 'kaggle-loc-csv');
  assert.equal(results[1].report.layout, 'bvlc-val-txt');
  assert.equal(results[2].report.layout, 'csv');

  // labels and images that do not match up: said, counted, never silently dropped
  writeFileSync(valTxt, `${kept.map((r) => `${r.id}.JPEG ${r.cls}`).join('\n')}\nmissing.JPEG 3\n`);
  copyFileSync(join(IMAGES, 'coffee-baseline.jpg'), join(flat, 'unlisted.jpg'));
  const mismatch = cli(['score', flat, '--ground-truth', valTxt, '--weights', TINY_1000, '--json']);
  assert.equal(mismatch.status, 0, mismatch.stderr);
  assert.match(mismatch.stderr, /val.txt lists 9 images, .*flat holds 9 image files/);
  assert.match(mismatch.stderr, /1 listed image is missing \(scored as unreadable\): missing.JPEG/);
  assert.match(mismatch.stderr, /1 image file is not in .*val.txt \(not scored\): unlisted.jpg/);
  const report = JSON.parse(mismatch.stdout);
  assert.deepEqual(report.errors, [{ path: 'missing.JPEG', error: 'expected a readable image file but found no such file' }]);

  writeFileSync(csv, 'a.JPEG,not-a-class\nb.JPEG,n99999999\n');
  const unknown = cli(['score', flat, '--ground-truth', csv, '--weights', TINY_1000]);
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /Expected the labels in .*truth.csv to name classes of the 1000-class head \(a WNID, a name from the ImageNet class list, or an index 0-999\) but found 2 unknown: not-a-class, n99999999/);
});

test('class folders named by index, and an unknown folder name', () => {
  const byIndex = join(work, 'by-index');
  for (const [path, cls] of [...generated.truth].filter((_, i) => i % 4 === 0)) {
    mkdirSync(join(byIndex, String(cls)), { recursive: true });
    copyFileSync(join(generated.root, path), join(byIndex, String(cls), path.split('/')[1]));
  }
  const r = cli(['score', byIndex, '--labels', generated.labelsFile, ...MODEL, '--json']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).scored, 4);
  mkdirSync(join(byIndex, 'zebra'));
  const bad = cli(['score', byIndex, '--labels', generated.labelsFile, ...MODEL]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /Expected the folders of .*by-index to name classes of the 4-class head \(a WNID, a name from .*labels.txt, or an index 0-3\) but found 1 unknown: zebra/);
});

test('bad usage: --shard, --out extension', () => {
  const shard = cli(['score', generated.root, ...MODEL, '--shard', '3/3']);
  assert.equal(shard.status, 2);
  assert.match(shard.stderr, /Expected I\/N with 0 <= I < N for --shard but received 3\/3/);
  const out = cli(['score', generated.root, ...MODEL, '--out', join(work, 'x.txt')]);
  assert.equal(out.status, 2);
  assert.match(out.stderr, /Expected a .jsonl or .csv file for --out but received .*x.txt/);
});
