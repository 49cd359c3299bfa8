import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildArchitecture } from '../lib/model/archs.js';
import { Model } from '../lib/model/model.js';
import { Rng } from '../lib/model/random.js';
import { ARCH_NAMES } from '../lib/model/archs.js';
import { referenceForward, relativeL2 } from './reference-forward.js';
import { softmax } from './reference.js';
import { native, type NativeTensor } from '../lib/native.js';

// fp32 kernels against a float64-accumulating reference through 8 layers: the bound
const BOUND = 1e-5;

function randomInput(shape: number[], seed: number): Float32Array {
  const rng = new Rng(seed);
  const x = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  return x;
}

for (const name of ARCH_NAMES) {
  // batch 2 on the cheapest network, batch 1 on the others: the naive reference costs seconds per image
  const batch = name === 'torchvision' ? 2 : 1;
  test(`${name}: the native forward pass equals the plain reference (relative L2 <= ${BOUND}), batch ${batch}`, async (t) => {
    const arch = buildArchitecture(name);
    // Compare the network's scores before a final softmax: a softmax over the peaky scores of random
    // weights (|logit| up to ~20) multiplies the relative error by the logit scale. The softmax itself
    // is compared kernel-to-reference in kernels.test.ts; here it gets a looser, stated bound.
    const scoresArch = { ...arch, layers: arch.layers.filter((l) => l.type !== 'softmax') };
    const model = await Model.random(arch, 7);
    const scoresModel = await Model.random(scoresArch, 7);
    const shape = [batch, 3, arch.input[1], arch.input[2]];
    const input = randomInput(shape, 11);
    const scores = await scoresModel.forward(input, shape);
    const expected = referenceForward(scoresArch, model.parameters(), input, shape);
    assert.equal(scores.length, batch * 1000);
    const err = relativeL2(scores, expected);
    t.diagnostic(`relative L2 ${err.toExponential(2)}`);
    assert.ok(err <= BOUND, `relative L2 ${err}`);
    // the items differ (no batch mix-up)
    if (batch > 1) assert.ok(relativeL2(scores.subarray(0, 1000), scores.subarray(1000)) > 1e-3);
    if (arch.output === 'probabilities') {
      const probs = await model.forward(input, shape);
      const errProbs = relativeL2(probs, softmax([batch, 1000], expected));
      assert.ok(errProbs <= 20 * BOUND, `relative L2 of probabilities ${errProbs}`);
    } else {
      assert.deepEqual(await model.forward(input, shape), scores);
    }
    model.dispose();
    scoresModel.dispose();
  });
}

test('torchvision at a non-native input size (adaptive pool over 5x5 -> 6x6) still equals the reference', async () => {
  const arch = buildArchitecture('torchvision', 10);
  const model = await Model.random(arch, 3);
  const shape = [1, 3, 195, 195];
  const input = randomInput(shape, 5);
  const err = relativeL2(await model.forward(input, shape), referenceForward(arch, model.parameters(), input, shape));
  assert.ok(err <= BOUND, `relative L2 ${err}`);
});

test('random:SEED weights are deterministic and seed-dependent', async () => {
  const arch = buildArchitecture('caffe', 5);
  const [a, b, c] = await Promise.all([Model.random(arch, 1), Model.random(arch, 1), Model.random(arch, 2)]);
  const wa = a.parameters().get('conv2.weight')!.data;
  assert.deepEqual(wa, b.parameters().get('conv2.weight')!.data);
  assert.notDeepEqual(wa, c.parameters().get('conv2.weight')!.data);
  // He initialisation: std sqrt(2 / fan_in), fan_in = 48 * 5 * 5
  let sum2 = 0;
  for (const v of wa) sum2 += v * v;
  const std = Math.sqrt(sum2 / wa.length);
  assert.ok(Math.abs(std / Math.sqrt(2 / 1200) - 1) < 0.02, `std ${std}`);
});

test('a wrong input shape is an error with a code, not a crash', async () => {
  const model = await Model.random(buildArchitecture('seed', 3), 1);
  await assert.rejects(model.forward(new Float32Array(10), [1, 3, 227, 227]), { code: 'ERR_SHAPE', message: /Expected 154587 values/ });
  await assert.rejects(model.forward(new Float32Array(4 * 227 * 227), [1, 4, 227, 227]), { code: 'ERR_SHAPE' });
  await assert.rejects(model.forward(new Float32Array(3 * 30 * 30), [1, 3, 30, 30]), { code: 'ERR_SHAPE', message: /expects 227x227/ });
});

test('PackOptions.winograd: false keeps conv weights at their size and computes the same network', async (t) => {
  const arch = buildArchitecture('seed');
  const shape = [1, 3, arch.input[1], arch.input[2]];
  const input = randomInput(shape, 13);
  const fast = await Model.random(arch, 5);
  const lean = await Model.random(arch, 5, 'cpu', { winograd: false });
  // seed: conv2 (5x5) and conv3-5 (3x3) carry their Winograd-domain weights by default (~56 MB)
  const extra = fast.weightBytes - lean.weightBytes;
  t.diagnostic(`Winograd-domain weights ${(extra / 1048576).toFixed(1)} MiB; lean ${lean.weightBytes} B for ${lean.parameterBytes} B of parameters`);
  assert.ok(extra > 50 * 1048576, `Winograd weights ${extra} B`);
  assert.ok(lean.weightBytes - lean.parameterBytes < 0.01 * lean.parameterBytes, 'lean: only panel padding besides the parameters');
  assert.deepEqual(lean.parameters(), fast.parameters());
  // seed ends in a softmax: probabilities, with the looser bound of the first test (the peaky scores of
  // random weights multiply the relative error; conv1 on Winograd too reads ~1.2e-5 here, its scores 2.5e-6)
  const err = relativeL2(await lean.forward(input, shape), await fast.forward(input, shape));
  assert.ok(err <= 20 * BOUND, `relative L2 of probabilities ${err}`);
  fast.dispose();
  lean.dispose();
});

test('forward takes a NativeTensor as its input (no copy): the same result as host data, shape and device checked', async () => {
  const arch = buildArchitecture('torchvision', 10);
  const model = await Model.random(arch, 2);
  const shape = [2, 3, 224, 224];
  const input = randomInput(shape, 3);
  // one element more than the shape: only the first N*C*H*W are read
  const tensor = native().alloc('cpu', input.length + 1);
  tensor.write(input);
  try {
    const expected = await model.forward(input, shape);
    for (const plan of [true, false]) {
      const out = await model.forward(tensor, shape, { plan });
      assert.ok(out.every((v, i) => Object.is(v, expected[i])), `bitwise identical, plan ${plan}`);
    }
    await assert.rejects(model.forward(tensor, [3, 3, 224, 224]), {
      code: 'ERR_SHAPE',
      message: 'Expected a NativeTensor of at least 451584 elements for an input of shape [3,3,224,224] but received NativeTensor(301057)',
    });
    const fake = { device: 'cuda:0', length: input.length } as unknown as NativeTensor;
    await assert.rejects(model.forward(fake, shape), {
      code: 'ERR_DEVICE', message: "Expected a NativeTensor on 'cpu' for input but received one on 'cuda:0'",
    });
    tensor.dispose();
    await assert.rejects(model.forward(tensor, shape), { code: 'ERR_DISPOSED' });
  } finally {
    model.dispose();
  }
});
