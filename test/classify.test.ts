// The classify command end to end, through the real CLI: JSON output, determinism, every input kind,
// and the one-line errors for bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeNpy } from '../lib/weights/npy.js';
import { Rng } from '../lib/model/random.js';

const cli = fileURLToPath(new URL('../bin/alexnet-cli.js', import.meta.url));
const images = fileURLToPath(new URL('../../test/fixtures/images/', import.meta.url));
const weightsDir = fileURLToPath(new URL('../../test/fixtures/weights/', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'alexnet-classify-'));

function run(...args: string[]) {
  return spawnSync(process.execPath, [cli, 'classify', ...args], { encoding: 'utf8' });
}

const jpeg = join(images, 'coffee-baseline.jpg');
const png = join(images, 'astronaut.png');
const npy = join(scratch, 'batch.npy');
{
  const rng = new Rng(4);
  const data = new Float32Array(2 * 3 * 224 * 224);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal();
  writeNpy(npy, [2, 3, 224, 224], data);
}

test('classify --json on a JPEG, a PNG and an [N,3,H,W] .npy prints one JSON array, one object per input', () => {
  const r = run('--weights', 'random:1', '--arch', 'torchvision', '--json', jpeg, png, npy);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.ok(Array.isArray(out));
  assert.deepEqual(out.map((o: { input: string }) => o.input), [jpeg, png, `${npy}#0`, `${npy}#1`]);
  for (const item of out) {
    assert.equal(item.predictions.length, 5);
    for (const p of item.predictions) {
      assert.deepEqual(Object.keys(p), ['index', 'wnid', 'label', 'probability']);
      assert.match(p.wnid, /^n\d{8}$/);
      assert.ok(p.probability > 0 && p.probability < 1);
    }
    const probs = item.predictions.map((p: { probability: number }) => p.probability);
    assert.deepEqual(probs, [...probs].sort((a, b) => b - a));
  }
  // index 281 is tabby in the canonical order
  const all = JSON.parse(run('--weights', 'random:1', '--arch', 'torchvision', '--json', '--top', '1000', jpeg).stdout)[0].predictions;
  assert.equal(all.length, 1000);
  assert.equal(all.find((p: { index: number }) => p.index === 281).label, 'tabby');
  const sum = all.reduce((a: number, p: { probability: number }) => a + p.probability, 0);
  assert.ok(Math.abs(sum - 1) < 1e-4, `probabilities sum to ${sum}`);
  // the same input and seed give the same output; another seed does not
  assert.equal(run('--weights', 'random:1', '--arch', 'torchvision', '--json', jpeg, png, npy).stdout, r.stdout);
  assert.notEqual(run('--weights', 'random:2', '--arch', 'torchvision', '--json', jpeg).stdout, JSON.stringify([out[0]]) + '\n');
});

test('classify prints a readable top-K list by default', () => {
  const r = run('--weights', 'random:1', '--arch', 'caffe', '--top', '3', jpeg);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines[0], jpeg);
  assert.equal(lines.length, 4);
  assert.match(lines[1], /^ {3}1\. +\d+\.\d\d% {2}.+ \(n\d{8}\)$/);
});

test('classify with an ONNX graph\'s own architecture and --labels for a 10-class head', () => {
  const labels = join(scratch, 'labels.txt');
  writeFileSync(labels, Array.from({ length: 10 }, (_, i) => `thing ${i}`).join('\n'));
  // a reduced-width AlexNet graph for 99x99 inputs, its layers read from the ONNX file
  const weights = join(scratch, 'bvlc_small.onnx');
  copyFileSync(join(weightsDir, 'bvlc_small.onnx'), weights);
  const r = run('--weights', weights, '--labels', labels, '--json', '--top', '2', '--resize', '99x99', jpeg);
  assert.equal(r.status, 0, r.stderr);
  const [item] = JSON.parse(r.stdout);
  assert.match(item.predictions[0].label, /^thing \d$/);
});

const badCases: [string, string[], RegExp][] = [
  ['a missing file', [join(scratch, 'nope.jpg')], /nope\.jpg: .*(ENOENT|no such file|cannot)/i],
  ['a file that is not an image', [join(images, 'not-an-image.jpg')], /not-an-image\.jpg: expected .* but found/],
  ['a truncated JPEG', [join(images, 'truncated.jpg')], /truncated\.jpg: expected a complete JPEG/],
  ['a .npy of the wrong dtype', [join(weightsDir, 'int_array.npy')], /int_array\.npy: expected a float/],
  ['a .npy of the wrong shape', [join(weightsDir, 'fortran.npy')], /fortran\.npy: expected/],
];
for (const [what, inputs, message] of badCases) {
  test(`classify: ${what} gives one line naming the file, exit code 1, no stack`, () => {
    const r = run('--weights', 'random:1', '--arch', 'torchvision', ...inputs);
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^alexnet-cli: /);
    assert.match(r.stderr, message);
  });
}

test('classify: weights that do not fit the architecture name the file and the tensors', () => {
  const r = run('--weights', join(weightsDir, 'tv_small.pth'), '--arch', 'caffe', jpeg);
  assert.equal(r.status, 1);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /tv_small\.pth: expected the tensors of architecture caffe: conv\d\.weight \[.*\] but found \[/);
});

test('classify: --verbose adds the stack; usage errors exit 2', () => {
  const r = run('--weights', 'random:1', '--verbose', join(images, 'truncated.jpg'));
  assert.equal(r.status, 1);
  assert.ok(r.stderr.split('\n').length > 2);
  assert.equal(run('--weights', 'random:1', '--top', '0', jpeg).status, 2);
  assert.equal(run('--weights', 'random:1', '--mean', '1,2', jpeg).status, 2);
  assert.equal(run('--weights', 'random:1').status, 2);
  // a std of 0 divides by 0 and a negative one flips the channel: both are usage errors, one line each
  for (const std of ['0.2,0,0.2', '0.2,-0.2,0.2']) {
    const bad = run('--weights', 'random:1', '--std', std, jpeg);
    assert.equal(bad.status, 2, std);
    assert.equal(bad.stderr, `alexnet-cli: Expected values above 0 for --std but received ${std}\n`);
  }
});

test('classify transforms conv weights to the Winograd domain only for enough images (countImages)', async () => {
  const { countImages, WINOGRAD_MIN_IMAGES } = await import('../lib/commands/classify.js');
  const sizes: Record<string, number> = { 'a.npy': 8 * 4 * 3 * 224 * 224 + 128, 'b.NPY': 100 };
  const size = (path: string) => {
    if (!(path in sizes)) throw new Error(`ENOENT ${path}`);
    return sizes[path];
  };
  assert.equal(countImages(['x.jpg', 'y.png'], size), 2);
  assert.equal(countImages(['a.npy'], size), 8);
  assert.equal(countImages(['b.NPY', 'missing.npy', 'z.jpg'], size), 3);
  assert.ok(countImages(['x.jpg'], size) < WINOGRAD_MIN_IMAGES);
  assert.ok(countImages(['a.npy'], size) >= WINOGRAD_MIN_IMAGES);
});

test('classify goes on past inputs that fail: every good one classified, each bad one one line, exit 1', () => {
  const truncated = join(images, 'truncated.jpg');
  const missing = join(scratch, 'nope.jpg');
  const r = run('--weights', 'random:1', '--arch', 'torchvision', '--top', '1', jpeg, truncated, missing, png);
  assert.equal(r.status, 1);
  const lines = r.stdout.trim().split('\n');
  assert.deepEqual(lines.filter((l) => !l.startsWith(' ')), [jpeg, png]);
  const errors = r.stderr.trim().split('\n');
  assert.equal(errors.length, 2, r.stderr);
  assert.match(errors[0], /^alexnet-cli: .*truncated\.jpg: expected a complete JPEG/);
  assert.match(errors[1], /^alexnet-cli: .*nope\.jpg: /);
  // --json: the failures are entries in the one array, in input order, with their codes
  const j = run('--weights', 'random:1', '--arch', 'torchvision', '--top', '1', '--json', jpeg, truncated, png);
  assert.equal(j.status, 1);
  assert.equal(j.stderr, '');
  const out = JSON.parse(j.stdout);
  assert.deepEqual(out.map((o: { input: string }) => o.input), [jpeg, truncated, png]);
  assert.deepEqual(Object.keys(out[1]), ['input', 'error', 'code']);
  assert.equal(out[1].code, 'ERR_IMAGE');
  assert.match(out[1].error, /truncated\.jpg: expected a complete JPEG/);
  // the good results are the ones a run without the bad file gives
  const good = JSON.parse(run('--weights', 'random:1', '--arch', 'torchvision', '--top', '1', '--json', jpeg, png).stdout);
  assert.deepEqual([out[0], out[2]], good);
});

test('classify takes folders (--recursive for sub-folders) and quoted globs, expanded in sorted order', () => {
  const dir = mkdtempSync(join(scratch, 'photos-'));
  mkdirSync(join(dir, 'more'));
  copyFileSync(jpeg, join(dir, 'b.jpg'));
  copyFileSync(png, join(dir, 'a.png'));
  copyFileSync(jpeg, join(dir, 'more', 'c.JPG'));
  writeFileSync(join(dir, 'notes.txt'), 'not an image');
  const inputs = (...args: string[]) => {
    const r = run('--weights', 'random:1', '--arch', 'torchvision', '--top', '1', '--json', ...args);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout).map((o: { input: string }) => o.input);
  };
  assert.deepEqual(inputs(dir), [join(dir, 'a.png'), join(dir, 'b.jpg')]);
  assert.deepEqual(inputs('--recursive', dir), [join(dir, 'a.png'), join(dir, 'b.jpg'), join(dir, 'more', 'c.JPG')]);
  assert.deepEqual(inputs(join(dir, '*.jpg')), [join(dir, 'b.jpg')]);
  assert.deepEqual(inputs(join(dir, '**', '*.{jpg,JPG}')), [join(dir, 'b.jpg'), join(dir, 'more', 'c.JPG')]);
  // a folder with no images and a glob with no match are failures of their own, the rest still runs
  const empty = mkdtempSync(join(scratch, 'empty-'));
  mkdirSync(join(empty, 'sub'));
  const r = run('--weights', 'random:1', '--arch', 'torchvision', '--top', '1', empty, join(dir, '*.webp'), jpeg);
  assert.equal(r.status, 1);
  assert.equal(r.stdout.split('\n')[0], jpeg);
  assert.deepEqual(r.stderr.trim().split('\n'), [
    `alexnet-cli: ${empty}: expected images (JPEG, PNG, ...) in this folder but found none; it has 1 sub-folder: --recursive takes their images`,
    `alexnet-cli: ${join(dir, '*.webp')}: expected image or .npy files matching this pattern but found none`,
  ]);
});

test('classify --format csv / -o FILE.csv: one row per prediction, failures as rows; -o refuses to overwrite without --force', () => {
  const truncated = join(images, 'truncated.jpg');
  const r = run('--weights', 'random:1', '--arch', 'torchvision', '--top', '2', '--format', 'csv', jpeg, truncated);
  assert.equal(r.status, 1);
  const json = JSON.parse(run('--weights', 'random:1', '--arch', 'torchvision', '--top', '2', '--json', jpeg).stdout);
  const rows = r.stdout.trim().split('\n');
  assert.equal(rows[0], 'input,rank,index,wnid,label,probability,error,code');
  json[0].predictions.forEach((p: { index: number; wnid: string; label: string; probability: number }, i: number) => {
    assert.equal(rows[1 + i], [jpeg, i + 1, p.index, p.wnid, p.label.includes(',') ? `"${p.label}"` : p.label, p.probability, '', ''].join(','));
  });
  assert.match(rows[3], new RegExp(`^${truncated.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')},,,,,,"?.*expected a complete JPEG.*,ERR_IMAGE$`));
  const out = join(scratch, 'results.csv');
  const first = run('--weights', 'random:1', '--arch', 'torchvision', '--top', '2', '-o', out, jpeg);
  assert.equal(first.status, 0, first.stderr);
  assert.equal(first.stdout, '');
  assert.equal(readFileSync(out, 'utf8'), rows.slice(0, 3).join('\n') + '\n');
  const again = run('--weights', 'random:1', '--arch', 'torchvision', '-o', out, jpeg);
  assert.equal(again.status, 2);
  assert.equal(again.stderr, `alexnet-cli: ${out}: expected a new output file but it exists; pass --force to overwrite it or remove the file\n`);
  assert.equal(run('--weights', 'random:1', '--arch', 'torchvision', '--top', '1', '-o', out, '--force', jpeg).status, 0);
  assert.equal(readFileSync(out, 'utf8').trim().split('\n').length, 2);
});

test('classify runs `batch` images per forward pass (--batch), with the same predictions', async () => {
  const { loadModel } = await import('../lib/index.js');
  const { SMALL_ARCHS } = await import('./weights-fixtures.js');
  const arch = { ...SMALL_ARCHS['torchvision-small'], preprocess: { ...SMALL_ARCHS['torchvision-small'].preprocess, resize: [99, 99] as [number, number], crop: null, resizeMode: 'exact' as const } };
  const classifier = await loadModel({ arch, weights: 'random:3' });
  const passes: number[] = [];
  const forward = classifier.forward.bind(classifier);
  classifier.forward = (data, shape, options) => {
    passes.push(shape[0]);
    return forward(data, shape, options);
  };
  const inputs = [jpeg, png, jpeg];
  const byTwo = await classifier.classify(inputs, { batch: 2 });
  assert.deepEqual(passes, [2, 1]);
  passes.length = 0;
  const together = await classifier.classify(inputs);
  assert.deepEqual(passes, [3]);
  assert.deepEqual(byTwo.map((r) => r.predictions.map((p) => p.index)), together.map((r) => r.predictions.map((p) => p.index)));
  await assert.rejects(classifier.classify(inputs, { batch: 0 }), { code: 'ERR_USAGE', message: 'Expected a positive integer for batch but received 0' });
  classifier.dispose();
});

test('classify - reads one image from standard input, alone or among files; an empty one fails with one line', () => {
  const bytes = readFileSync(png);
  const stdin = (input: Buffer | string, ...args: string[]) =>
    spawnSync(process.execPath, [cli, 'classify', ...args], { encoding: 'utf8', input });
  const byPath = JSON.parse(run('--weights', 'random:1', '--json', png).stdout)[0];
  const r = stdin(bytes, '--weights', 'random:1', '--json', '-');
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), [{ ...byPath, input: '-' }]);
  const webp = join(images, 'formats', 'lossy.webp');
  const mixed = stdin(readFileSync(webp), '--weights', 'random:1', '--json', '--top', '1', jpeg, '-');
  assert.equal(mixed.status, 0, mixed.stderr);
  assert.deepEqual(JSON.parse(mixed.stdout).map((o: { input: string }) => o.input), [jpeg, '-']);
  const empty = stdin('', '--weights', 'random:1', '-');
  assert.equal(empty.status, 1);
  assert.equal(empty.stdout, '');
  assert.equal(empty.stderr, 'alexnet-cli: -: expected an image (JPEG, PNG, WebP, BMP, GIF or TIFF) on standard input but it is empty\n');
  const twice = stdin(bytes, '--weights', 'random:1', '-', '-');
  assert.equal(twice.status, 2);
  assert.match(twice.stderr, /Expected - \(standard input\) once in the inputs but received it more than once/);
});

test('classify takes WebP, BMP, GIF and TIFF files', () => {
  const formats = ['lossy.webp', 'rgb24.bmp', 'animated.gif', 'lzw.tif'].map((name) => join(images, 'formats', name));
  const r = run('--weights', 'random:1', '--json', '--top', '1', ...formats);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).map((o: { input: string; predictions: unknown[] }) => [o.input, o.predictions.length]), formats.map((f) => [f, 1]));
});
