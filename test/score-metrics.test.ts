// lib/score in isolation, on records written here with every expectation worked out by hand: a
// 7-class head where 3 classes have no image (so top-5 is not trivially 1 and the per-class mean is
// over the classes present only), a true class at rank 5 and at rank 6 (the top-5 boundary), an
// error record and a record without predictions; the output files' round trip (JSONL and CSV, torn
// last lines, resume); merging shards (an image in two shards, missing and incomplete shards);
// the text report; the dataset layouts and --shard.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetricsAccumulator } from '../lib/score/metrics.js';
import { mergeOutputs } from '../lib/score/merge.js';
import { formatHeader, formatMetadata, formatRecord, metadataPath, outputFormatFor, OutputWriter, readOutput, type ScoreHeader, type ScoreRecord } from '../lib/score/records.js';
import { buildReport, progressLine, renderReport } from '../lib/score/report.js';
import { ClassResolver, detectGroundTruthFormat, isImageName, listSome, parseShard, readDataset, shardItems, splitCsvLine } from '../lib/score/dataset.js';
import { headerMismatch } from '../lib/score/run.js';

const scratch = mkdtempSync(join(tmpdir(), 'alexnet-score-metrics-'));

const LABELS = [
  { index: 0, wnid: 'n0', label: 'zero' },
  { index: 1, wnid: 'n1', label: 'one' },
  { index: 2, wnid: '', label: 'a,b' },
  { index: 3, wnid: '', label: 'say "hi"' },
  { index: 4, wnid: '', label: 'four' },
  { index: 5, wnid: 'n5', label: 'five' },
  { index: 6, wnid: 'n6', label: 'six' },
];

// 7 classes; images of classes 0-3 only (4 has an unreadable one, 5 and 6 none)
const RECORDS: ScoreRecord[] = [
  { path: 'c0/a.jpg', label: 0, top: [0, 1, 2, 3, 4, 5, 6] }, //  top-1 hit
  { path: 'c0/b.jpg', label: 0, top: [1, 2, 3, 4, 0, 5, 6] }, //  rank 5: top-5 hit
  { path: 'c0/c.jpg', label: 0, top: [1, 2, 3, 4, 5, 0, 6] }, //  rank 6: top-5 miss
  { path: 'c1/a.jpg', label: 1, top: [1, 0, 2, 3, 4, 5, 6] }, //  top-1 hit
  { path: 'c2/a.jpg', label: 2, top: [3, 2, 0, 1, 4, 5, 6] }, //  rank 2
  { path: 'c2/b.jpg', label: 2, top: [6, 5, 4, 3, 1, 2, 0] }, //  rank 6
  { path: 'c3/a.jpg', label: 3, top: [3, 2, 1, 0, 4, 5, 6] }, //  top-1 hit
  { path: 'c4/z.jpg', label: 4, error: 'expected a JPEG or PNG image but the file is empty' },
  { path: 'c3/b.jpg', label: 3, top: [] }, //                     no prediction
];

function accumulate(records: ScoreRecord[], numClasses = 7, top = 7): MetricsAccumulator {
  const acc = new MetricsAccumulator(numClasses, top);
  for (const r of records) acc.add(r);
  return acc;
}

test('metrics of a 7-class head with 4 classes present, worked out by hand', () => {
  const acc = accumulate(RECORDS);
  assert.deepEqual(acc.running, { scored: 7, correctTop1: 3 });
  const m = acc.result(LABELS);
  assert.equal(m.scored, 7);
  assert.equal(m.unreadable, 2);
  assert.equal(m.correctTop1, 3);
  assert.equal(m.top1, 3 / 7);
  assert.equal(m.correctTop5, 5);
  assert.equal(m.top5, 5 / 7);
  // per class: 1/3, 1, 0, 1 over the 4 classes with a scored image (not 7, not 5)
  assert.equal(m.classesPresent, 4);
  assert.ok(Math.abs(m.meanPerClassTop1 - 7 / 12) < 1e-15, String(m.meanPerClassTop1));
  assert.deepEqual(m.perClass, [
    { index: 0, wnid: 'n0', label: 'zero', images: 3, top1: 1 / 3, top5: 2 / 3 },
    { index: 1, wnid: 'n1', label: 'one', images: 1, top1: 1, top5: 1 },
    { index: 2, wnid: '', label: 'a,b', images: 2, top1: 0, top5: 1 / 2 },
    { index: 3, wnid: '', label: 'say "hi"', images: 1, top1: 1, top5: 1 },
  ]);
  // sorted by path, whatever the order they came in
  assert.deepEqual(m.errors, [
    { path: 'c3/b.jpg', error: 'no prediction' },
    { path: 'c4/z.jpg', error: 'expected a JPEG or PNG image but the file is empty' },
  ]);
});

test('confusion matrix: rows true, columns predicted (top-1), names quoted as CSV', () => {
  const acc = accumulate(RECORDS);
  assert.equal(acc.confusionCsv(LABELS), [
    'true\\predicted,n0,n1,"a,b","say ""hi""",four,n5,n6',
    'n0,1,2,0,0,0,0,0',
    'n1,0,1,0,0,0,0,0',
    '"a,b",0,0,0,1,0,0,1',
    '"say ""hi""",0,0,0,1,0,0,0',
    'four,0,0,0,0,0,0,0',
    'n5,0,0,0,0,0,0,0',
    'n6,0,0,0,0,0,0,0',
    '',
  ].join('\n'));
  // classes without a label are named by their index
  const small = accumulate([{ path: 'x', label: 1, top: [0, 1] }], 2, 2);
  assert.equal(small.confusionCsv([]), 'true\\predicted,0,1\n0,0,0\n1,1,0\n');
});

test('top-5 needs 5 stored predictions, or all of them when the head has fewer than 5 classes', () => {
  // --top 4 of 7 classes: top-5 cannot be told
  const four = accumulate(RECORDS.map((r) => (r.top ? { ...r, top: r.top.slice(0, 4) } : r)), 7, 4);
  assert.equal(four.hasTop5, false);
  const m4 = four.result(LABELS);
  assert.equal(m4.top5, null);
  assert.equal(m4.correctTop5, null);
  assert.equal(m4.perClass[0].top5, null);
  assert.equal(m4.top1, 3 / 7);
  // exactly 5 kept is enough
  const five = accumulate(RECORDS.map((r) => (r.top ? { ...r, top: r.top.slice(0, 5) } : r)), 7, 5);
  assert.equal(five.hasTop5, true);
  assert.equal(five.result(LABELS).top5, 5 / 7);
  // 3 classes, all 3 kept: the true class is always among them
  const three = accumulate([
    { path: 'a', label: 2, top: [0, 1, 2] },
    { path: 'b', label: 0, top: [1, 0, 2] },
  ], 3, 3);
  assert.equal(three.hasTop5, true);
  assert.deepEqual([three.result([]).top5, three.result([]).top1], [1, 0]);
  assert.equal(three.result([]).perClass[0].label, 'class 0');
  // 3 classes, 2 kept: rank 3 is unknown
  assert.equal(accumulate([], 3, 2).hasTop5, false);
});

test('no scored image: zeros, not NaN', () => {
  const m = accumulate([{ path: 'x', label: 0, error: 'bad' }], 7, 5).result(LABELS);
  assert.deepEqual([m.scored, m.unreadable, m.top1, m.top5, m.meanPerClassTop1, m.classesPresent, m.perClass.length], [0, 1, 0, 0, 0, 0, 0]);
});

// ---------------------------------------------------------------- output files

function header(extra: Partial<ScoreHeader> = {}): ScoreHeader {
  return {
    alexnetCliScore: 2, dataset: '/data/set', layout: 'image-folder', groundTruth: null, datasetSize: 9, datasetSha256: 'd'.repeat(64),
    shard: { index: 0, count: 1 }, count: 9, weights: '/w/tiny.safetensors', weightsSha256: 'a'.repeat(64), labels: null, arch: 'tiny',
    numClasses: 7, top: 7, preprocess: { resize: 72 }, exifOrientation: true, limit: null, ...extra,
  };
}

function writeOutput(name: string, h: ScoreHeader, records: ScoreRecord[]): string {
  const path = join(scratch, name);
  const format = outputFormatFor(path);
  writeFileSync(path, formatHeader(h, format) + records.map((r) => formatRecord(r, format, h.top)).join(''));
  if (format === 'csv') writeFileSync(metadataPath(path), formatMetadata(h));
  return path;
}

test('outputFormatFor: by extension, any case; anything else is a usage error', () => {
  assert.equal(outputFormatFor('a.jsonl'), 'jsonl');
  assert.equal(outputFormatFor('A.NDJSON'), 'jsonl');
  assert.equal(outputFormatFor('b.CSV'), 'csv');
  assert.throws(() => outputFormatFor('c.json'), { code: 'ERR_USAGE', message: 'Expected a .jsonl or .csv file for --out but received c.json' });
});

test('records as JSONL and CSV, written and read back', () => {
  const h = header({ top: 3, numClasses: 4 });
  const records: ScoreRecord[] = [
    { path: 'a,b/"q".jpg', label: 2, top: [2, 0, 1], prob: [0.123456789, 0.5, 1 / 3] },
    { path: 'c/d.png', label: 1, error: 'corrupt data\non two lines' },
  ];
  assert.equal(formatRecord(records[0], 'jsonl', 3), '{"path":"a,b/\\"q\\".jpg","label":2,"top":[2,0,1],"prob":[0.1234568,0.5,0.3333333]}\n');
  assert.equal(formatRecord(records[1], 'jsonl', 3), '{"path":"c/d.png","label":1,"error":"corrupt data\\non two lines"}\n');
  assert.equal(formatRecord(records[0], 'csv', 3), '"a,b/""q"".jpg",2,2,0,1,0.1234568,0.5,0.3333333,\n');
  assert.equal(formatRecord(records[1], 'csv', 3), 'c/d.png,1,,,,,,,corrupt data on two lines\n');
  // a plain CSV (csv.DictReader, pandas): the column names first, the header beside it in OUT.meta.json
  assert.equal(formatHeader(h, 'csv'), 'path,label,top1,top2,top3,prob1,prob2,prob3,error\n');
  assert.deepEqual(JSON.parse(formatMetadata(h)), h);
  assert.equal(formatHeader(h, 'jsonl'), `${JSON.stringify(h)}\n`);
  const expected = [
    { path: 'a,b/"q".jpg', label: 2, top: [2, 0, 1], prob: [0.1234568, 0.5, 0.3333333] },
    { path: 'c/d.png', label: 1, error: 'corrupt data on two lines' },
  ];
  const csv = readOutput(writeOutput('rt.csv', h, records));
  assert.deepEqual(csv.header, h);
  assert.deepEqual(csv.records, expected);
  assert.deepEqual([csv.tornTail, csv.hasColumns], [false, true]);
  const jsonl = readOutput(writeOutput('rt.jsonl', h, records));
  assert.deepEqual(jsonl.records, [expected[0], { ...expected[1], error: 'corrupt data\non two lines' }]);
  assert.equal(jsonl.validBytes, readFileSync(join(scratch, 'rt.jsonl')).length);
  // a CSV record with fewer predictions than --top (a head smaller than --top) keeps what is there
  const short = writeOutput('short.csv', h, [{ path: 'e.jpg', label: 0, top: [0, 1], prob: [0.75, 0.25] }]);
  assert.deepEqual(readOutput(short).records, [{ path: 'e.jpg', label: 0, top: [0, 1], prob: [0.75, 0.25] }]);
});

test('readOutput: a torn last line is dropped, an empty line skipped, other bad lines named', () => {
  const h = header({ top: 2 });
  const path = writeOutput('torn.jsonl', h, [{ path: 'a', label: 0, top: [0, 1], prob: [0.5, 0.5] }]);
  const whole = readFileSync(path).length;
  appendFileSync(path, '\n{"path":"b","lab');
  const torn = readOutput(path);
  assert.deepEqual([torn.records.length, torn.tornTail, torn.validBytes], [1, true, whole + 1]);

  const bad = writeOutput('bad.jsonl', h, [{ path: 'a', label: 0, top: [0, 1], prob: [0.5, 0.5] }]);
  appendFileSync(bad, '{"path":"b"}\n');
  assert.throws(() => readOutput(bad), { message: `${bad}: expected a JSONL record on line 3 but found a bad line (missing path or label)` });
  const badCsv = writeOutput('bad.csv', h, []);
  appendFileSync(badCsv, 'a,0,1\n');
  assert.throws(() => readOutput(badCsv), { message: `${badCsv}: expected a CSV record on line 2 but found a bad line (expected 7 columns, found 3)` });
  const noLabel = writeOutput('nolabel.csv', h, []);
  appendFileSync(noLabel, 'a,x,0,1,0.5,0.5,\n');
  assert.throws(() => readOutput(noLabel), { message: `${noLabel}: expected a CSV record on line 2 but found a bad line (missing path or label)` });
  // the columns must be the ones the metadata describes; the metadata must be there
  const otherColumns = writeOutput('columns.csv', h, []);
  writeFileSync(otherColumns, 'path,label,top1\n');
  assert.throws(() => readOutput(otherColumns), { message: `${otherColumns}: expected the columns path,label,top1,top2,prob1,prob2,error on line 1 (as ${otherColumns}.meta.json describes) but found other text` });
  const noMeta = join(scratch, 'no-meta.csv');
  writeFileSync(noMeta, formatHeader(h, 'csv'));
  assert.throws(() => readOutput(noMeta), { message: `${noMeta}: expected an alexnet-cli score output with its header beside it in ${noMeta}.meta.json but found no such file` });

  const other = join(scratch, 'other.jsonl');
  writeFileSync(other, '{"alexnetCliScore":1}\n');
  assert.throws(() => readOutput(other), { message: `${other}: expected an alexnet-cli score output (header line version 2) but found version 1 (another alexnet-cli release; score again, or merge with that release) on line 1` });
  writeFileSync(other, '{"path":"a"}\n');
  assert.throws(() => readOutput(other), { message: `${other}: expected an alexnet-cli score output (header line version 2) but found other text on line 1` });
  // a first line that is not JSON at all
  writeFileSync(other, 'path,label,top1\n');
  assert.throws(() => readOutput(other), { message: `${other}: expected an alexnet-cli score output (header line version 2) but found other text on line 1` });
  const otherCsv = join(scratch, 'other.csv');
  writeFileSync(otherCsv, `${JSON.stringify(h)}\n`);
  assert.throws(() => readOutput(otherCsv), { message: /other.csv: expected an alexnet-cli score output/ });

  const empty = join(scratch, 'empty.jsonl');
  writeFileSync(empty, '{"alexnetCliScore":2');
  assert.deepEqual(readOutput(empty), { header: null, records: [], validBytes: 0, tornTail: true, hasColumns: false });
  // an earlier release's CSV (the header in a first "# alexnet-cli score" line), cut right after that line
  const headerOnly = join(scratch, 'header-only.csv');
  writeFileSync(headerOnly, `# alexnet-cli score ${JSON.stringify(h)}\n`);
  const ho = readOutput(headerOnly);
  assert.deepEqual([ho.header, ho.records, ho.hasColumns, ho.validBytes], [h, [], false, readFileSync(headerOnly).length]);
  const blank = writeOutput('blank.jsonl', h, []);
  appendFileSync(blank, '\n{"path":"a","label":1,"error":"x"}\n');
  assert.deepEqual(readOutput(blank).records, [{ path: 'a', label: 1, error: 'x' }]);
});

test('OutputWriter: new file with its header; resume cuts a torn line and appends after the whole ones', async () => {
  const h = header({ top: 2 });
  const path = join(scratch, 'writer.csv');
  const w = await OutputWriter.open(path, h);
  await w.append([]);
  await w.append([{ path: 'a', label: 0, top: [0, 1], prob: [0.75, 0.25] }]);
  await w.close();
  appendFileSync(path, 'b,1,1,0,0.5');
  const before = readOutput(path);
  assert.equal(before.tornTail, true);
  const again = await OutputWriter.open(path, h, before);
  await again.append([{ path: 'b', label: 1, top: [1, 0], prob: [0.5, 0.5] }]);
  await again.close();
  assert.equal(readFileSync(path, 'utf8'), `path,label,top1,top2,prob1,prob2,error\na,0,0,1,0.75,0.25,\nb,1,1,0,0.5,0.5,\n`);
  assert.deepEqual(JSON.parse(readFileSync(`${path}.meta.json`, 'utf8')), h);

  // an earlier release's CSV killed after its header line: resume writes the column line first
  const cut = join(scratch, 'cut.csv');
  writeFileSync(cut, `# alexnet-cli score ${JSON.stringify(h)}\n`);
  const resumed = await OutputWriter.open(cut, h, readOutput(cut));
  await resumed.append([{ path: 'c', label: 0, error: 'bad' }]);
  await resumed.close();
  assert.equal(readFileSync(cut, 'utf8'), `# alexnet-cli score ${JSON.stringify(h)}\n${formatHeader(h, 'csv')}c,0,,,,,bad\n`);
  assert.deepEqual(readOutput(cut).records, [{ path: 'c', label: 0, error: 'bad' }]);
  // an empty file to resume: the header is written
  const none = join(scratch, 'none.jsonl');
  writeFileSync(none, '');
  const fresh = await OutputWriter.open(none, h, readOutput(none));
  await fresh.close();
  assert.equal(readFileSync(none, 'utf8'), formatHeader(h, 'jsonl'));
});

// ---------------------------------------------------------------- merge

const SHARD_RECORDS = [...RECORDS].sort((a, b) => (a.path < b.path ? -1 : 1));

function shardFiles(prefix: string, count: number, records = SHARD_RECORDS, extra: Partial<ScoreHeader> = {}): string[] {
  return Array.from({ length: count }, (_, i) => {
    const mine = records.filter((_, k) => k % count === i);
    return writeOutput(`${prefix}-${i}.jsonl`, header({ shard: { index: i, count }, count: mine.length, ...extra }), mine);
  });
}

test('merged shards give the metrics and the records of the whole set', () => {
  const files = shardFiles('m3', 3);
  let asked: ScoreHeader | undefined;
  const merged = mergeOutputs([files[2], files[0], files[1]], (h) => { asked = h; return LABELS; });
  assert.equal(asked!.shard.index, 2);
  assert.deepEqual(merged.shards, [{ index: 0, count: 3 }, { index: 1, count: 3 }, { index: 2, count: 3 }]);
  assert.equal(merged.images, 9);
  assert.deepEqual([merged.warnings, merged.missingShards, merged.incompleteShards, merged.missingImages], [[], [], [], 0]);
  assert.deepEqual(merged.metrics, accumulate(RECORDS).result(LABELS));
  assert.deepEqual(merged.records.map((r) => r.path), SHARD_RECORDS.map((r) => r.path));
  assert.deepEqual([merged.header.shard, merged.header.count], [{ index: 0, count: 1 }, 9]);
});

test('merge: an image in two shards, one output twice, mixed configurations are refused', () => {
  const [a, b] = shardFiles('dup', 2);
  // shard 1 also holds an image of shard 0
  const shared = writeOutput('dup-shared-1.jsonl', header({ shard: { index: 1, count: 2 }, count: 5 }), [SHARD_RECORDS[1], SHARD_RECORDS[0]]);
  assert.throws(() => mergeOutputs([a, shared], LABELS), { message: `${shared}: expected each image in one output only but found 1 image twice: ${SHARD_RECORDS[0].path} (also in ${a})` });
  const twice = writeOutput('dup-twice-1.jsonl', header({ shard: { index: 1, count: 2 }, count: 5 }), [SHARD_RECORDS[1], SHARD_RECORDS[1], SHARD_RECORDS[0]]);
  assert.throws(() => mergeOutputs([a, twice], LABELS), { message: `${twice}: expected each image in one output only but found 2 images twice: ${SHARD_RECORDS[1].path} (twice in it), ${SHARD_RECORDS[0].path} (also in ${a})` });
  assert.throws(() => mergeOutputs([b, b], LABELS), { message: `${b}: expected distinct shards but it holds shard 1/2, as ${b} does` });
  const [three] = shardFiles('other-count', 3);
  assert.throws(() => mergeOutputs([a, three], LABELS), { message: `${three}: expected a shard of 2 (as ${a}) but found shard 0/3` });
  const [, otherArch] = shardFiles('other-arch', 2, SHARD_RECORDS, { arch: 'caffe' });
  assert.throws(() => mergeOutputs([a, otherArch], LABELS), { message: `${otherArch}: expected the same configuration as ${a} but found arch "caffe" where ${a} has "tiny"` });
  const [, otherWeights] = shardFiles('other-weights', 2, SHARD_RECORDS, { weights: '/w/tiny.safetensors', weightsSha256: 'b'.repeat(64) });
  assert.throws(() => mergeOutputs([a, otherWeights], LABELS), { message: `${otherWeights}: expected the same configuration as ${a} but found weights /w/tiny.safetensors (SHA-256 bbbbbbbbbbbb) where ${a} has /w/tiny.safetensors (SHA-256 aaaaaaaaaaaa)` });
  // the same weights file in another folder (another machine) is the same run
  const [, moved] = shardFiles('moved-weights', 2, SHARD_RECORDS, { weights: '/mnt/w/other-name.safetensors' });
  assert.equal(mergeOutputs([a, moved], LABELS).images, 9);
  assert.throws(() => mergeOutputs([], LABELS), { code: 'ERR_USAGE', message: 'Expected at least one score output for OUT but received none' });
  const empty = join(scratch, 'empty-merge.jsonl');
  writeFileSync(empty, '');
  assert.throws(() => mergeOutputs([empty], LABELS), { message: `${empty}: expected an alexnet-cli score output but the file is empty` });
});

test('merge: missing shards and shards not run to the end are warned about, the rest merged', () => {
  const files = shardFiles('part', 4);
  const one = mergeOutputs([files[1]], LABELS);
  assert.deepEqual(one.warnings, ['shards 0/4, 2/4, 3/4 missing', 'the metrics cover 2 of 9 images (7 missing)']);
  assert.deepEqual([one.missingShards, one.missingImages], [[0, 2, 3], 7]);
  const three = mergeOutputs([files[0], files[1], files[3]], LABELS);
  assert.deepEqual(three.warnings, ['shard 2/4 missing', 'the metrics cover 7 of 9 images (2 missing)']);
  // shard 2 stopped after 1 of its 2 images
  const cut = writeOutput('part-cut-2.jsonl', header({ shard: { index: 2, count: 4 }, count: 2 }), [SHARD_RECORDS[2]]);
  const all = mergeOutputs([files[0], files[1], cut, files[3]], LABELS);
  assert.deepEqual(all.warnings, [`${cut} holds 1 of the 2 images of shard 2/4 (run it again with --resume)`, 'the metrics cover 8 of 9 images (1 missing)']);
  assert.deepEqual(all.incompleteShards, [{ index: 2, path: cut, images: 1, expected: 2 }]);
  assert.equal(all.images, 8);
  // two shards cut short, given last first: warned about in shard order
  const cut1 = writeOutput('part-cut-1.jsonl', header({ shard: { index: 1, count: 4 }, count: 2 }), [SHARD_RECORDS[1]]);
  const cut3 = writeOutput('part-cut-3.jsonl', header({ shard: { index: 3, count: 4 }, count: 2 }), [SHARD_RECORDS[3]]);
  const two = mergeOutputs([cut3, files[0], cut1, files[2]], LABELS);
  assert.deepEqual(two.warnings, [
    `${cut1} holds 1 of the 2 images of shard 1/4 (run it again with --resume)`,
    `${cut3} holds 1 of the 2 images of shard 3/4 (run it again with --resume)`,
    'the metrics cover 7 of 9 images (2 missing)',
  ]);
  assert.deepEqual(two.incompleteShards.map((s) => s.index), [1, 3]);
});

test('headerMismatch names the first differing field; weights by SHA-256 where known', () => {
  const h = header();
  assert.equal(headerMismatch(h, header({ weights: '/elsewhere/x.pth' }), ['weights', 'arch', 'top']), undefined);
  assert.equal(headerMismatch(h, header({ top: 5, arch: 'x' }), ['weights', 'top', 'arch']), 'top 5 where this run has 7');
  assert.equal(headerMismatch(h, header({ preprocess: { resize: 80 } }), ['preprocess']), 'preprocess {"resize":80} where this run has {"resize":72}');
  assert.equal(headerMismatch(h, header({ limit: 3 }), ['arch']), undefined);
  const random = header({ weights: 'random:1', weightsSha256: null });
  assert.equal(headerMismatch(random, header({ weights: 'random:2', weightsSha256: null }), ['weights']), 'weights random:2 where this run has random:1');
  assert.equal(headerMismatch(h, header({ datasetSha256: 'e'.repeat(64) }), ['datasetSha256']),
    'dataset /data/set (9 images, listing SHA-256 eeeeeeeeeeee) where this run has /data/set (9 images, listing SHA-256 dddddddddddd)');
});

// ---------------------------------------------------------------- report

test('renderReport: the text report, line by line', () => {
  const m = accumulate(RECORDS).result(LABELS);
  const report = buildReport(header({ datasetSize: 1234 }), m, {
    shards: [{ index: 0, count: 2 }, { index: 1, count: 2 }], images: 1234, output: '/o/out.jsonl', confusion: '/o/c.csv',
    timing: { wallMs: 2000, images: 8, imagesPerSecond: 4, decodeMs: 80, preprocessMs: 8, inferenceMs: 500, waitMs: 1000, writeMs: 1, workers: 2, batch: 4 },
  });
  assert.equal(report.top1, 3 / 7);
  assert.deepEqual([report.warnings, report.ignored, report.numClasses, report.arch], [[], [], 7, 'tiny']);
  assert.equal(renderReport(report), [
    'dataset      /data/set (image-folder), 1,234 images, shards 0/2 1/2: 1,234 images',
    'model        tiny, 7 classes, weights /w/tiny.safetensors',
    'images       7 scored, 2 unreadable',
    'top-1        42.86% (3/7)',
    'top-5        71.43% (5/7)',
    'mean per-class top-1  58.33% over 4 classes',
    'speed        4.0 images/s (8 images in 2.00 s, batch 4, 2 decode workers)',
    'time         per image: decode+preprocess 10.0 ms (one native call for JPEGs) + batch assembly 1.0 ms (worker threads), inference 62.5 ms; inference busy 25.00% of the run, waiting for decoding 50.00%',
    'predictions  /o/out.jsonl',
    'confusion    /o/c.csv',
    '',
    'unreadable images (2):',
    '  c3/b.jpg: no prediction',
    '  c4/z.jpg: expected a JPEG or PNG image but the file is empty',
    '',
    'per-class accuracy:',
    'index  wnid  class     images    top-1    top-5',
    '-----------------------------------------------',
    '    0  n0    zero           3   33.33%   66.67%',
    '    1  n1    one            1  100.00%  100.00%',
    '    2        a,b            2    0.00%   50.00%',
    '    3        say "hi"       1  100.00%  100.00%',
    '-----------------------------------------------',
    '',
  ].join('\n'));
  // one whole run, top-5 unknown, no timing, nothing unreadable
  const plain = buildReport(header(), accumulate(RECORDS.slice(0, 1), 7, 3).result(LABELS), { shards: [{ index: 0, count: 1 }], images: 1 });
  assert.equal(renderReport(plain).split('\n').slice(0, 5).join('\n'), [
    'dataset      /data/set (image-folder), 9 images',
    'model        tiny, 7 classes, weights /w/tiny.safetensors',
    'images       1 scored, 0 unreadable',
    'top-1        100.00% (1/1)',
    'top-5        n/a (fewer than 5 predictions kept: --top)',
  ].join('\n'));
  assert.ok(renderReport(plain).endsWith('\n    0  n0    zero        1  100.00%    n/a\n------------------------------------------\n'), renderReport(plain));
  assert.doesNotMatch(renderReport(plain), /speed|unreadable images/);
  const single = buildReport(header(), accumulate([]).result(LABELS), { shards: [{ index: 1, count: 3 }], images: 3 });
  assert.match(renderReport(single), /^dataset {6}\/data\/set \(image-folder\), 9 images, shard 1\/3: 3 images\n/);
});

test('progressLine: bar, counts, rate, ETA and running top-1', () => {
  const p = { done: 25, total: 100, scored: 20, correctTop1: 5, imagesPerSecond: 12.345, etaSeconds: 3725 };
  // the stats are 46 characters: a bar of 80 - 46 - 3 = 31 cells, 7.75 of them filled -> 8
  assert.equal(progressLine(p, 80), `[${'#'.repeat(8)}${'.'.repeat(23)}] 25/100  12.3 img/s  ETA 1:02:05  top-1 25.00%`);
  // at least 10 cells, at most 40
  assert.equal(progressLine(p, 20), `[${'#'.repeat(3)}${'.'.repeat(7)}] 25/100  12.3 img/s  ETA 1:02:05  top-1 25.00%`);
  assert.equal(progressLine(p, 200), `[${'#'.repeat(10)}${'.'.repeat(30)}] 25/100  12.3 img/s  ETA 1:02:05  top-1 25.00%`);
  assert.equal(progressLine({ ...p, scored: 0, etaSeconds: 59.6, done: 0 }, 200), `[${'.'.repeat(40)}] 0/100  12.3 img/s  ETA 01:00  top-1 --`);
  assert.equal(progressLine({ ...p, etaSeconds: Infinity, total: 0, done: 0, imagesPerSecond: 0 }, 0), `[${'#'.repeat(10)}] 0/0  0.0 img/s  ETA --:--  top-1 25.00%`);
  assert.match(progressLine({ ...p, etaSeconds: 7 * 3600 + 5 }, 80), /ETA 7:00:05 /);
});

// ---------------------------------------------------------------- dataset layouts and shards

test('parseShard and shardItems: position % N == I', () => {
  assert.deepEqual(parseShard(' 2/3 '), { index: 2, count: 3 });
  assert.deepEqual(parseShard('0/1'), { index: 0, count: 1 });
  for (const bad of ['3/3', '0/0', '1', 'a/2', '-1/2', '1/2/3']) {
    assert.throws(() => parseShard(bad), { code: 'ERR_USAGE', message: `Expected I/N with 0 <= I < N for --shard but received ${bad}` });
  }
  const items = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
  assert.deepEqual(shardItems(items, { index: 0, count: 3 }), ['a', 'd', 'g']);
  assert.deepEqual(shardItems(items, { index: 2, count: 3 }), ['c', 'f']);
  assert.deepEqual(shardItems(items, { index: 0, count: 1 }), items);
});

test('splitCsvLine, listSome, isImageName, detectGroundTruthFormat', () => {
  assert.deepEqual(splitCsvLine('a,"b,c","say ""hi""",,d'), ['a', 'b,c', 'say "hi"', '', 'd']);
  assert.deepEqual(splitCsvLine(''), ['']);
  assert.equal(listSome(['a', 'b', 'c']), 'a, b, c');
  assert.equal(listSome(['a', 'b', 'c', 'd', 'e']), 'a, b, c, d, e');
  assert.equal(listSome(['a', 'b', 'c', 'd', 'e', 'f', 'g']), 'a, b, c, d, e and 2 more');
  assert.equal(listSome(['a', 'b', 'c'], 2), 'a, b and 1 more');
  assert.deepEqual(['x.JPEG', 'x.png', 'x.Tiff', 'x.webp', 'x.txt', 'jpg', 'x.jpg.bak'].map(isImageName), [true, true, true, true, false, false, false]);
  assert.equal(detectGroundTruthFormat('ImageId, PredictionString\r\nx,n0 1 2 3 4'), 'kaggle-loc-csv');
  assert.equal(detectGroundTruthFormat('ILSVRC2012_val_00000001.JPEG 65\n'), 'bvlc-val-txt');
  assert.equal(detectGroundTruthFormat('a.jpg,65\n'), 'csv');
  assert.equal(detectGroundTruthFormat('a b,65\n'), 'csv');
  assert.equal(detectGroundTruthFormat('path label\n'), 'csv');
});

test('ClassResolver: WNID, then an unambiguous name, then an index below the class count', () => {
  const r = new ClassResolver([
    { index: 0, wnid: 'n0', label: 'crane' }, { index: 1, wnid: 'n1', label: 'crane' }, { index: 2, wnid: 'n2', label: 'cat' }, { index: 3, wnid: '', label: '1' },
  ]);
  assert.equal(r.numClasses, 4);
  assert.deepEqual(['n1', 'cat', 'crane', '2', '3', '4', '1', 'x', 'n9'].map((n) => r.resolve(n)), [1, 2, undefined, 2, 3, undefined, 3, undefined, undefined]);
  assert.deepEqual(['crane', 'cat', 'n0'].map((n) => r.isAmbiguous(n)), [true, false, false]);
});

test('readDataset: an ImageFolder and a flat folder with its ground truth, by hand', () => {
  const root = join(scratch, 'folder');
  for (const f of ['n1/b.jpg', 'n1/sub/a.PNG', 'cat/x.jpeg', 'cat/notes.txt', '0/z.jpg', 'n0b/.hidden.jpg']) {
    mkdirSync(join(root, f, '..'), { recursive: true });
    writeFileSync(join(root, f), '');
  }
  writeFileSync(join(root, 'README'), '');
  const labels = [{ index: 0, wnid: 'n0', label: 'zero' }, { index: 1, wnid: 'n1', label: 'one' }, { index: 2, wnid: 'n2', label: 'cat' }];
  const resolver = new ClassResolver(labels);
  mkdirSync(join(root, 'n0b'), { recursive: true });
  assert.throws(() => readDataset(root, undefined, resolver, 'labels.txt'), {
    message: `Expected the folders of ${root} to name classes of the 3-class head (a WNID, a name from labels.txt, or an index 0-2) but found 1 unknown: n0b`,
  });
  writeFileSync(join(root, 'n0b', '.hidden.jpg'), '');
  const folder = readDataset(root.replace('folder', 'folder'), undefined, new ClassResolver([...labels, { index: 3, wnid: 'n0b', label: 'x' }]), 'labels.txt');
  assert.equal(folder.layout, 'image-folder');
  assert.deepEqual(folder.items, [{ path: '0/z.jpg', label: 0 }, { path: 'cat/x.jpeg', label: 2 }, { path: 'n1/b.jpg', label: 1 }, { path: 'n1/sub/a.PNG', label: 1 }]);
  assert.deepEqual(folder.ignored, ['README', 'cat/notes.txt']);
  assert.deepEqual(folder.warnings, ['no image files in 1 class folder: n0b']);

  const flat = join(scratch, 'flat');
  mkdirSync(flat, { recursive: true });
  for (const f of ['a.JPEG', 'b.JPEG', 'c.JPEG']) writeFileSync(join(flat, f), '');
  const gt = join(scratch, 'val.txt');
  writeFileSync(gt, 'b.JPEG 2\n# comment\na.JPEG 0\n\nd.JPEG 1\n');
  const ds = readDataset(flat, gt, resolver, 'labels.txt');
  assert.equal(ds.layout, 'bvlc-val-txt');
  assert.equal(ds.groundTruth, gt);
  assert.deepEqual(ds.items, [{ path: 'a.JPEG', label: 0 }, { path: 'b.JPEG', label: 2 }, { path: 'd.JPEG', label: 1 }]);
  assert.deepEqual(ds.ignored, ['c.JPEG']);
  assert.deepEqual(ds.warnings, [
    `${gt} lists 3 images, ${flat} holds 3 image files`,
    '1 listed image is missing (scored as unreadable): d.JPEG',
    `1 image file is not in ${gt} (not scored): c.JPEG`,
  ]);
  const csv = join(scratch, 'truth.csv');
  writeFileSync(csv, 'path,label\r\n./a.JPEG,one\r\n"b.JPEG",n2\r\nc.JPEG, 0\r\n');
  const fromCsv = readDataset(flat, csv, resolver, 'labels.txt');
  assert.deepEqual([fromCsv.layout, fromCsv.items, fromCsv.warnings], ['csv', [{ path: 'a.JPEG', label: 1 }, { path: 'b.JPEG', label: 2 }, { path: 'c.JPEG', label: 0 }], []]);
  writeFileSync(csv, 'a.JPEG,1\nb.JPEG\na.JPEG,2\n');
  assert.throws(() => readDataset(flat, csv, resolver, 'labels.txt'), { message: `${csv}: expected path,label on every line but found other text on line 2` });
  writeFileSync(csv, 'a.JPEG,1\na.JPEG,2\n');
  assert.throws(() => readDataset(flat, csv, resolver, 'labels.txt'), { message: `${csv}: expected each image once but found 1 listed again: a.JPEG` });
  writeFileSync(csv, '# nothing\n');
  assert.throws(() => readDataset(flat, csv, resolver, 'labels.txt'), { message: `${csv}: expected path,label rows but found none` });
  const kaggle = join(scratch, 'LOC.csv');
  writeFileSync(kaggle, 'ImageId,PredictionString\na,n1 1 2 3 4\nb,\n');
  assert.throws(() => readDataset(flat, kaggle, resolver, 'labels.txt'), { message: /LOC.csv: expected ImageId,PredictionString \(Kaggle LOC_val_solution.csv\) on every line but found other text on line 3$/ });
  writeFileSync(kaggle, 'ImageId,PredictionString\na,n1 1 2 3 4\nc,n0 5 6 7 8\n');
  assert.deepEqual(readDataset(flat, kaggle, resolver, 'labels.txt').items, [{ path: 'a.JPEG', label: 1 }, { path: 'c.JPEG', label: 0 }]);
  assert.throws(() => readDataset(flat, join(scratch, 'none.txt'), resolver, 'labels.txt'), { message: `${join(scratch, 'none.txt')}: expected a readable ground-truth file but found ENOENT` });
  assert.throws(() => readDataset(join(scratch, 'nowhere'), undefined, resolver, 'l'), { message: `Expected a dataset folder for DATASET but received ${join(scratch, 'nowhere')} (no such folder)` });
  assert.throws(() => readDataset(gt, undefined, resolver, 'l'), { message: `Expected a dataset folder for DATASET but received ${gt} (not a folder)` });
  assert.throws(() => readDataset(join(root, 'cat'), undefined, resolver, 'l'), { message: `Expected class sub-folders in ${join(root, 'cat')} (ImageFolder), or --ground-truth FILE for a flat folder, but found none` });
});

test('detectGroundTruthFormat: the Kaggle header exactly (any case, spaces around the comma), BVLC "file index", else CSV', () => {
  const cases: [string, string][] = [
    ['ImageId,PredictionString\nx,n01440764 0 0 1 1\n', 'kaggle-loc-csv'],
    [' imageid , predictionstring \r\n', 'kaggle-loc-csv'],
    ['my_ImageId,PredictionString\n', 'csv'],
    ['ImageId,PredictionString,extra\n', 'csv'],
    ['ILSVRC2012_val_00000001.JPEG 65\n', 'bvlc-val-txt'],
    ['a b,65\n', 'csv'],
    ['path,label\n', 'csv'],
  ];
  for (const [text, format] of cases) assert.equal(detectGroundTruthFormat(text), format, JSON.stringify(text));
});
