// ONNX attribute defaults, read where the graph leaves them out: Gemm without transB, alpha or beta is
// y = x * W + b with W stored [in, out] (every Gemm in the fixtures sets transB=1, so a wrong default
// went unseen); MaxPool without pads, strides or ceil_mode. onnxruntime runs the same graph as the oracle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { onnxRoot, readOnnx } from '../lib/weights/onnx.js';
import { tensorValues } from '../lib/weights/safetensors.js';

const scratch = mkdtempSync(join(tmpdir(), 'weights-onnx-defaults-'));

function modelBytes(nodes: object[], inits: Record<string, { dims: number[]; values: number[] }>, inputDims: number[]): Uint8Array {
  const model = {
    ir_version: 7, opset_import: [{ version: 13 }],
    graph: {
      name: 'g', node: nodes,
      initializer: Object.entries(inits).map(([name, t]) => ({ name, dims: t.dims, data_type: 1, float_data: t.values })),
      input: [{ name: 'x', type: { tensor_type: { elem_type: 1, shape: { dim: inputDims.map((d) => ({ dim_value: d })) } } } }],
      output: [{ name: 'y', type: { tensor_type: { elem_type: 1 } } }],
    },
  };
  const type = onnxRoot().lookupType('onnx.ModelProto');
  return type.encode(type.fromObject(model)).finish();
}

test('Gemm with no attributes: transB 0 (W is [in, out]), alpha 1, beta 1, as onnxruntime computes it', async () => {
  const path = join(scratch, 'gemm-defaults.onnx');
  // W [in=3, out=2]: y_j = sum_i x_i W[i][j] + b_j
  const w = [1, 2, 3, 4, 5, 6];
  const b = [10, 20];
  writeFileSync(path, modelBytes([
    { op_type: 'GlobalAveragePool', input: ['x'], output: ['g'] },
    { op_type: 'Flatten', input: ['g'], output: ['f'] },
    { op_type: 'Gemm', input: ['f', 'w', 'b'], output: ['y'] },
  ], { w: { dims: [3, 2], values: w }, b: { dims: [2], values: b } }, [1, 3, 2, 2]));
  const set = await readOnnx(path);
  const weight = set.tensors.get('fc1.weight')!;
  assert.deepEqual(weight.shape, [2, 3]);
  // by hand: the transpose, unscaled
  assert.deepEqual(Array.from(tensorValues(weight)), [1, 3, 5, 2, 4, 6]);
  assert.deepEqual(Array.from(tensorValues(set.tensors.get('fc1.bias')!)), b);
  // onnxruntime on the same file: our [out, in] weight and bias give its output
  const x = Float32Array.from([1, 2, 3, 4, -1, -2, -3, -4, 0.5, 0.5, 0.5, 0.5]);
  const session = await ort.InferenceSession.create(path);
  const y = (await session.run({ x: new ort.Tensor('float32', x, [1, 3, 2, 2]) })).y.data as Float32Array;
  const pooled = [2.5, -2.5, 0.5];
  const ours = [0, 1].map((j) => [0, 1, 2].reduce((s, i) => s + pooled[i] * tensorValues(weight)[j * 3 + i], tensorValues(set.tensors.get('fc1.bias')!)[j]));
  assert.deepEqual(Array.from(y), ours);
  assert.deepEqual(ours, [10 + 2.5 - 7.5 + 2.5, 20 + 5 - 10 + 3]);
});

test('MaxPool with only kernel_shape: stride 1, no pads, floor', async () => {
  const path = join(scratch, 'pool-defaults.onnx');
  writeFileSync(path, modelBytes([
    { op_type: 'MaxPool', input: ['x'], output: ['p'], attribute: [{ name: 'kernel_shape', type: 7, ints: [2, 3] }] },
    { op_type: 'Flatten', input: ['p'], output: ['f'] },
    { op_type: 'Gemm', input: ['f', 'w'], output: ['y'], attribute: [{ name: 'transB', type: 2, i: 1 }] },
  ], { w: { dims: [2, 1 * 4 * 3], values: new Array(24).fill(0.5) } }, [1, 1, 5, 5]));
  const set = await readOnnx(path);
  assert.deepEqual(set.arch!.layers[0], { type: 'maxPool2d', name: 'pool0', kernel: [2, 3], stride: [1, 1], pad: [0, 0, 0, 0], ceil: false });
  assert.deepEqual(set.tensors.get('fc1.weight')!.shape, [2, 12]);
});
