import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { PREPROCESS } from '../lib/model/archs.js';
import type { LayerSpec } from '../lib/model/layers.js';
import { encodeOnnx, writeOnnx } from '../lib/weights/onnx-export.js';
import { onnxRoot, readOnnx } from '../lib/weights/onnx.js';
import { tensorValues } from '../lib/weights/safetensors.js';
import { readTorch } from '../lib/weights/torch.js';
import { SMALL_ARCHS, assertMatchesManifest, fixture, referenceIo, relativeL2 } from './weights-fixtures.js';

const scratch = mkdtempSync(join(tmpdir(), 'weights-onnx-'));
const layer = (layers: LayerSpec[], name: string) => layers.find((l) => l.name === name)!;

test('bvlcalexnet-style graph: LRN, groups, pool5 pads [0,0,1,1], Reshape [1,-1], Gemm transB, Softmax', async () => {
  const set = await readOnnx(fixture('bvlc_small.onnx'));
  assertMatchesManifest(set, 'bvlc_small.onnx');
  const arch = set.arch!;
  assert.deepEqual(arch.input, [3, 99, 99]);
  assert.deepEqual(arch.layers.map((l) => l.name), ['conv1', 'norm1', 'pool1', 'conv2', 'norm2', 'pool2', 'conv3', 'conv4', 'conv5', 'pool5',
    'flatten', 'fc6', 'drop6', 'fc7', 'drop7', 'fc8', 'prob']);
  assert.deepEqual(layer(arch.layers, 'conv1'), { type: 'conv2d', name: 'conv1', outChannels: 8, kernel: [11, 11], stride: [4, 4], pad: [0, 0, 0, 0], groups: 1, bias: true, relu: true });
  assert.equal((layer(arch.layers, 'conv2') as { groups: number }).groups, 2);
  assert.deepEqual(layer(arch.layers, 'norm1'), { type: 'lrn', name: 'norm1', size: 5, alpha: Math.fround(1e-4), beta: 0.75, k: 1 });
  assert.deepEqual(layer(arch.layers, 'pool5'), { type: 'maxPool2d', name: 'pool5', kernel: [3, 3], stride: [2, 2], pad: [0, 0, 1, 1], ceil: false });
  assert.deepEqual(layer(arch.layers, 'fc8'), { type: 'linear', name: 'fc8', outFeatures: 10, bias: true, relu: false });
  assert.equal(arch.output, 'probabilities');
  assert.equal(arch.numClasses, 10);
  assert.deepEqual(set.preprocess, PREPROCESS['bvlc-zoo']);
});

test('external data: initializers read relative to the model file', async () => {
  const set = await readOnnx(fixture('bvlc_small_ext.onnx'));
  assertMatchesManifest(set, 'bvlc_small_ext.onnx');
  // conv and transB=1 Gemm weights stay in the .data file
  assert.equal(set.tensors.get('fc6.weight')!.file?.path, fixture('bvlc_small_ext.onnx.data'));
});

for (const opset of [9, 17]) {
  test(`torch.onnx.export opset ${opset}: canonical names, torchvision preprocessing, logits`, async () => {
    const file = `tv_small_opset${opset}.onnx`;
    const set = await readOnnx(fixture(file));
    assertMatchesManifest(set, file);
    assert.deepEqual(set.preprocess, PREPROCESS.torchvision);
    assert.equal(set.arch!.output, 'logits');
    assert.deepEqual(set.arch!.layers.filter((l) => l.type === 'avgPool2d').map((l) => l.name), ['pool5_2']);
    assert.equal(set.metadata.opset, String(opset));
  });
}

/** A one-input graph from node descriptions, with float initializers */
function graphBytes(nodes: object[], inits: Record<string, { dims: number[]; values?: number[]; int64?: number[] }>, output: string, inputDims = [1, 3, 8, 8]): Uint8Array {
  const initializer = Object.entries(inits).map(([name, t]) => t.int64
    ? { name, dims: t.dims, data_type: 7, int64_data: t.int64 }
    : { name, dims: t.dims, data_type: 1, float_data: t.values ?? new Array(t.dims.reduce((a, b) => a * b, 1)).fill(0.5) });
  const model = {
    ir_version: 7, opset_import: [{ version: 13 }],
    graph: {
      name: 'g', node: nodes, initializer,
      input: [{ name: 'x', type: { tensor_type: { elem_type: 1, shape: { dim: inputDims.map((d) => ({ dim_value: d })) } } } }],
      output: [{ name: output }],
    },
  };
  const type = onnxRoot().lookupType('onnx.ModelProto');
  return type.encode(type.fromObject(model)).finish();
}

test('Pad folds into the next Conv; MatMul + Add is a linear layer; asymmetric pads kept', async () => {
  const path = join(scratch, 'pad.onnx');
  writeFileSync(path, graphBytes([
    { op_type: 'Pad', input: ['x', 'pads'], output: ['p'] },
    { op_type: 'Conv', input: ['p', 'w'], output: ['c'], attribute: [{ name: 'pads', type: 7, ints: [0, 1, 0, 0] }] },
    { op_type: 'Flatten', input: ['c'], output: ['f'] },
    { op_type: 'MatMul', input: ['f', 'm'], output: ['mm'] },
    { op_type: 'Add', input: ['mm', 'b'], output: ['y'] },
  ], {
    pads: { dims: [8], int64: [0, 0, 1, 0, 0, 0, 0, 2] }, w: { dims: [2, 3, 3, 3] },
    m: { dims: [2 * 7 * 9, 4], values: Array.from({ length: 2 * 7 * 9 * 4 }, (_, i) => i) }, b: { dims: [4] },
  }, 'y'));
  const set = await readOnnx(path);
  assert.deepEqual(set.arch!.layers[0], { type: 'conv2d', name: 'conv1', outChannels: 2, kernel: [3, 3], stride: [1, 1], pad: [1, 1, 0, 2], groups: 1, bias: false, relu: false });
  const fc = set.tensors.get('fc2.weight')!;
  assert.deepEqual(fc.shape, [4, 126]);
  // MatMul's [in, out] is transposed to [out, in]
  assert.deepEqual(Array.from(tensorValues(fc).subarray(0, 3)), [0, 4, 8]);
  assert.deepEqual(set.tensors.get('fc2.bias')!.shape, [4]);
});

test('Gemm transB=0 with alpha and beta, GlobalAveragePool, Identity, a Constant Reshape shape', async () => {
  const path = join(scratch, 'gemm.onnx');
  writeFileSync(path, graphBytes([
    { op_type: 'GlobalAveragePool', input: ['x'], output: ['g'] },
    { op_type: 'Identity', input: ['g'], output: ['i'] },
    { op_type: 'Constant', input: [], output: ['shape'], attribute: [{ name: 'value', type: 4, t: { dims: [2], data_type: 7, int64_data: [1, -1] } }] },
    { op_type: 'Reshape', input: ['i', 'shape'], output: ['r'] },
    { op_type: 'Gemm', input: ['r', 'w', 'b'], output: ['y'], attribute: [
      { name: 'alpha', type: 1, f: 2 }, { name: 'beta', type: 1, f: 0.5 }, { name: 'transB', type: 2, i: 0 }] },
  ], { w: { dims: [3, 2], values: [1, 2, 3, 4, 5, 6] }, b: { dims: [2], values: [10, 20] } }, 'y'));
  const set = await readOnnx(path);
  assert.deepEqual(set.arch!.layers.map((l) => l.type), ['adaptiveAvgPool2d', 'flatten', 'linear']);
  assert.equal(set.arch!.numClasses, 2);
  // [in=3, out=2] -> [out, in], times alpha; bias times beta
  assert.deepEqual(Array.from(tensorValues(set.tensors.get('fc1.weight')!)), [2, 6, 10, 4, 8, 12]);
  assert.deepEqual(Array.from(tensorValues(set.tensors.get('fc1.bias')!)), [5, 10]);
});

test('unsupported operators are listed in one error; dilations and branches are refused', async () => {
  const path = join(scratch, 'bad.onnx');
  writeFileSync(path, graphBytes([
    { op_type: 'Sigmoid', name: 's', input: ['x'], output: ['a'] },
    { op_type: 'BatchNormalization', name: 'bn', input: ['a'], output: ['b'] },
    { op_type: 'Flatten', input: ['b'], output: ['y'] },
  ], {}, 'y'));
  await assert.rejects(readOnnx(path), { message: `${path}: unsupported ONNX operators: Sigmoid (s), BatchNormalization (bn)` });
  writeFileSync(path, graphBytes([
    { op_type: 'Conv', name: 'c', input: ['x', 'w'], output: ['y'], attribute: [{ name: 'dilations', type: 7, ints: [2, 2] }] },
  ], { w: { dims: [2, 3, 3, 3] } }, 'y'));
  await assert.rejects(readOnnx(path), { message: `${path}: expected dilations 1 for Conv c but found [2,2]` });
  writeFileSync(path, graphBytes([
    { op_type: 'Relu', name: 'r1', input: ['x'], output: ['a'] },
    { op_type: 'Relu', name: 'r2', input: ['x'], output: ['y'] },
  ], {}, 'y'));
  await assert.rejects(readOnnx(path), { message: `${path}: expected node r2 (Relu) to take the previous layer's output a but it takes x: only single-chain graphs are supported` });
});

test('truncated ONNX file', async () => {
  const path = fixture('truncated.onnx');
  await assert.rejects(readOnnx(path), { code: 'ERR_WEIGHTS', message: /truncated\.onnx: expected an ONNX ModelProto but it does not decode \(.*; truncated\?\)$/ });
});

test('export: our ONNX runs in onnxruntime-node and matches PyTorch; it reads back to the same architecture', async () => {
  const arch = SMALL_ARCHS['torchvision-small'];
  const set = await readTorch(fixture('tv_small.pth'));
  const tensors = new Map([...set.tensors].map(([k, t]) => [k, { shape: t.shape, data: tensorValues(t) }]));
  const path = join(scratch, 'tv_small_export.onnx');
  writeOnnx(path, arch, tensors, { metadata: { arch: 'torchvision' } });
  const session = await ort.InferenceSession.create(path);
  const { input, shape, output } = referenceIo('torchvision-small');
  const result = await session.run({ input: new ort.Tensor('float32', input, shape) });
  assert.ok(relativeL2(result.output.data as Float32Array, output) <= 1e-5);
  const back = await readOnnx(path);
  assert.equal(back.metadata.arch, 'torchvision');
  for (const [name, t] of tensors) assert.deepEqual(tensorValues(back.tensors.get(name)!), t.data, name);
  const convs = (layers: LayerSpec[]) => layers.filter((l) => l.type === 'conv2d' || l.type === 'linear');
  assert.deepEqual(convs(back.arch!.layers), convs(arch.layers));
});

test('export: seed "same" padding becomes auto_pad SAME_UPPER; caffe LRN, groups and ceil pools survive', async () => {
  for (const name of ['seed-small', 'caffe-small']) {
    const arch = SMALL_ARCHS[name];
    const source = name === 'seed-small' ? 'seed_small.h5' : 'caffe_small.caffemodel';
    const { readWeights } = await import('../lib/weights/index.js');
    const set = await readWeights(fixture(source));
    const tensors = new Map([...set.tensors].map(([k, t]) => [k, { shape: t.shape, data: tensorValues(t) }]));
    const path = join(scratch, `${name}.onnx`);
    writeFileSync(path, encodeOnnx(arch, tensors));
    const session = await ort.InferenceSession.create(path);
    const { input, shape, output } = referenceIo(name);
    const result = await session.run({ input: new ort.Tensor('float32', input, shape) });
    assert.ok(relativeL2(result.output.data as Float32Array, output) <= 1e-5, name);
  }
});
