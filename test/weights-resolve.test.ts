// lib/weights/resolve.ts: one answer to "which architecture, classes and preprocessing do these weights
// have", for loading, `info` and `convert` alike. The seed net exported by torch.onnx.export
// (test/fixtures/make_seed_onnx.py) is recognised by what it computes, whatever its graph is called.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { weightsInfo } from '../lib/commands/info.js';
import { buildArchitecture } from '../lib/model/archs.js';
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
