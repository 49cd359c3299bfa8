// onnxruntime-node as an independent oracle: each full-size architecture with random weights is
// exported to ONNX, run by ORT (2 threads, all graph optimisations on) and by us, and compared.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { ARCH_NAMES, buildArchitecture } from '../lib/model/archs.js';
import { Model } from '../lib/model/model.js';
import { Rng } from '../lib/model/random.js';
import { encodeOnnx } from '../lib/weights/onnx-export.js';
import { relativeL2 } from './reference-forward.js';

const require = createRequire(import.meta.url);
let ort: typeof import('onnxruntime-node') | undefined;
let ortMissing = '';
try {
  ort = require('onnxruntime-node');
} catch (e) {
  ortMissing = `onnxruntime-node is not installed (${(e as Error).message.split('\n')[0]}); run npm install with dev dependencies`;
}

const BOUND = 1e-5;

for (const name of ARCH_NAMES) {
  test(`${name}: our forward pass equals onnxruntime's on the same weights (relative L2 <= ${BOUND}), batch 3`, { skip: ortMissing || false }, async (t) => {
    // scores before a final softmax (see model.test.ts: the softmax of random weights' peaky scores
    // multiplies relative error); the softmax is then compared with its own, looser bound
    const full = buildArchitecture(name);
    const arch = { ...full, layers: full.layers.filter((l) => l.type !== 'softmax') };
    const model = await Model.random(arch, 5);
    const session = await ort!.InferenceSession.create(encodeOnnx(arch, model.parameters()), {
      intraOpNumThreads: 2, graphOptimizationLevel: 'all',
    });
    const shape = [3, 3, arch.input[1], arch.input[2]];
    const rng = new Rng(9);
    const input = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < input.length; i++) input[i] = rng.normal();
    const ours = await model.forward(input, shape);
    const result = await session.run({ [session.inputNames[0]]: new ort!.Tensor('float32', input, shape) });
    const theirs = result[session.outputNames[0]].data as Float32Array;
    assert.deepEqual(result[session.outputNames[0]].dims, [3, 1000]);
    const err = relativeL2(ours, theirs);
    t.diagnostic(`relative L2 ${err.toExponential(2)}`);
    assert.ok(err <= BOUND, `relative L2 ${err}`);
    // a different input gives a different answer in both (the comparison is not vacuous)
    assert.ok(relativeL2(ours.subarray(0, 1000), ours.subarray(1000, 2000)) > 1e-3);
    await session.release();
    model.dispose();
  });
}
