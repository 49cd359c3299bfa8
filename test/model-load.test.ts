// lib/model/model.ts's loading, in process, on a network small enough to write out by hand: the weights as
// given come back out of parameters() (through the packed conv and linear layouts), non-finite values are
// refused naming the tensor, how many and where (in memory and in a file), another read error is passed on as
// it is, an input size the network cannot take names the size it expects, and which CPUs get low-precision
// convolutions by default (from the kernel sets a binding reports, not from this machine).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PREPROCESS } from '../lib/model/archs.js';
import type { Architecture } from '../lib/model/layers.js';
import { lowpConvsByDefault, Model } from '../lib/model/model.js';
import { loadWeightsAndModel } from '../lib/model/load.js';
import type { Binding } from '../lib/native.js';
import type { WeightSet, WeightTensor } from '../lib/weights/types.js';

const scratch = mkdtempSync(join(tmpdir(), 'alexnet-model-load-'));

// [1,2,2] -> conv 1x1 to 2 channels (relu) -> [2,2,2] -> flatten [8] -> linear to 2 classes
const ARCH: Architecture = {
  name: 'hand', input: [1, 2, 2], preprocess: PREPROCESS.torchvision, output: 'logits', numClasses: 2,
  layers: [
    { type: 'conv2d', name: 'c1', outChannels: 2, kernel: [1, 1], stride: [1, 1], pad: [0, 0, 0, 0], groups: 1, bias: true, relu: true },
    { type: 'flatten', name: 'f' },
    { type: 'linear', name: 'fc', outFeatures: 2, bias: true, relu: false },
  ],
};
const VALUES: Record<string, [number[], number[]]> = {
  'c1.weight': [[2, 1, 1, 1], [0.5, -2]],
  'c1.bias': [[2], [0.25, 1]],
  'fc.weight': [[2, 8], [1, 2, 3, 4, 5, 6, 7, 8, -1, -2, -3, -4, -5, -6, -7, -8]],
  'fc.bias': [[2], [0.5, -0.5]],
};

function weightSet(change: Record<string, WeightTensor> = {}): WeightSet {
  const tensors = new Map<string, WeightTensor>(Object.entries(VALUES).map(([name, [shape, values]]) => [name, { shape, data: Float32Array.from(values) }]));
  for (const [name, t] of Object.entries(change)) tensors.set(name, t);
  return { format: 'hand', path: join(scratch, 'hand.weights'), tensors, metadata: {} };
}

/** skips `t` (saying why) where this build of the CPU addon cannot pack bf16/int8 weights */
async function noLowpPacking(t: TestContext): Promise<boolean> {
  const { native } = await import('../lib/native.js');
  const binding = native('cpu');
  if (binding.packQuantized && binding.packConv && binding.packLinear) return false;
  t.skip('this build of the CPU addon has no low-precision packing');
  return true;
}

test('fromWeights: the values given come back from parameters(), conv and linear through their packed layouts', async () => {
  for (const winograd of [true, false]) {
    const model = await Model.fromWeights(ARCH, weightSet(), 'cpu', { winograd });
    try {
      const params = model.parameters();
      assert.deepEqual([...params.keys()], ['c1.weight', 'c1.bias', 'fc.weight', 'fc.bias']);
      for (const [name, [shape, values]] of Object.entries(VALUES)) {
        assert.deepEqual(params.get(name)!.shape, shape, name);
        assert.deepEqual(Array.from(params.get(name)!.data), values, `${name}, winograd ${winograd}`);
      }
      // the forward pass by hand for x = [1, 2, 3, 4]: c1 channel 0 relu(0.5x + 0.25) = [0.75, 1.25, 1.75, 2.25],
      // channel 1 relu(-2x + 1) = [0, 0, 0, 0]; fc: 1*0.75 + 2*1.25 + 3*1.75 + 4*2.25 = 17.5, + 0.5 = 18; -17.5 - 0.5 = -18
      assert.deepEqual(Array.from(await model.forward(Float32Array.of(1, 2, 3, 4), [1, 1, 2, 2])), [18, -18]);
      assert.deepEqual(model.layerPrecision('c1'), { precision: 'fp32' });
      assert.deepEqual(model.layerPrecision('fc'), { precision: 'fp32' });
      assert.equal(model.layerPrecision('f'), undefined);
    } finally {
      model.dispose();
    }
  }
});

test('fromWeights refuses NaN and Inf, naming the tensor, how many and the first, in memory and in a file', async () => {
  const path = join(scratch, 'hand.weights');
  await assert.rejects(Model.fromWeights(ARCH, weightSet({ 'fc.weight': { shape: [2, 8], data: Float32Array.from({ length: 16 }, (_, i) => (i === 3 ? NaN : 1)) } })), {
    code: 'ERR_WEIGHTS',
    message: `${path}: expected finite weights but tensor fc.weight [2,8] holds 1 NaN or Inf value, the first at element 3 (NaN or Inf would make every prediction NaN)`,
  });
  await assert.rejects(Model.fromWeights(ARCH, weightSet({ 'c1.bias': { shape: [2], data: Float32Array.of(Infinity, -Infinity) } })), {
    code: 'ERR_WEIGHTS',
    message: `${path}: expected finite weights but tensor c1.bias [2] holds 2 NaN or Inf values, the first at element 0 (NaN or Inf would make every prediction NaN)`,
  });
  // in a file (float32 little-endian at byte 4, read by the addon): the addon counts them
  const file = join(scratch, 'fc.bin');
  const bytes = Buffer.alloc(4 + 64);
  for (let i = 0; i < 16; i++) bytes.writeFloatLE(i === 9 ? Infinity : 1, 4 + 4 * i);
  writeFileSync(file, bytes);
  await assert.rejects(Model.fromWeights(ARCH, weightSet({ 'fc.weight': { shape: [2, 8], file: { path: file, byteOffset: 4 } } })), (e: NodeJS.ErrnoException) => {
    assert.equal(e.code, 'ERR_WEIGHTS');
    assert.match(e.message, new RegExp(`^${path}: expected finite weights but tensor fc\\.weight \\[2,8\\] holds .*element 9.* \\(NaN or Inf would make every prediction NaN\\)$`));
    return true;
  });
  // a file too short for the tensor is the read's own error, not a claim about NaN
  const short = join(scratch, 'short.bin');
  writeFileSync(short, Buffer.alloc(20));
  await assert.rejects(Model.fromWeights(ARCH, weightSet({ 'fc.weight': { shape: [2, 8], file: { path: short, byteOffset: 4 } } })), (e: Error) => {
    assert.doesNotMatch(e.message, /finite/);
    assert.match(e.message, /short\.bin/);
    return true;
  });
});

test('forward at an input size the network cannot take names the size it expects', async () => {
  // a 2x2 conv: a 1x1 input gives no output
  const arch: Architecture = { ...ARCH, name: 'hand2', layers: [{ ...ARCH.layers[0], kernel: [2, 2] } as Architecture['layers'][number], ARCH.layers[1], { ...ARCH.layers[2] } as Architecture['layers'][number]] };
  const model = await Model.random(arch, 1);
  try {
    await assert.rejects(model.forward(new Float32Array(1), [1, 1, 1, 1]), {
      code: 'ERR_SHAPE',
      message: 'Expected an input of at least 2x2 for layer c1 but received 1x1 (input 1x1; hand2 expects 2x2)',
    });
  } finally {
    model.dispose();
  }
});

test('lowpConvsByDefault: int8 convs where the kernel set has vpdpbusd, bf16 where it has vdpbf16ps, never for fp32', () => {
  const binding = (int8: string[], bf16: string[]) => ({ cpuFeatures: () => ({ lowpKernels: { int8, bf16 } }) }) as unknown as Binding;
  assert.equal(lowpConvsByDefault(binding(['vpdpbusd'], []), 'int8'), true);
  assert.equal(lowpConvsByDefault(binding(['vpdpbusd'], []), 'bf16'), false);
  assert.equal(lowpConvsByDefault(binding([], ['vdpbf16ps']), 'int8'), false);
  assert.equal(lowpConvsByDefault(binding([], ['vdpbf16ps']), 'bf16'), true);
  assert.equal(lowpConvsByDefault(binding(['vpmaddubsw'], ['emulated']), 'int8'), false);
  assert.equal(lowpConvsByDefault(binding(['vpdpbusd'], ['vdpbf16ps']), 'fp32'), false);
  // a binding without cpuFeatures (CUDA): no low-precision convs
  assert.equal(lowpConvsByDefault({} as Binding, 'int8'), false);
});

test('a separate ReLU and a Dropout in the layer list: the same forward pass by hand, the arena bytes by hand', async () => {
  // conv without its fused relu, then a relu layer; a dropout between flatten and fc (the identity at inference)
  const arch: Architecture = {
    ...ARCH, name: 'hand3',
    layers: [{ ...ARCH.layers[0], relu: false } as Architecture['layers'][number], { type: 'relu', name: 'r1' }, ARCH.layers[1], { type: 'dropout', name: 'd1', rate: 0.5 }, ARCH.layers[2]],
  };
  const model = await Model.fromWeights(arch, weightSet());
  try {
    assert.equal(model.arenaBytes, 0);
    assert.deepEqual(Array.from(await model.forward(Float32Array.of(1, 2, 3, 4), [1, 1, 2, 2])), [18, -18]);
    // one arena: two buffers of the largest activation (c1: 2x2x2 = 8 floats) and the 4-float input, float32
    assert.equal(model.arenaBytes, (8 + 8 + 4) * 4);
    // a batch of 2 is another arena (the default concurrency keeps 2): (16 + 16 + 8) * 4 more
    assert.deepEqual(Array.from(await model.forward(Float32Array.of(1, 2, 3, 4, 1, 2, 3, 4), [2, 1, 2, 2])), [18, -18, 18, -18]);
    assert.equal(model.arenaBytes, (8 + 8 + 4) * 4 + (16 + 16 + 8) * 4);
  } finally {
    model.dispose();
  }
});

test('loadWeightsAndModel: an architecture name is checked, and random weights get the classes asked for', async () => {
  await assert.rejects(loadWeightsAndModel({ arch: 'vgg' as 'seed', weights: 'random' }), {
    code: 'ERR_USAGE', message: 'Expected one of seed, caffe, torchvision for --arch but received vgg',
  });
  const { model, format, preprocess } = await loadWeightsAndModel({ arch: 'seed', weights: 'random:3', numClasses: 10 });
  try {
    assert.deepEqual([model.arch.name, model.arch.numClasses, format, model.weightsSource], ['seed', 10, 'random', 'random:3']);
    assert.equal(preprocess, PREPROCESS.seed);
  } finally {
    model.dispose();
  }
});

/** a .safetensors file laid out by hand (8-byte little-endian header length, the JSON header, the float32 data) */
function handSafetensors(path: string): void {
  const header: Record<string, unknown> = {};
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const [name, [shape, values]] of Object.entries(VALUES)) {
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + 4 * values.length] };
    chunks.push(Buffer.from(Float32Array.from(values).buffer));
    offset += 4 * values.length;
  }
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(path, Buffer.concat([length, json, ...chunks]));
}

test('loadWeightsAndModel: a WeightSet in memory and a weights file by path, each with an architecture object; random weights of the architecture named', async () => {
  const file = join(scratch, 'hand.safetensors');
  handSafetensors(file);
  for (const [weights, format] of [[weightSet(), 'hand'], [file, 'safetensors']] as [WeightSet | string, string][]) {
    const loaded = await loadWeightsAndModel({ weights, arch: ARCH });
    try {
      assert.equal(loaded.format, format);
      assert.equal(loaded.model.arch.name, 'hand');
      assert.equal(loaded.model.precision, 'fp32');
      // x = [1, 2, 3, 4]: [18, -18] by hand (the first test)
      assert.deepEqual(Array.from(await loaded.model.forward(Float32Array.of(1, 2, 3, 4), [1, 1, 2, 2])), [18, -18], format);
    } finally {
      loaded.model.dispose();
    }
  }
  // a named architecture other than the default seed
  const { model } = await loadWeightsAndModel({ arch: 'caffe', weights: 'random:3', numClasses: 10 });
  try {
    assert.deepEqual([model.arch.name, model.arch.numClasses], ['caffe', 10]);
  } finally {
    model.dispose();
  }
});

test('forward refuses an input whose channels are not the network\'s, naming the shape it expects and the one it got', async () => {
  const model = await Model.fromWeights(ARCH, weightSet());
  try {
    await assert.rejects(model.forward(new Float32Array(8), [1, 2, 2, 2]), { code: 'ERR_SHAPE', message: 'Expected an input of shape [N,1,H,W] for hand but received [1,2,2,2]' });
    await assert.rejects(model.forward(new Float32Array(4), [1, 4]), { code: 'ERR_SHAPE', message: 'Expected an input of shape [N,1,H,W] for hand but received [1,4]' });
  } finally {
    model.dispose();
  }
});

test('Model.random: weights He-normal (std sqrt(2 / fan-in)), biases uniform within 1 / sqrt(fan-in) (torch.nn.Linear\'s bias init)', async () => {
  // one linear layer 64 -> 32: fan-in 64, so weight std sqrt(2/64) = 0.1768; bias bound 1/8 = 0.125 (a uniform
  // draw there has std 0.125/sqrt(3) = 0.072)
  const arch: Architecture = { name: 'fc', input: [64, 1, 1], preprocess: PREPROCESS.torchvision, output: 'logits', numClasses: 32, layers: [{ type: 'flatten', name: 'f' }, { type: 'linear', name: 'fc', outFeatures: 32, bias: true, relu: false }] };
  const model = await Model.random(arch, 7);
  try {
    const params = model.parameters();
    const w = params.get('fc.weight')!.data;
    const b = params.get('fc.bias')!.data;
    assert.equal(w.length, 2048);
    const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
    assert.ok(Math.abs(std - Math.sqrt(2 / 64)) < 0.02, `weight std ${std}`);
    assert.ok(w.some((v) => Math.abs(v) > 0.125), 'no weight beyond the bias bound');
    assert.equal(b.length, 32);
    assert.ok(b.every((v) => Math.abs(v) <= 0.125), 'a bias beyond 1/sqrt(64)');
    assert.ok(b.some((v) => v !== 0));
  } finally {
    model.dispose();
  }
});

test('Model.random keeps the precision asked for (bf16, int8), fp32 by default', async (t) => {
  if (await noLowpPacking(t)) return;
  for (const precision of ['bf16', 'int8', undefined] as const) {
    const model = await Model.random(ARCH, 1, 'cpu', { precision });
    try {
      assert.equal(model.precision, precision ?? 'fp32');
    } finally {
      model.dispose();
    }
  }
});

test('a model on device \'cuda\' takes NativeTensor inputs named \'cuda:0\' (the CUDA addon\'s name for it, test/cuda.test) and refuses others', async () => {
  // a stand-in binding (no GPU here): its alloc, the first thing a pass does after the input checks, throws a marker
  const reached = new Error('the pass started');
  const binding = { alloc: () => { throw reached; } } as unknown as Binding;
  const ModelClass = Model as unknown as new (...args: unknown[]) => Model;
  const model = new ModelClass(ARCH, new Map(), 'cuda', 'stand-in', binding, {});
  const tensor = (device: string) => ({ device, length: 4, write() {}, read: () => new Float32Array(4), dispose() {} });
  await assert.rejects(model.forward(tensor('cuda:0') as never, [1, 1, 2, 2]), (e) => e === reached);
  await assert.rejects(model.forward(tensor('cpu') as never, [1, 1, 2, 2]), { code: 'ERR_DEVICE', message: "Expected a NativeTensor on 'cuda:0' for input but received one on 'cpu'" });
  await assert.rejects(model.forward(tensor('cuda:1') as never, [1, 1, 2, 2]), { code: 'ERR_DEVICE', message: "Expected a NativeTensor on 'cuda:0' for input but received one on 'cuda:1'" });
});

/** a .safetensors file from [name, dtype, shape, values] entries, laid out by hand */
function safetensorsFile(path: string, entries: [string, 'F32' | 'I8' | 'U8', number[], number[]][], metadata: Record<string, string>): void {
  const header: Record<string, unknown> = { __metadata__: metadata };
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const [name, dtype, shape, values] of entries) {
    const bytes = dtype === 'F32' ? Buffer.from(Float32Array.from(values).buffer) : dtype === 'I8' ? Buffer.from(Int8Array.from(values).buffer) : Buffer.from(Uint8Array.from(values));
    header[name] = { dtype, shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(path, Buffer.concat([length, json, ...chunks]));
}

test('a quantized file (alexnet.precision int8) loads as int8: calibrated fc, convs where the kernels have VNNI; the same forward pass by hand', async (t) => {
  const { native } = await import('../lib/native.js');
  const binding = native('cpu');
  if (!binding.packQuantized || !binding.setLinearActivationQuant) {
    t.skip('this build of the CPU addon has no int8 packing');
    return;
  }
  // the hand network of the first test, quantized so that every step is exact: c1 w = q/16 = [0.5, -2] with
  // input scale 1/16 (x = 1..4 -> 16..64), fc w = q * 1 with input scale 1/4 (0.75, 1.25, 1.75, 2.25 -> 3, 5, 7, 9)
  const path = join(scratch, 'hand-int8.safetensors');
  safetensorsFile(path, [
    ['c1.weight', 'I8', [2, 1, 1, 1], [8, -32]], ['c1.weight_scale', 'F32', [2], [1 / 16, 1 / 16]],
    ['c1.input_scale', 'F32', [], [1 / 16]], ['c1.input_zero_point', 'U8', [], [0]], ['c1.bias', 'F32', [2], [0.25, 1]],
    ['fc.weight', 'I8', [2, 8], VALUES['fc.weight'][1]], ['fc.weight_scale', 'F32', [2], [1, 1]],
    ['fc.input_scale', 'F32', [], [0.25]], ['fc.input_zero_point', 'U8', [], [0]], ['fc.bias', 'F32', [2], [0.5, -0.5]],
  ], { 'alexnet.precision': 'int8' });
  const { model } = await loadWeightsAndModel({ weights: path, arch: ARCH });
  try {
    assert.equal(model.precision, 'int8');
    assert.deepEqual(model.layerPrecision('fc'), { precision: 'int8', activations: 'static' });
    const convInt8 = lowpConvsByDefault(binding, 'int8');
    assert.deepEqual(model.layerPrecision('c1'), convInt8 ? { precision: 'int8', activations: 'static' } : { precision: 'fp32' });
    assert.deepEqual(Array.from(await model.forward(Float32Array.of(1, 2, 3, 4), [1, 1, 2, 2])), [18, -18]);
  } finally {
    model.dispose();
  }
  // asked for fp32, the same file runs q * scale in fp32
  const fp32 = await loadWeightsAndModel({ weights: path, arch: ARCH, precision: 'fp32' });
  try {
    assert.equal(fp32.model.precision, 'fp32');
    assert.deepEqual(Array.from(await fp32.model.forward(Float32Array.of(1, 2, 3, 4), [1, 1, 2, 2])), [18, -18]);
  } finally {
    fp32.model.dispose();
  }
});

test('precision refusals: a name that is not one, and bf16/int8 on a binding without low-precision packing (the CUDA addon\'s case)', async () => {
  await assert.rejects(loadWeightsAndModel({ weights: 'random', arch: ARCH, precision: 'fp16' as 'fp32' }), {
    code: 'ERR_USAGE', message: 'Expected one of fp32, bf16, int8 for precision but received fp16',
  });
  // Model.checkPrecision with a stand-in binding that has none of packQuantized, packConv, packLinear
  const check = (Model as unknown as { checkPrecision: (b: object, device: string, p?: string) => string }).checkPrecision;
  assert.throws(() => check({}, 'cuda', 'bf16'), { code: 'ERR_DEVICE', message: 'Expected precision fp32 on device cuda (bf16 and int8 run on the CPU) but received bf16' });
  assert.equal(check({}, 'cuda', undefined), 'fp32');
});

test('forward refuses a host input whose length is not the shape\'s, naming both', async () => {
  const model = await Model.fromWeights(ARCH, weightSet());
  try {
    await assert.rejects(model.forward(new Float32Array(3), [1, 1, 2, 2]), { code: 'ERR_SHAPE', message: 'Expected 4 values for an input of shape [1,1,2,2] but received 3' });
    await assert.rejects(model.forward(new Float32Array(8), [1, 1, 2, 2]), { code: 'ERR_SHAPE', message: 'Expected 4 values for an input of shape [1,1,2,2] but received 8' });
  } finally {
    model.dispose();
  }
});

test('compilePlan: two LRNs and a linear layer as records by hand (op-table.h layouts), LRN scalars in order, tensors[0] left for the input', async () => {
  const { compilePlan, PLAN_OPS } = await import('../lib/model/plan.js');
  const { inferShapes } = await import('../lib/model/shapes.js');
  // [4,3,3] -> lrn n1 -> lrn n2 -> flatten 36 -> linear 2
  const arch: Architecture = {
    name: 'lrns', input: [4, 3, 3], preprocess: PREPROCESS.torchvision, output: 'logits', numClasses: 2,
    layers: [
      { type: 'lrn', name: 'n1', size: 3, alpha: 0.5, beta: 0.75, k: 2 },
      { type: 'lrn', name: 'n2', size: 5, alpha: 0.25, beta: 0.5, k: 1 },
      { type: 'flatten', name: 'f' },
      { type: 'linear', name: 'fc', outFeatures: 2, bias: true, relu: false },
    ],
  };
  // stand-in tensors: the plan only indexes them
  const stand = (name: string) => ({ name }) as unknown as import('../lib/native.js').NativeTensor;
  const [a, b, w, bias] = [stand('a'), stand('b'), stand('w'), stand('bias')];
  const plan = compilePlan(inferShapes(arch), 2, new Map([['fc.weight', w], ['fc.bias', bias]]), [a, b]);
  assert.deepEqual(plan.tensors, [null, a, b, w, bias]);
  assert.deepEqual(Array.from(plan.scalars), [0.5, 0.75, 2, 0.25, 0.5, 1]);
  assert.deepEqual(Array.from(plan.program), [
    PLAN_OPS.lrn, 2, 4, 3, 3, 3, 0, 1, 0, //                  batch, c, h, w, size, input (the pass's), output a, scalars at 0
    PLAN_OPS.lrn, 2, 4, 3, 3, 5, 1, 2, 3, //                  a -> b, scalars at 3
    PLAN_OPS.linear, 2, 36, 2, 2, 3, 4, 1, 0, //              flatten is no op: b -> a through w and bias, no relu
  ]);
  assert.deepEqual(Array.from(plan.opStarts), [0, 9, 18, 27]);
  assert.deepEqual(Array.from(plan.opLayers), [0, 1, 3]);
  assert.equal(plan.output, 1);
});

// held-out mutation sample, seed 2029 (docs/testing.md): four survivors, each test checked against its mutant
test('loadWeightsAndModel passes the model options on for random weights: int8 asked for, int8 held', async (t) => {
  if (await noLowpPacking(t)) return;
  const loaded = await loadWeightsAndModel({ weights: 'random:3', arch: ARCH, precision: 'int8' });
  try {
    assert.equal(loaded.format, 'random');
    assert.equal(loaded.model.precision, 'int8');
    assert.deepEqual(loaded.model.layerPrecision('fc'), { precision: 'int8', activations: 'dynamic' });
  } finally {
    loaded.model.dispose();
  }
});

test('checkPrecision: bf16/int8 need all three of packQuantized, packConv and packLinear', () => {
  const check = (Model as unknown as { checkPrecision: (b: object, device: string, p?: string) => string }).checkPrecision;
  const f = () => undefined;
  const refusal = { code: 'ERR_DEVICE', message: 'Expected precision fp32 on device cpu (bf16 and int8 run on the CPU) but received int8' };
  assert.throws(() => check({ packConv: f, packLinear: f }, 'cpu', 'int8'), refusal);
  assert.throws(() => check({ packQuantized: f, packLinear: f }, 'cpu', 'int8'), refusal);
  assert.throws(() => check({ packQuantized: f, packConv: f }, 'cpu', 'int8'), refusal);
  assert.equal(check({ packQuantized: f, packConv: f, packLinear: f }, 'cpu', 'int8'), 'int8');
});

test('layerPrecision and weightBytes on a binding without linearWeightInfo (stand-in tensors of known lengths)', () => {
  const binding = {} as unknown as Binding;
  const ModelClass = Model as unknown as new (...args: unknown[]) => Model;
  const params = new Map<string, unknown>([['c1.weight', { length: 10 }], ['c1.bias', { length: 2 }], ['fc.weight', { length: 16 }], ['fc.bias', { length: 2 }]]);
  const model = new ModelClass(ARCH, params, 'cuda', 'stand-in', binding, {});
  // a weight the binding cannot describe is fp32; a layer without weights has no precision
  assert.deepEqual(model.layerPrecision('c1'), { precision: 'fp32' });
  assert.equal(model.layerPrecision('f'), undefined);
  // 4 bytes a float: (10 + 2 + 16 + 2) * 4
  assert.equal(model.weightBytes, 120);
});

test('winograd: false packs a 3x3 conv without its Winograd-domain weights (fewer bytes than winograd: true)', async () => {
  const arch: Architecture = {
    name: 'hand3', input: [1, 4, 4], preprocess: PREPROCESS.torchvision, output: 'logits', numClasses: 2,
    layers: [
      { type: 'conv2d', name: 'c1', outChannels: 2, kernel: [3, 3], stride: [1, 1], pad: [1, 1, 1, 1], groups: 1, bias: true, relu: true },
      { type: 'flatten', name: 'f' },
      { type: 'linear', name: 'fc', outFeatures: 2, bias: true, relu: false },
    ],
  };
  const set = (): WeightSet => ({
    format: 'hand', path: join(scratch, 'hand3.weights'), metadata: {},
    tensors: new Map<string, WeightTensor>([
      ['c1.weight', { shape: [2, 1, 3, 3], data: Float32Array.from({ length: 18 }, (_, i) => (i % 5) - 2) }],
      ['c1.bias', { shape: [2], data: Float32Array.of(0.5, -0.5) }],
      ['fc.weight', { shape: [2, 32], data: Float32Array.from({ length: 64 }, (_, i) => (i % 7) - 3) }],
      ['fc.bias', { shape: [2], data: Float32Array.of(1, -1) }],
    ]),
  });
  const direct = await Model.fromWeights(arch, set(), 'cpu', { winograd: false });
  const winograd = await Model.fromWeights(arch, set(), 'cpu', { winograd: true });
  try {
    assert.ok(direct.weightBytes < winograd.weightBytes, `winograd: false ${direct.weightBytes} bytes, true ${winograd.weightBytes}`);
  } finally {
    direct.dispose();
    winograd.dispose();
  }
});
