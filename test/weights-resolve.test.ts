// lib/weights/resolve.ts: one answer to "which architecture, classes and preprocessing do these weights
// have", for loading, `info` and `convert` alike. The seed net exported by torch.onnx.export
// (test/fixtures/make_seed_onnx.py) is recognised by what it computes, whatever its graph is called.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { weightsInfo } from '../lib/commands/info.js';
import { loadModel } from '../lib/index.js';
import { ARCH_NAMES, buildArchitecture } from '../lib/model/archs.js';
import type { Architecture } from '../lib/model/layers.js';
import { Model } from '../lib/model/model.js';
import { parameterShapes } from '../lib/model/shapes.js';
import { convertWeights } from '../lib/weights/convert.js';
import { readWeights } from '../lib/weights/index.js';
import { readOnnx } from '../lib/weights/onnx.js';
import { resolveWeights } from '../lib/weights/resolve.js';
import { fixture, relativeL2 } from './weights-fixtures.js';

const cli = fileURLToPath(new URL('../bin/alexnet-cli.js', import.meta.url));
const photo = fileURLToPath(new URL('../../test/fixtures/images/astronaut.png', import.meta.url));
const SEED_ONNX = fixture('seed_small_227.onnx');
const scratch = mkdtempSync(join(tmpdir(), 'alexnet-resolve-'));

function readF32Npy(path: string): Float32Array {
  const buf = readFileSync(path);
  const data = buf.subarray(10 + buf.readUInt16LE(8));
  return new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
}

test('the seed net exported by torch.onnx.export is architecture seed with a 227 crop, whatever the graph is called', async () => {
  const set = await readOnnx(SEED_ONNX);
  assert.equal(set.arch!.name, 'torch_jit');
  assert.deepEqual(set.arch!.input, [3, 227, 227]);
  const { arch, preprocess } = resolveWeights(set);
  assert.equal(arch.name, 'seed');
  assert.equal(arch.numClasses, 10);
  // the seed's layers (dropout, 'same' pads) with the export's channel counts
  assert.deepEqual(arch.layers.map((l) => l.type), buildArchitecture('seed', 10).layers.map((l) => l.type));
  assert.deepEqual(preprocess.crop, [227, 227]);
  assert.deepEqual(preprocess.resize, [256, 256]);
  const info = await weightsInfo(SEED_ONNX);
  assert.equal(info.architecture, 'seed');
  assert.deepEqual(info.preprocess!.crop, [227, 227]);
});

test('classify --weights seed.onnx photo: PyTorch\'s probabilities (relative L2 <= 1e-5)', () => {
  const r = spawnSync(process.execPath, [cli, 'classify', '--weights', SEED_ONNX, '--top', '10', '--json', photo], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const [result] = JSON.parse(r.stdout) as { predictions: { index: number; probability: number }[] }[];
  const ours = new Float32Array(10);
  for (const p of result.predictions) ours[p.index] = p.probability;
  const expected = readF32Npy(fixture('seed_small_227_out.npy'));
  assert.ok(relativeL2(ours, expected) <= 1e-5, `relative L2 ${relativeL2(ours, expected)}`);
});

test('convert keeps a narrower seed whole: the converted file is seed again and loads', async () => {
  const out = join(scratch, 'seed.safetensors');
  const result = await convertWeights(SEED_ONNX, out);
  assert.equal(result.arch.name, 'seed');
  const set = await readWeights(out);
  const { arch, preprocess } = resolveWeights(set);
  assert.deepEqual(arch, result.arch);
  assert.deepEqual(preprocess, result.preprocess);
});

test('a graph that computes something else keeps its own name; a graph at another input size is no named architecture', async () => {
  const bvlc = resolveWeights(await readOnnx(fixture('bvlc_small.onnx')));
  assert.equal(bvlc.arch.name, 'bvlc_alexnet_small');
  assert.deepEqual(bvlc.preprocess.resize, [99, 99]);   // the zoo's 224x224 resize made the graph's 99x99
  const tv = resolveWeights(await readOnnx(fixture('tv_small_opset17.onnx')));
  assert.notEqual(tv.arch.name, 'torchvision');
});

test('one check of weights against an architecture, with one message, wherever it is made', async () => {
  const set = await readWeights(fixture('tv_small.pth'));
  const message = /^.*tv_small\.pth: expected the tensors of architecture caffe: conv1\.weight \[96,3,11,11\] but found \[8,3,11,11\];/;
  assert.throws(() => resolveWeights(set, { arch: 'caffe' }), { code: 'ERR_WEIGHTS', message });
  await assert.rejects(Model.fromWeights(buildArchitecture('caffe', 10), set), { code: 'ERR_WEIGHTS', message });
  // classes one way: fc8's rows
  assert.equal(resolveWeights({ ...set, tensors: new Map([...parameterShapes(buildArchitecture('seed', 7))].map(([k, shape]) => [k, { shape }])) }).arch.numClasses, 7);
});

test('a caller\'s own architecture object is checked as a file\'s would be: a usage error naming the field', async () => {
  const set = await readWeights(fixture('tv_small.pth'));
  const arch = buildArchitecture('caffe', 10);
  const bad = { ...arch, layers: arch.layers.map((l, i) => (i === 0 ? { ...l, stride: [0, 4] } : l)) } as typeof arch;
  assert.throws(() => resolveWeights(set, { arch: bad }), {
    code: 'ERR_USAGE',
    message: /^Expected arch\.layers\[0\]\.stride \(conv2d conv1\) to be 2 integers from 1 to 16777216 but found \[0,4\]$/,
  });
  // the same object with its stride back passes the check (and reaches the tensors' check)
  assert.throws(() => resolveWeights(set, { arch }), { code: 'ERR_WEIGHTS' });
});

test('metadata naming an architecture this tool does not have is ignored: the tensors decide', async () => {
  // tv_small.pth: narrow channel counts, so detection from its tensors refuses it, naming what it found
  const set = await readWeights(fixture('tv_small.pth'));
  const detected = /expected the tensors of one of seed \(conv1\.weight \[96,3,11,11\]/;
  for (const arch of ['resnet', 'toString', '']) {
    assert.throws(() => resolveWeights({ ...set, metadata: { arch } }), detected, `arch "${arch}"`);
  }
  // a name it has is taken, with its class count (then the tensors are checked against it: torchvision's widths, 7 classes)
  assert.throws(() => resolveWeights({ ...set, metadata: { arch: 'torchvision', numClasses: '7' } }),
    /expected the tensors of architecture torchvision: conv1\.weight \[64,3,11,11\] but found \[8,3,11,11\];.*fc8\.weight \[7,4096\] but found \[10,16\]/);
});

// Metadata is whatever the file says (safetensors __metadata__, ONNX metadata_props): a small network of
// our own stored with its tensors, then its architecture, preprocess and numClasses made hostile one by one.
const TINY: Architecture = {
  name: 'tiny', input: [3, 8, 8], output: 'logits', numClasses: 3,
  preprocess: { resizeMode: 'exact', resize: [8, 8], crop: null, range: 1, mean: [0, 0, 0], std: [1, 1, 1], bgr: false },
  layers: [
    { type: 'conv2d', name: 'conv1', outChannels: 2, kernel: [3, 3], stride: [1, 1], pad: [0, 0, 0, 0], groups: 1, bias: true, relu: true },
    { type: 'maxPool2d', name: 'pool1', kernel: [2, 2], stride: [2, 2], pad: [0, 0, 0, 0], ceil: false },
    { type: 'flatten', name: 'flatten' },
    { type: 'linear', name: 'fc8', outFeatures: 3, bias: true, relu: false },
  ],
};
let files = 0;
/** a safetensors file (u64 header length, JSON header, data) holding `arch`'s tensors (0.01 each) and `metadata` */
function tinyFile(metadata: Record<string, string>, arch: Architecture = TINY): string {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, shape] of parameterShapes(arch)) {
    const bytes = shape.reduce((a, b) => a * b, 1) * 4;
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const text = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(text.length));
  const data = Buffer.from(new Float32Array(offset / 4).fill(0.01).buffer);
  const path = join(scratch, `tiny${files++}.safetensors`);
  writeFileSync(path, Buffer.concat([length, text, data]));
  return path;
}
const archText = (change: (a: Record<string, any>) => void): string => {
  const a = JSON.parse(JSON.stringify(TINY));
  change(a);
  return JSON.stringify(a);
};
const preText = (change: (p: Record<string, any>) => void): string => {
  const p = JSON.parse(JSON.stringify(TINY.preprocess));
  change(p);
  return JSON.stringify(p);
};
const refusedMetadata = async (metadata: Record<string, string>, message: string) => {
  const path = tinyFile(metadata);
  const set = await readWeights(path);
  assert.throws(() => resolveWeights(set), { code: 'ERR_WEIGHTS', message: `${path}: ${message}` }, JSON.stringify(metadata));
};

test('metadata architecture, preprocess and numClasses: each field\'s type and range, one line naming the file', async () => {
  const good = { architecture: JSON.stringify(TINY), preprocess: JSON.stringify(TINY.preprocess) };
  const resolved = resolveWeights(await readWeights(tinyFile(good)));
  assert.deepEqual([resolved.arch, resolved.preprocess], [TINY, TINY.preprocess]);
  const sizes = 'an integer from 1 to 16777216';
  const pair = '2 integers from 1 to 16777216';
  const types = 'conv2d, maxPool2d, avgPool2d, lrn, adaptiveAvgPool2d, flatten, linear, relu, dropout, softmax';
  const cases: [Record<string, string>, string][] = [
    [{ ...good, preprocess: '{bad' }, 'expected JSON in the metadata preprocess but found text that does not parse: "{bad"'],
    [{ ...good, architecture: '{bad' }, 'expected JSON in the metadata architecture but found text that does not parse: "{bad"'],
    [{ ...good, architecture: '{"name":"x"}' }, 'expected metadata architecture.input to be 3 integers from 1 to 16777216 (channels, height, width) but found none'],
    [{ ...good, architecture: 'null' }, 'expected metadata architecture to be an object but found null'],
    [{ ...good, architecture: archText((a) => { a.layers = 'abc'; }) }, 'expected metadata architecture.layers to be a non-empty array of layers but found "abc"'],
    [{ ...good, architecture: archText((a) => { a.layers.splice(1, 0, { type: 'bogus', name: 'x' }); }) },
      `expected metadata architecture.layers[1].type to be one of ${types} but found "bogus"`],
    [{ ...good, architecture: archText((a) => { a.layers[0].stride = [4.5, 4.5]; }) },
      `expected metadata architecture.layers[0].stride (conv2d conv1) to be ${pair} but found [4.5,4.5]`],
    [{ ...good, architecture: archText((a) => { a.layers[1].stride = [0, 0]; }) },
      `expected metadata architecture.layers[1].stride (maxPool2d pool1) to be ${pair} but found [0,0]`],
    [{ ...good, architecture: archText((a) => { a.layers[1].pad = [-1, -1, 1, 1]; }) },
      'expected metadata architecture.layers[1].pad (maxPool2d pool1) to be 4 integers from 0 to 16777216 but found [-1,-1,1,1]'],
    [{ ...good, architecture: archText((a) => { a.layers[0].outChannels = '2'; }) },
      `expected metadata architecture.layers[0].outChannels (conv2d conv1) to be ${sizes} but found "2"`],
    [{ ...good, architecture: archText((a) => { a.layers.splice(1, 0, { type: 'lrn', name: 'norm1', size: -5, alpha: 1e-4, beta: 0.75, k: 1 }); }) },
      `expected metadata architecture.layers[1].size (lrn norm1) to be ${sizes} but found -5`],
    [{ ...good, architecture: archText((a) => { a.numClasses = 'abc'; }) }, `expected metadata architecture.numClasses to be ${sizes} but found "abc"`],
    // the types are right but the layers do not fit the input
    [{ ...good, architecture: archText((a) => { a.layers[1].kernel = [20, 20]; }) },
      'expected metadata architecture to have shapes that infer but found: Expected an input of at least 20x20 for layer pool1 but received 6x6'],
    [{ ...good, architecture: archText((a) => { a.preprocess.std = [1, 0, 1]; }) },
      'expected metadata architecture.preprocess.std to be 3 numbers above 0 whose reciprocals are finite in float32 but found [1,0,1]'],
    [{ arch: 'torchvision', numClasses: 'abc' }, 'expected metadata numClasses to be an integer from 1 to 16777216 but found "abc"'],
    [{ arch: 'torchvision', numClasses: '1e3' }, 'expected metadata numClasses to be an integer from 1 to 16777216 but found "1e3"'],
    [{ ...good, preprocess: preText((p) => { p.mean = 'abc'; }) }, 'expected metadata preprocess.mean to be 3 numbers finite in float32 but found "abc"'],
    [{ ...good, preprocess: preText((p) => { p.std = [0, 0, 0]; }) }, 'expected metadata preprocess.std to be 3 numbers above 0 whose reciprocals are finite in float32 but found [0,0,0]'],
    // finite doubles the float32 pipeline cannot use: a std that is 0 in float32, a mean that is Infinity there
    [{ ...good, preprocess: preText((p) => { p.std = [1e-300, 1, 1]; }) }, 'expected metadata preprocess.std to be 3 numbers above 0 whose reciprocals are finite in float32 but found [1e-300,1,1]'],
    [{ ...good, preprocess: preText((p) => { p.std = [1e-39, 1, 1]; }) }, 'expected metadata preprocess.std to be 3 numbers above 0 whose reciprocals are finite in float32 but found [1e-39,1,1]'],
    [{ ...good, preprocess: preText((p) => { p.mean = [1e308, 0, 0]; }) }, 'expected metadata preprocess.mean to be 3 numbers finite in float32 but found [1e+308,0,0]'],
    [{ ...good, preprocess: preText((p) => { p.resizeMode = 'bogus'; }) }, 'expected metadata preprocess.resizeMode to be \'shorter\' or \'exact\' but found "bogus"'],
    [{ ...good, preprocess: preText((p) => { p.resize = [0, 0]; }) }, 'expected metadata preprocess.resize to be 2 integers from 1 to 67108864 but found [0,0]'],
    [{ ...good, preprocess: preText((p) => { p.range = 2; }) }, 'expected metadata preprocess.range to be 1 or 255 but found 2'],
    [{ ...good, preprocess: 'null' }, 'expected metadata preprocess to be an object but found null'],
  ];
  for (const [metadata, message] of cases) await refusedMetadata(metadata, message);
  // `info` reads the preprocess even when the architecture does not resolve: the same line, not a TypeError
  const path = tinyFile({ ...good, preprocess: preText((p) => { p.mean = 'abc'; }) });
  await assert.rejects(weightsInfo(path), { code: 'ERR_WEIGHTS', message: `${path}: expected metadata preprocess.mean to be 3 numbers finite in float32 but found "abc"` });
});

test('a huge resize or crop in the metadata is refused when it is read, before anything is allocated from it', async () => {
  const huge = (mode: string) => preText((p) => { p.resizeMode = mode; p.resize = [100000, 100000]; p.crop = [100000, 100000]; });
  await refusedMetadata({ preprocess: huge('exact'), architecture: JSON.stringify(TINY) }, 'expected metadata preprocess.resize to be a size of at most 67108864 pixels but found [100000,100000]');
  await refusedMetadata({ preprocess: huge('shorter'), architecture: JSON.stringify(TINY) }, 'expected metadata preprocess.resize to be a size of at most 67108864 pixels but found [100000,100000]');
  await refusedMetadata({ preprocess: preText((p) => { p.crop = [100000, 100000]; }), architecture: JSON.stringify(TINY) },
    'expected metadata preprocess.crop to be a size of at most 67108864 pixels but found [100000,100000]');
  // a caller's preprocessing: refused before the batch tensor is made from its crop
  const classifier = await loadModel({ weights: tinyFile({ architecture: JSON.stringify(TINY) }) });
  const preprocess = { ...TINY.preprocess, crop: [100000, 100000] as [number, number] };
  await assert.rejects(classifier.classify([photo], { preprocess }), {
    code: 'ERR_PREPROCESS',
    message: 'Expected preprocess.crop to be a size of at most 67108864 pixels but found [100000,100000] (from the weights\' stored preprocessing or --resize/--crop/--mean/--std)',
  });
  assert.equal((await classifier.classify([photo], { top: 1 }))[0].predictions.length, 1);
});

test('the metadata convert writes for the three architectures passes the checks', async () => {
  for (const name of ARCH_NAMES) {
    const arch = buildArchitecture(name, 10);
    // what convert stores for a network that is not a named one: the architecture in full
    const renamed = { ...arch, name: `my-${name}` };
    const set = { format: 'safetensors', path: `${name}.safetensors`, metadata: { arch: renamed.name, architecture: JSON.stringify(renamed), preprocess: JSON.stringify(arch.preprocess), numClasses: '10' },
      tensors: new Map([...parameterShapes(arch)].map(([k, shape]) => [k, { shape }])) };
    assert.deepEqual(resolveWeights(set), { arch: renamed, preprocess: arch.preprocess }, name);
    const named = { ...set, metadata: { arch: name, numClasses: '10', preprocess: JSON.stringify(arch.preprocess) } };
    assert.deepEqual(resolveWeights(named), { arch, preprocess: arch.preprocess }, name);
  }
});

test('classify with hostile metadata: one line naming the weights file, exit 1', () => {
  const path = tinyFile({ architecture: JSON.stringify(TINY), preprocess: preText((p) => { p.resize = [100000, 100000]; p.crop = [100000, 100000]; }) });
  const r = spawnSync(process.execPath, [cli, 'classify', '--weights', path, photo], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, `alexnet-cli: ${path}: expected metadata preprocess.resize to be a size of at most 67108864 pixels but found [100000,100000]\n`);
  const info = spawnSync(process.execPath, [cli, 'info', tinyFile({ architecture: archText((a) => { a.layers[1].pad = [-3, -3, 3, 3]; }) })], { encoding: 'utf8' });
  assert.equal(info.status, 0, info.stderr);
  assert.match(info.stdout, /architecture +unknown \(expected metadata architecture\.layers\[1\]\.pad \(maxPool2d pool1\) to be 4 integers from 0 to 16777216 but found \[-3,-3,3,3\]\)/);
});
