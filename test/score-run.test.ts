// lib/score/run.ts, complete.ts, scheduler.ts and the output lock, in process: a 4-class stand-in
// classifier whose prediction is read off the image's red value, on a dataset of solid-colour 2x2 PNGs
// written here, so every record, metric, progress report and message below is worked out by hand.
// Covers the batches (a batch with an unreadable image packs its rows), --resume after an
// interrupted run, refusals of a foreign output, --limit and --shard, the confusion file, and
// whether a finished output counts as complete for every field of its header.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PNG } from 'pngjs';
import type { Classifier } from '../lib/classifier.js';
import { defaultLabels } from '../lib/labels.js';
import type { Preprocess } from '../lib/model/layers.js';
import { ClassResolver, readDataset, type Dataset } from '../lib/score/dataset.js';
import { findCompleteOutput, type CompleteCheck } from '../lib/score/complete.js';
import { formatHeader, formatRecord, headerLabels, OutputLock, readOutput, type ScoreHeader, type ScoreRecord } from '../lib/score/records.js';
import { buildHeader, COMPARED_FIELDS, headerMismatch, runScore, weightsDigest, weightsIdentity, type ScoreOptions, type ScoreProgress } from '../lib/score/run.js';
import { chooseShard, describeShardChoice, expandOutPath } from '../lib/score/scheduler.js';

const scratch = mkdtempSync(join(tmpdir(), 'alexnet-score-run-'));

// 2x2 in, no crop, 0..255, no normalisation: the tensor's first value is the image's red value
const P: Preprocess = { resizeMode: 'exact', resize: [2, 2], crop: null, range: 255, mean: [0, 0, 0], std: [1, 1, 1], bgr: false };

function png(path: string, red: number): void {
  const image = new PNG({ width: 2, height: 2 });
  for (let i = 0; i < 4; i++) image.data.set([red, 7, 9, 255], i * 4);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, PNG.sync.write(image));
}

// the stand-in's output for red value r: class (r / 10) % 4 at 0.5, the next class 0.25, then 0.15, 0.1
const PROBS = [0.5, 0.25, 0.15, 0.1];
function row(red: number): number[] {
  const best = Math.round(red / 10) % 4;
  const out = [0, 0, 0, 0];
  PROBS.forEach((p, k) => { out[(best + k) % 4] = p; });
  return out;
}

function standIn(): { classifier: Classifier; calls: number[][] } {
  const calls: number[][] = [];
  const classifier = {
    arch: { name: 'stand-in', numClasses: 4 },
    preprocess: P,
    labels: defaultLabels(4),
    async probabilities(data: Float32Array, shape: number[]) {
      calls.push([...shape]);
      const per = shape[1] * shape[2] * shape[3];
      return Float32Array.from({ length: shape[0] * 4 }, (_, i) => row(data[Math.floor(i / 4) * per])[i % 4]);
    },
  } as unknown as Classifier;
  return { classifier, calls };
}

// folders named by class index (the default labels resolve an index): images in UTF-8 byte order
const ROOT = join(scratch, 'set');
const REDS: Record<string, number> = { '0/a.png': 0, '0/b.png': 10, '1/a.png': 10, '2/a.png': 30, '3/a.png': 30, '3/b.png': 20 };
for (const [path, red] of Object.entries(REDS)) png(join(ROOT, path), red);
writeFileSync(join(ROOT, '1', 'bad.png'), 'not a png');
const dataset = (): Dataset => readDataset(ROOT, undefined, new ClassResolver(defaultLabels(4)), 'the default labels');

const f = Math.fround;
const prob = (red: number, top: number) => row(red).map((p, k) => [p, k]).sort((a, b) => b[0] - a[0]).slice(0, top);
const rec = (path: string, label: number, top = 4): ScoreRecord => (REDS[path] === undefined
  ? { path, label, error: 'expected an image (JPEG, PNG, WebP, BMP, GIF or TIFF) but found bytes 6e 6f 74 20' }
  : { path, label, top: prob(REDS[path], top).map(([, k]) => k), prob: prob(REDS[path], top).map(([p]) => f(p)) });
// label: the folder; 0/b -> 1 (miss, rank 4), 2/a -> 3 (miss, rank 4), 3/b -> 2 (miss, rank 2)
const EXPECTED = ['0/a.png', '0/b.png', '1/a.png', '1/bad.png', '2/a.png', '3/a.png', '3/b.png'].map((p) => rec(p, Number(p[0])));

function options(extra: Partial<ScoreOptions> = {}): ScoreOptions {
  return { batch: 2, workers: 1, top: 4, shard: { index: 0, count: 1 }, resume: false, exifOrientation: true, weights: 'random:7', ...extra };
}

test('runScore: batches, records, metrics, progress and the confusion file, by hand', async () => {
  const { classifier, calls } = standIn();
  const out = join(scratch, 'whole.jsonl');
  const confusion = join(scratch, 'confusion.csv');
  const progress: ScoreProgress[] = [];
  const r = await runScore(dataset(), classifier, options({ out, confusion, onProgress: (p) => progress.push(p) }));
  // batches of 2: [0/a 0/b] [1/a 1/bad] [2/a 3/a] [3/b]; the unreadable image leaves its batch one row short
  assert.deepEqual(calls, [[2, 3, 2, 2], [1, 3, 2, 2], [2, 3, 2, 2], [1, 3, 2, 2]]);
  const written = readOutput(out);
  assert.deepEqual(written.records, EXPECTED.map((e) => (e.prob ? { ...e, prob: e.prob.map((p) => Number(p.toPrecision(7))) } : e)));
  assert.equal(written.header!.count, 7);
  assert.deepEqual([r.resumed, r.droppedTornLine, r.interrupted, r.remaining], [0, false, false, 0]);
  const m = r.metrics;
  assert.deepEqual([m.scored, m.unreadable, m.correctTop1, m.top1, m.correctTop5, m.top5], [6, 1, 3, 3 / 6, 6, 1]);
  // per class: 1/2, 1, 0, 1/2 over 4 classes present
  assert.equal(m.meanPerClassTop1, (0.5 + 1 + 0 + 0.5) / 4);
  assert.deepEqual(m.errors, [{ path: '1/bad.png', error: EXPECTED[3].error }]);
  assert.deepEqual(progress.map((p) => [p.done, p.total, p.scored, p.correctTop1]), [[2, 7, 2, 1], [4, 7, 3, 2], [6, 7, 5, 3], [7, 7, 6, 3]]);
  assert.equal(progress[3].etaSeconds, 0);
  assert.ok(progress.every((p) => p.imagesPerSecond > 0 && Number.isFinite(p.etaSeconds)), JSON.stringify(progress));
  assert.deepEqual([r.timing.images, r.timing.batch, r.timing.workers], [7, 2, 1]);
  assert.ok(r.timing.wallMs > 0 && r.timing.imagesPerSecond > 0 && r.timing.inferenceMs >= 0 && r.timing.writeMs > 0, JSON.stringify(r.timing));
  assert.equal(readFileSync(confusion, 'utf8'), [
    'true\\predicted,class 0,class 1,class 2,class 3',
    'class 0,1,1,0,0',
    'class 1,0,1,0,0',
    'class 2,0,0,0,1',
    'class 3,0,0,1,1',
    '',
  ].join('\n'));
  assert.equal(existsSync(`${out}.lock`), false, 'the lock is released');
});

test('runScore: the header names the run; --limit and --shard pick position % N of the first images', async () => {
  const weights = join(scratch, 'weights.bin');
  writeFileSync(weights, 'some weights');
  const sha = createHash('sha256').update('some weights').digest('hex');
  assert.equal(await weightsDigest(weights), sha);
  assert.equal(await weightsDigest('random:3'), null);
  assert.equal(weightsIdentity('random:3'), 'random:3');
  assert.equal(weightsIdentity('rel/w.pth'), resolve('rel/w.pth'));
  const { classifier, calls } = standIn();
  const ds = dataset();
  const opts = options({ weights, limit: 5, shard: { index: 1, count: 2 }, top: 2, labels: 'my-labels.txt', exifOrientation: false });
  const h = buildHeader(ds, classifier, opts, P, sha);
  const listing = '0/a.png\t0\n0/b.png\t0\n1/a.png\t1\n1/bad.png\t1\n2/a.png\t2\n';
  assert.deepEqual(h, {
    alexnetCliScore: 2, dataset: ROOT, layout: 'image-folder', groundTruth: null, datasetSize: 5,
    datasetSha256: createHash('sha256').update(listing).digest('hex'), shard: { index: 1, count: 2 }, count: 2,
    weights, weightsSha256: sha, labels: resolve('my-labels.txt'), arch: 'stand-in', numClasses: 4, top: 2, preprocess: P,
    exifOrientation: false, limit: 5,
  });
  // shard 1/2 of the first 5: 0/b and 1/bad, one batch; the digest is computed when not given
  const r = await runScore(ds, classifier, { ...opts, labels: undefined });
  assert.deepEqual(calls, [[1, 3, 2, 2]]);
  assert.deepEqual([r.header.weightsSha256, r.header.count, r.header.limit, r.metrics.scored, r.metrics.unreadable, r.metrics.top5], [sha, 2, 5, 1, 1, null]);
  assert.equal(r.metrics.correctTop1, 0);
  // a --limit above the dataset's size is the whole dataset
  assert.equal(buildHeader(ds, classifier, options({ limit: 70 }), P, null).datasetSize, 7);
  // weightsSha256 given as null is used as it is (random weights), not recomputed
  assert.equal((await runScore({ ...ds, items: ds.items.slice(0, 1) }, standIn().classifier, options({ weights, weightsSha256: null }))).header.weightsSha256, null);
});

test('runScore: interrupted after a batch, resumed from the output: nothing twice, the same metrics', async () => {
  const out = join(scratch, 'resumed.csv');
  const controller = new AbortController();
  const first = standIn();
  const r1 = await runScore(dataset(), first.classifier, options({ out, batch: 3, signal: controller.signal, onProgress: () => controller.abort() }));
  assert.deepEqual(first.calls, [[3, 3, 2, 2]]);
  assert.deepEqual([r1.interrupted, r1.remaining, r1.metrics.scored, r1.timing.images], [true, 4, 3, 3]);
  assert.equal(readOutput(out).records.length, 3);
  // an existing output needs --resume
  await assert.rejects(runScore(dataset(), standIn().classifier, options({ out })), {
    code: 'ERR_USAGE', message: `${out}: expected a new output file but it exists; pass --resume to continue that run or remove the file`,
  });
  const second = standIn();
  const progress: ScoreProgress[] = [];
  const r2 = await runScore(dataset(), second.classifier, options({ out, batch: 3, resume: true, onProgress: (p) => progress.push(p) }));
  assert.deepEqual(second.calls, [[2, 3, 2, 2], [1, 3, 2, 2]]);
  assert.deepEqual([r2.resumed, r2.interrupted, r2.remaining, r2.timing.images], [3, false, 0, 4]);
  assert.deepEqual(progress.map((p) => [p.done, p.total, p.scored, p.correctTop1]), [[6, 7, 5, 3], [7, 7, 6, 3]]);
  const whole = await runScore(dataset(), standIn().classifier, options());
  assert.deepEqual(r2.metrics, whole.metrics);
  assert.deepEqual(readOutput(out).records.map((x) => x.path), EXPECTED.map((e) => e.path));
  // an abort before the first batch: nothing runs, nothing is lost
  const aborted = new AbortController();
  aborted.abort();
  const none = standIn();
  const r3 = await runScore(dataset(), none.classifier, options({ signal: aborted.signal }));
  assert.deepEqual([none.calls.length, r3.interrupted, r3.remaining, r3.timing.images, r3.timing.imagesPerSecond], [0, true, 7, 0, 0]);
  // a complete output resumed: nothing to do, not interrupted
  const done = standIn();
  const r4 = await runScore(dataset(), done.classifier, options({ out, batch: 3, resume: true, signal: aborted.signal }));
  assert.deepEqual([done.calls.length, r4.resumed, r4.interrupted, r4.remaining], [0, 7, false, 0]);
});

function writeOutput(name: string, h: ScoreHeader, records: ScoreRecord[], tail = ''): string {
  const path = join(scratch, name);
  const format = name.endsWith('.csv') ? 'csv' : 'jsonl';
  writeFileSync(path, formatHeader(h, format) + records.map((r) => formatRecord(r, format, h.top)).join('') + tail);
  return path;
}

test('runScore: a resumed output of another run, an image twice, an image of another class are refused', async () => {
  const { classifier } = standIn();
  const h = buildHeader(dataset(), classifier, options(), P, null);
  const other = writeOutput('other-top.jsonl', { ...h, top: 2 }, []);
  await assert.rejects(runScore(dataset(), classifier, options({ out: other, resume: true })), {
    code: 'ERR_USAGE', message: `${other}: expected the output of the same run to resume but it was written with top 2 where this run has 4`,
  });
  const otherShard = writeOutput('other-shard.jsonl', { ...h, shard: { index: 0, count: 2 } }, []);
  await assert.rejects(runScore(dataset(), classifier, options({ out: otherShard, resume: true })), {
    message: `${otherShard}: expected the output of the same run to resume but it was written with shard {"index":0,"count":2} where this run has {"index":0,"count":1}`,
  });
  const twice = writeOutput('twice.jsonl', h, [EXPECTED[0], EXPECTED[1], EXPECTED[0]]);
  await assert.rejects(runScore(dataset(), classifier, options({ out: twice, resume: true })), { message: `${twice}: expected each image once but found 0/a.png twice` });
  const wrongLabel = writeOutput('wrong-label.jsonl', h, [{ ...EXPECTED[0], label: 1 }]);
  await assert.rejects(runScore(dataset(), classifier, options({ out: wrongLabel, resume: true })), {
    message: `${wrongLabel}: expected records of this shard's images but found 0/a.png (label 1), which this dataset does not hold with that label`,
  });
  const foreign = writeOutput('foreign.jsonl', h, [{ path: '9/z.png', label: 0, error: 'x' }]);
  await assert.rejects(runScore(dataset(), classifier, options({ out: foreign, resume: true })), { message: /found 9\/z.png \(label 0\), which this dataset/ });
  // a label the head does not have
  const ds = dataset();
  ds.items[2] = { path: '1/a.png', label: 4 };
  await assert.rejects(runScore(ds, classifier, options()), { code: 'ERR_INPUT', message: '1/a.png: expected a class index below 4 but found 4' });
  // a torn last line is dropped and the run goes on after the whole lines
  const torn = writeOutput('torn.jsonl', h, [EXPECTED[0]], '{"path":"0/b.png","lab');
  const r = await runScore(dataset(), standIn().classifier, options({ out: torn, resume: true }));
  assert.deepEqual([r.resumed, r.droppedTornLine, readOutput(torn).records.length, readOutput(torn).tornTail], [1, true, 7, false]);
  // an empty output file is a new run
  const empty = join(scratch, 'empty.jsonl');
  writeFileSync(empty, '');
  const e = await runScore(dataset(), standIn().classifier, options({ out: empty }));
  assert.deepEqual([e.resumed, readOutput(empty).records.length], [0, 7]);
});

test('OutputLock: a live run holds the output, a dead one on this host is taken over, another host never', async () => {
  const out = join(scratch, 'locked.jsonl');
  const lock = OutputLock.acquire(out);
  assert.equal(lock.lockPath, `${out}.lock`);
  assert.equal(readFileSync(`${out}.lock`, 'utf8'), `${process.pid} ${hostname()}\n`);
  assert.throws(() => OutputLock.acquire(out), {
    message: `${out}: expected no other run writing this output but process ${process.pid} on ${hostname()} holds ${out}.lock; wait for it, or remove the lock file if that run is gone`,
  });
  await assert.rejects(runScore(dataset(), standIn().classifier, options({ out })), { message: new RegExp(`^${out.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: expected no other run`) });
  lock.release();
  lock.release();
  assert.equal(existsSync(`${out}.lock`), false);
  // pid 2^22 + 1 is above Linux's pid_max limit: no such process
  writeFileSync(`${out}.lock`, `4194305 ${hostname()}\n`);
  const taken = OutputLock.acquire(out);
  assert.equal(readFileSync(`${out}.lock`, 'utf8'), `${process.pid} ${hostname()}\n`);
  taken.release();
  writeFileSync(`${out}.lock`, `4194305 another-host\n`);
  assert.throws(() => OutputLock.acquire(out), { message: `${out}: expected no other run writing this output but process 4194305 on another-host holds ${out}.lock; wait for it, or remove the lock file if that run is gone` });
  writeFileSync(`${out}.lock`, 'garbled');
  assert.throws(() => OutputLock.acquire(out), { message: `${out}: expected no other run writing this output but another run holds ${out}.lock; wait for it, or remove the lock file if that run is gone` });
  const nowhere = join(scratch, 'no-such-folder', 'x.jsonl');
  assert.throws(() => OutputLock.acquire(nowhere), { message: `${nowhere}.lock: cannot create the lock file of ${nowhere} (ENOENT)` });
});

test('findCompleteOutput: complete only when every fact of the header agrees and every image is there once', async () => {
  const out = join(scratch, 'complete.jsonl');
  const weights = join(scratch, 'complete-weights.bin');
  writeFileSync(weights, 'w');
  const labelsFile = join(scratch, 'labels.txt');
  writeFileSync(labelsFile, '0\n1\n2\n3\n');
  await runScore(dataset(), standIn().classifier, options({ out, weights, limit: 6, shard: { index: 1, count: 2 }, top: 3 }));
  const check: CompleteCheck = { dataset: ROOT, weights, top: 3, limit: 6, exifOrientation: true, shard: { index: 1, count: 2 }, out };
  const found = await findCompleteOutput(check);
  assert.ok(found);
  assert.deepEqual(found.records.map((x) => x.path), ['0/b.png', '1/bad.png', '3/a.png']);
  assert.equal(found.header.count, 3);
  assert.equal(found.dataset.items.length, 7);
  assert.ok(await findCompleteOutput({ ...check, arch: 'stand-in', numClasses: 4 }));
  const other = join(scratch, 'other-weights.bin');
  writeFileSync(other, 'v');
  const variants: [string, Partial<CompleteCheck>][] = [
    ['no file', { out: join(scratch, 'absent.jsonl') }], ['shard index', { shard: { index: 0, count: 2 } }], ['shard count', { shard: { index: 1, count: 3 } }],
    ['top', { top: 4 }], ['limit', { limit: 5 }], ['no limit', { limit: undefined }], ['exif', { exifOrientation: false }], ['arch', { arch: 'caffe' }],
    ['classes', { numClasses: 5 }], ['labels', { labels: labelsFile }], ['weights', { weights: other }], ['missing weights', { weights: join(scratch, 'gone.bin') }],
    ['random weights', { weights: 'random:7' }], ['dataset', { dataset: join(ROOT, '0') }], ['no dataset', { dataset: join(scratch, 'nowhere') }],
    ['ground truth', { groundTruth: labelsFile }],
  ];
  for (const [what, change] of variants) assert.equal(await findCompleteOutput({ ...check, ...change }), undefined, what);
  const h = readOutput(out).header!;
  const records = readOutput(out).records;
  const broken: [string, string][] = [
    ['short', writeOutput('c-short.jsonl', h, records.slice(0, 2))],
    ['torn', writeOutput('c-torn.jsonl', h, records, '{"pa')],
    ['doubled', writeOutput('c-doubled.jsonl', { ...h, count: 3 }, [records[0], records[0], records[2]])],
    ['relabelled', writeOutput('c-relabel.jsonl', h, [records[0], records[1], { ...records[2], label: 2 }])],
    ['another image', writeOutput('c-other.jsonl', h, [records[0], records[1], { ...records[2], path: '3/b.png' }])],
    ['another listing', writeOutput('c-listing.jsonl', { ...h, datasetSha256: 'e'.repeat(64) }, records)],
    ['another size', writeOutput('c-size.jsonl', { ...h, datasetSize: 7 }, records)],
    ['another layout', writeOutput('c-layout.jsonl', { ...h, layout: 'csv' }, records)],
    ['another labels file', writeOutput('c-labels.jsonl', { ...h, labels: labelsFile }, records)],
    ['unreadable', writeOutput('c-bad.jsonl', h, records, 'not json\n')],
    ['header only', writeOutput('c-empty.jsonl', h, [])],
    // a header whose count lies: its records are all it claims, but the shard has one more image
    ['count lies', writeOutput('c-count.jsonl', { ...h, count: 2 }, records.slice(0, 2))],
    ['empty', writeOutput('c-none.jsonl', h, []).replace('c-none', 'c-zero')],
  ];
  writeFileSync(join(scratch, 'c-zero.jsonl'), '');
  for (const [what, path] of broken) assert.equal(await findCompleteOutput({ ...check, out: path }), undefined, what);
  // the labels file named in the header and in the check agree: complete
  const withLabels = writeOutput('c-with-labels.jsonl', { ...h, labels: labelsFile }, records);
  assert.ok(await findCompleteOutput({ ...check, out: withLabels, labels: labelsFile }));
});

test('chooseShard: each scheduler, its defaults and its refusals, word for word', () => {
  assert.deepEqual(chooseShard('2/5', { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_COUNT: '2' }), { shard: { index: 2, count: 5 }, source: 'option', variables: {} });
  // only ID and COUNT: min 0, step 1
  assert.deepEqual(chooseShard(undefined, { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_COUNT: '2' }), {
    shard: { index: 1, count: 2 }, source: 'slurm-array', variables: { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_COUNT: '2' },
  });
  // --array=3-7:2 -> ids 3, 5, 7: task 7 is the third; MAX defaults to MIN + COUNT - 1 only with step 1
  assert.deepEqual(chooseShard(undefined, { SLURM_ARRAY_TASK_ID: '7', SLURM_ARRAY_TASK_COUNT: '3', SLURM_ARRAY_TASK_MIN: '3', SLURM_ARRAY_TASK_MAX: '7', SLURM_ARRAY_TASK_STEP: '2' }).shard, { index: 2, count: 3 });
  assert.deepEqual(chooseShard(undefined, { SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_COUNT: '3', SLURM_ARRAY_TASK_MIN: '2' }).shard, { index: 2, count: 3 });
  const notRange = (env: Record<string, string | undefined>) => `Expected the Slurm array's task ids to be a range (--array=A-B or A-B:STEP) but found ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')}; pass --shard I/N, or set ALEXNET_CLI_SHARD_COUNT=N to use the task id as the shard index`;
  for (const env of [
    { SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_COUNT: '3', SLURM_ARRAY_TASK_MIN: '2' }, // above max
    { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_COUNT: '3', SLURM_ARRAY_TASK_MIN: '2' }, // below min
    { SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_COUNT: '3', SLURM_ARRAY_TASK_MIN: '3', SLURM_ARRAY_TASK_MAX: '7', SLURM_ARRAY_TASK_STEP: '2' }, // off the step
    { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '3', SLURM_ARRAY_TASK_MIN: '3', SLURM_ARRAY_TASK_MAX: '8', SLURM_ARRAY_TASK_STEP: '2' }, // max off the step
    { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '2', SLURM_ARRAY_TASK_MIN: '3', SLURM_ARRAY_TASK_MAX: '7', SLURM_ARRAY_TASK_STEP: '2' }, // count off
  ]) assert.throws(() => chooseShard(undefined, env), { code: 'ERR_USAGE', message: notRange(env) }, JSON.stringify(env));
  const variable = (name: string, min: number, found: string) => ({ code: 'ERR_USAGE', message: `Expected an integer >= ${min} in the environment variable ${name} but received ${found}` });
  assert.throws(() => chooseShard(undefined, { SLURM_ARRAY_TASK_ID: '1' }), variable('SLURM_ARRAY_TASK_COUNT', 1, 'nothing (unset)'));
  assert.throws(() => chooseShard(undefined, { SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_COUNT: '0' }), variable('SLURM_ARRAY_TASK_COUNT', 1, '"0"'));
  assert.throws(() => chooseShard(undefined, { SLURM_ARRAY_TASK_ID: '-1', SLURM_ARRAY_TASK_COUNT: '2' }), variable('SLURM_ARRAY_TASK_ID', 0, '"-1"'));
  assert.throws(() => chooseShard(undefined, { SLURM_ARRAY_TASK_ID: '1.5', SLURM_ARRAY_TASK_COUNT: '2' }), variable('SLURM_ARRAY_TASK_ID', 0, '"1.5"'));
  assert.throws(() => chooseShard(undefined, { SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_COUNT: '2', SLURM_ARRAY_TASK_STEP: '0' }), variable('SLURM_ARRAY_TASK_STEP', 1, '"0"'));
  assert.throws(() => chooseShard(undefined, { SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_COUNT: '2', SLURM_ARRAY_TASK_MIN: '3', SLURM_ARRAY_TASK_MAX: '2' }), variable('SLURM_ARRAY_TASK_MAX', 3, '"2"'));
  assert.throws(() => chooseShard(undefined, { SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_COUNT: '2', SLURM_ARRAY_TASK_MIN: 'x' }), variable('SLURM_ARRAY_TASK_MIN', 0, '"x"'));
  // spaces around a number are read; the count variable makes the task id the index
  assert.deepEqual(chooseShard(undefined, { SLURM_ARRAY_TASK_ID: ' 3 ', ALEXNET_CLI_SHARD_COUNT: '4 ' }), {
    shard: { index: 3, count: 4 }, source: 'slurm-array', variables: { SLURM_ARRAY_TASK_ID: ' 3 ', ALEXNET_CLI_SHARD_COUNT: '4 ' },
  });
  assert.throws(() => chooseShard(undefined, { SLURM_ARRAY_TASK_ID: '4', ALEXNET_CLI_SHARD_COUNT: '4' }), {
    code: 'ERR_USAGE', message: 'Expected SLURM_ARRAY_TASK_ID below ALEXNET_CLI_SHARD_COUNT=4 (the task id is the shard index when it is set) but received 4',
  });
  assert.throws(() => chooseShard(undefined, { SLURM_ARRAY_TASK_ID: '0', ALEXNET_CLI_SHARD_COUNT: '0' }), variable('ALEXNET_CLI_SHARD_COUNT', 1, '"0"'));
  // job steps: SLURM_STEPID (older Slurm) as well; the batch and extern steps are not steps; one task is no split
  const step = { SLURM_PROCID: '2', SLURM_NTASKS: '3' };
  assert.deepEqual(chooseShard(undefined, { ...step, SLURM_STEPID: '1' }), { shard: { index: 2, count: 3 }, source: 'slurm-step', variables: step });
  for (const id of ['batch', 'extern', '4294967294', '4294967295', '4294967290']) assert.equal(chooseShard(undefined, { ...step, SLURM_STEP_ID: id }).source, 'default', id);
  assert.equal(chooseShard(undefined, { ...step, SLURM_STEP_ID: '4294967289' }).source, 'slurm-step');
  assert.equal(chooseShard(undefined, { SLURM_STEP_ID: '0', SLURM_PROCID: '0', SLURM_NTASKS: '1' }).source, 'default');
  assert.equal(chooseShard(undefined, { SLURM_STEP_ID: '0', SLURM_NTASKS: '2' }).source, 'default');
  assert.equal(chooseShard(undefined, { SLURM_STEP_ID: '0', SLURM_PROCID: '0' }).source, 'default');
  assert.throws(() => chooseShard(undefined, { SLURM_STEP_ID: '0', SLURM_PROCID: '3', SLURM_NTASKS: '3' }), { code: 'ERR_USAGE', message: 'Expected SLURM_PROCID below SLURM_NTASKS=3 but received 3' });
  assert.throws(() => chooseShard(undefined, { SLURM_STEP_ID: '0', SLURM_PROCID: '0', SLURM_NTASKS: '0' }), variable('SLURM_NTASKS', 1, '"0"'));
  // an array task with a one-task step is the array alone
  const array = { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_COUNT: '2' };
  assert.deepEqual(chooseShard(undefined, { ...array, SLURM_STEP_ID: '0', SLURM_PROCID: '0', SLURM_NTASKS: '1' }).source, 'slurm-array');
  assert.deepEqual(chooseShard(undefined, { ...array, SLURM_STEP_ID: '0', SLURM_PROCID: '1', SLURM_NTASKS: '2' }), {
    shard: { index: 3, count: 4 }, source: 'slurm-array-step', variables: { ...array, SLURM_PROCID: '1', SLURM_NTASKS: '2' },
  });
  // Kubernetes
  const k8s = { JOB_COMPLETION_INDEX: '2', ALEXNET_CLI_SHARD_COUNT: '3' };
  assert.deepEqual(chooseShard(undefined, k8s), { shard: { index: 2, count: 3 }, source: 'kubernetes', variables: k8s });
  assert.throws(() => chooseShard(undefined, { JOB_COMPLETION_INDEX: '3', ALEXNET_CLI_SHARD_COUNT: '3' }), { code: 'ERR_USAGE', message: 'Expected JOB_COMPLETION_INDEX below ALEXNET_CLI_SHARD_COUNT=3 but received 3' });
  assert.throws(() => chooseShard(undefined, { JOB_COMPLETION_INDEX: '0' }), {
    code: 'ERR_USAGE', message: "Expected ALEXNET_CLI_SHARD_COUNT (the Job's spec.completions) next to JOB_COMPLETION_INDEX=0 but received nothing; set it in the manifest's env, or pass --shard I/N",
  });
  assert.throws(() => chooseShard(undefined, { JOB_COMPLETION_INDEX: '0', ALEXNET_CLI_SHARD_COUNT: 'x' }), variable('ALEXNET_CLI_SHARD_COUNT', 1, '"x"'));
  assert.deepEqual(chooseShard(undefined, { SLURM_JOB_ID: '5', HOME: '/h' }), { shard: { index: 0, count: 1 }, source: 'default', variables: {} });
});

test('describeShardChoice and expandOutPath', () => {
  const d = (source: string, variables: Record<string, string> = {}) => describeShardChoice({ shard: { index: 0, count: 1 }, source: source as never, variables });
  assert.equal(d('option'), '--shard');
  assert.equal(d('default'), 'the whole dataset');
  assert.equal(d('slurm-array', { SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_COUNT: '4' }), 'the Slurm array task (SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_COUNT=4)');
  assert.equal(d('slurm-step', { SLURM_PROCID: '1' }), 'the Slurm job step (SLURM_PROCID=1)');
  assert.equal(d('slurm-array-step', { A: '1' }), 'the Slurm array task and job step (A=1)');
  assert.equal(d('kubernetes', { JOB_COMPLETION_INDEX: '0' }), 'the Kubernetes Indexed Job (JOB_COMPLETION_INDEX=0)');
  assert.equal(expandOutPath('{shard}/{shards}/{shard}.csv', { index: 4, count: 12 }), '4/12/4.csv');
  assert.equal(expandOutPath('plain.csv', { index: 4, count: 12 }), 'plain.csv');
});

test('headerLabels: --labels given wins, then the labels file of the run where it is readable, else the default names', () => {
  const h = buildHeader(dataset(), standIn().classifier, options(), P, null);
  const mine = join(scratch, 'mine.txt');
  writeFileSync(mine, 'cat\ndog\nfox\nowl\n');
  const theirs = join(scratch, 'theirs.txt');
  writeFileSync(theirs, 'a\nb\nc\nd\n');
  assert.deepEqual(headerLabels({ ...h, labels: theirs }, mine).map((l) => l.label), ['cat', 'dog', 'fox', 'owl']);
  assert.deepEqual(headerLabels({ ...h, labels: theirs }).map((l) => l.label), ['a', 'b', 'c', 'd']);
  assert.deepEqual(headerLabels({ ...h, labels: join(scratch, 'gone.txt') }).map((l) => l.label), ['class 0', 'class 1', 'class 2', 'class 3']);
  assert.deepEqual(headerLabels(h).map((l) => l.label), ['class 0', 'class 1', 'class 2', 'class 3']);
});

test('renderReport: no speed lines for a run that scored nothing itself (all resumed)', async () => {
  const { buildReport, renderReport } = await import('../lib/score/report.js');
  const r = await runScore(dataset(), standIn().classifier, options());
  const timing = { ...r.timing, images: 0, imagesPerSecond: 0 };
  const text = renderReport(buildReport(r.header, r.metrics, { shards: [{ index: 0, count: 1 }], images: 7, timing, resumed: 7 }));
  assert.doesNotMatch(text, /speed|time {9}per image/);
  assert.match(text, /^resumed {6}7 images already in the output$/m);
  assert.match(renderReport(buildReport(r.header, r.metrics, { shards: [{ index: 0, count: 1 }], images: 7, timing: r.timing })), /^speed {8}\d+\.\d images\/s \(7 images in /m);
});

test('findCompleteOutput: another shard count with the same images (1/2 and 1/3 of two) is not this shard', async () => {
  const out = join(scratch, 'two.jsonl');
  await runScore(dataset(), standIn().classifier, options({ out, limit: 2, shard: { index: 1, count: 2 } }));
  const check: CompleteCheck = { dataset: ROOT, weights: 'random:7', top: 4, limit: 2, exifOrientation: true, shard: { index: 1, count: 2 }, out };
  assert.ok(await findCompleteOutput(check));
  assert.equal(await findCompleteOutput({ ...check, shard: { index: 1, count: 3 } }), undefined);
});

test('--resume of an output whose header line was torn: the header is written again and the run goes on', async () => {
  const out = join(scratch, 'torn-header.jsonl');
  writeFileSync(out, '{"alexnetCliScore":2,"data');
  const r = await runScore(dataset(), standIn().classifier, options({ out, resume: true }));
  assert.deepEqual([r.resumed, r.droppedTornLine, readOutput(out).records.length], [0, true, 7]);
  assert.equal(readOutput(out).header!.count, 7);
});

test('headerMismatch: every compared field tells two runs apart', () => {
  const h = buildHeader(dataset(), standIn().classifier, options(), P, null);
  const other: Record<string, unknown> = {
    weights: 'random:8', layout: 'csv', datasetSize: 6, datasetSha256: 'e'.repeat(64), arch: 'caffe', numClasses: 5, top: 3,
    preprocess: { ...P, bgr: true }, exifOrientation: false, limit: 3,
  };
  assert.deepEqual(COMPARED_FIELDS, Object.keys(other));
  for (const field of COMPARED_FIELDS) {
    const found = headerMismatch(h, { ...h, [field]: other[field] }, COMPARED_FIELDS);
    assert.ok(found?.startsWith(`${field === 'datasetSha256' ? 'dataset' : field} `), `${field}: ${found}`);
  }
  assert.equal(headerMismatch(h, { ...h }, COMPARED_FIELDS), undefined);
});
