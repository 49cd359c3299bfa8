// runPlan: a whole forward pass in one native call. The plan gives exactly the per-primitive results
// (same kernels, same buffers, same order), reports per-layer native times to onLayer, and a malformed
// plan is a coded JS error naming the op, raised before any op runs.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { native, type NativeTensor } from '../lib/native.js';
import { ARCH_NAMES, buildArchitecture } from '../lib/model/archs.js';
import type { ArchName } from '../lib/model/layers.js';
import { Model } from '../lib/model/model.js';
import { PLAN_OPS } from '../lib/model/plan.js';
import { Rng } from '../lib/model/random.js';
import { softmaxRows } from '../lib/classifier.js';
import { quantizeU8 } from './reference.js';

const b = native();

function randomInput(length: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length }, () => rng.normal());
}

function upload(data: Float32Array): NativeTensor {
  const t = b.alloc('cpu', data.length);
  t.write(data);
  return t;
}

/** fn on a model of architecture `name` with random:seed weights, disposed after */
async function withRandomModel(name: ArchName, seed: number, fn: (model: Model) => Promise<void>): Promise<void> {
  const model = await Model.random(buildArchitecture(name), seed);
  try {
    await fn(model);
  } finally {
    model.dispose();
  }
}

describe('Model.forward through runPlan', () => {
  for (const name of ARCH_NAMES) {
    test(`${name}: plan and one primitive per layer give identical results, batch 2`, () => withRandomModel(name, 3, async (model) => {
      const shape = [2, ...model.arch.input];
      const input = randomInput(shape.reduce((x, y) => x * y, 1), 4);
      const perLayer = await model.forward(input, shape, { plan: false });
      const planned = await model.forward(input, shape);
      assert.equal(planned.length, perLayer.length);
      assert.ok(planned.every((v, i) => Object.is(v, perLayer[i])), 'bitwise identical');
      // the cached plan runs again with the same result
      assert.deepEqual(await model.forward(input, shape), planned);
    }));
  }

  test('probabilities: a softmax record ends the plan of a network with logits (torchvision); the logits are unchanged', () => withRandomModel('torchvision', 9, async (model) => {
    const shape = [3, ...model.arch.input];
    const input = randomInput(shape.reduce((x, y) => x * y, 1), 10);
    const logits = await model.forward(input, shape);
    const probabilities = await model.forward(input, shape, { probabilities: true });
    // exactly the native softmax of the logits, and within float32 rounding of the float64 JS one
    const t = upload(logits);
    await b.softmax(Int32Array.of(3, 1000), t, t);
    assert.ok(probabilities.every((v, i) => Object.is(v, t.read()[i])), 'the native softmax of the logits');
    t.dispose();
    const js = softmaxRows(logits, 3, 1000);
    probabilities.forEach((v, i) => assert.ok(Math.abs(v - js[i]) <= 1e-6 * Math.max(js[i], 1e-3), `${i}: ${v} vs ${js[i]}`));
    assert.ok(!probabilities.every((v, i) => v === logits[i]));
    // the same, record by record
    assert.deepEqual(await model.forward(input, shape, { probabilities: true, plan: false }), probabilities);
    // a network whose last layer is a softmax gets no second one
    const seed = await Model.random(buildArchitecture('seed'), 9);
    const seedShape = [1, ...seed.arch.input];
    const seedInput = randomInput(3 * 227 * 227, 11);
    assert.deepEqual(await seed.forward(seedInput, seedShape, { probabilities: true }), await seed.forward(seedInput, seedShape));
    seed.dispose();
  }));

  test('onLayer gets every layer in order, native ns for compute layers and 0 for free ones', () => withRandomModel('torchvision', 5, async (model) => {
    const shape = [1, ...model.arch.input];
    const timings: { index: number; ns: number }[] = [];
    await model.forward(randomInput(shape.reduce((x, y) => x * y, 1), 6), shape, { onLayer: (t) => timings.push(t) });
    assert.deepEqual(timings.map((t) => t.index), model.arch.layers.map((_, i) => i));
    model.arch.layers.forEach((layer, i) => {
      if (layer.type === 'flatten' || layer.type === 'dropout') assert.equal(timings[i].ns, 0, layer.name);
      else assert.ok(timings[i].ns > 0, `${layer.name}: ${timings[i].ns}`);
    });
  }));
});

describe('runPlan', () => {
  // linear 2x3 -> 4 (+relu), then softmax in place: 2 ops
  function smallPlan() {
    const input = upload(Float32Array.of(1, -2, 3, 0.5, 0.25, -1));
    const weight = upload(randomInput(12, 7));
    const bias = upload(Float32Array.of(0.1, -0.2, 0.3, -0.4));
    const output = b.alloc('cpu', 8);
    const tensors = [input, weight, bias, output];
    const program = Int32Array.of(
      PLAN_OPS.linear, 2, 3, 4, 0, 1, 2, 3, 1,
      PLAN_OPS.softmax, 2, 4, 3, 3,
    );
    return { tensors, program, scalars: new Float32Array(0) };
  }

  test('runs the ops in order, as the primitives do, and writes per-op times', async () => {
    const { tensors, program, scalars } = smallPlan();
    const times = new Float64Array(2);
    const total = await b.runPlan!(program, scalars, tensors, times);
    const expected = b.alloc('cpu', 8);
    await b.linear(Int32Array.of(2, 3, 4), tensors[0], tensors[1], tensors[2], expected, true);
    await b.softmax(Int32Array.of(2, 4), expected, expected);
    assert.deepEqual(tensors[3].read(), expected.read());
    assert.ok(times[0] > 0 && times[1] > 0 && total >= times[0] + times[1] - 1e3, `${total} vs ${times}`);
  });

  const rejects = async (mutate: (plan: ReturnType<typeof smallPlan>) => void, error: { code: string; message: string }) => {
    const plan = smallPlan();
    mutate(plan);
    const output = plan.tensors[3];
    assert.throws(() => b.runPlan!(plan.program, plan.scalars, plan.tensors, null), error);
    // checked in full before anything ran
    if (output.length === 8) assert.deepEqual(output.read(), new Float32Array(8));
  };

  test('an unknown opcode', () => rejects((p) => { p.program[9] = 12; }, {
    code: 'ERR_SHAPE', message: 'Expected an opcode from 1 to 11 for plan op 1 (program[9]) but received 12',
  }));
  test('a truncated record', () => rejects((p) => { p.program = p.program.subarray(0, 12); }, {
    code: 'ERR_SHAPE', message: 'Expected 5 program values for plan op 1 (softmax) but received 3',
  }));
  test('a dim out of range', () => rejects((p) => { p.program[1] = 0; }, {
    code: 'ERR_SHAPE', message: 'Expected a positive integer of at most 16777216 for plan op 0 (linear) dims[0] (rows) but received 0',
  }));
  test('a tensor index out of range', () => rejects((p) => { p.program[12] = 4; }, {
    code: 'ERR_SHAPE', message: 'Expected an index into tensors (0 to 3) for plan op 1 (softmax) input but received 4',
  }));
  test('a missing weight (-1 is only for a bias)', () => rejects((p) => { p.program[5] = -1; }, {
    code: 'ERR_SHAPE', message: 'Expected an index into tensors (0 to 3) for plan op 0 (linear) weight but received -1',
  }));
  test('a weight of the wrong length', () => rejects((p) => { p.tensors[1] = b.alloc('cpu', 11); }, {
    code: 'ERR_SHAPE', message: 'Expected a NativeTensor of 12 elements for plan op 0 (linear) weight but received NativeTensor(11)',
  }));
  test('a later op reading past its input (nothing runs)', () => rejects((p) => { p.program[11] = 5; }, {
    code: 'ERR_SHAPE', message: 'Expected a NativeTensor of at least 10 elements for plan op 1 (softmax) input but received NativeTensor(8)',
  }));
  test('a flag other than 0 or 1', () => rejects((p) => { p.program[8] = 2; }, {
    code: 'ERR_SHAPE', message: 'Expected 0 or 1 for plan op 0 (linear) relu but received 2',
  }));
  test('an output that is also the input', () => rejects((p) => { p.program[4] = 3; }, {
    code: 'ERR_ARG', message: 'Expected a NativeTensor other than input for plan op 0 (linear) output but received the same NativeTensor',
  }));
  test('a disposed tensor', () => rejects((p) => { p.tensors[2].dispose(); }, {
    code: 'ERR_DISPOSED', message: 'Expected a live NativeTensor for tensors[2] but received a disposed NativeTensor',
  }));
  test('a times array shorter than the ops', () => {
    const { tensors, program, scalars } = smallPlan();
    assert.throws(() => b.runPlan!(program, scalars, tensors, new Float64Array(1)), {
      code: 'ERR_ARG', message: 'Expected a Float64Array of at least 2 elements (one per op) or null for times but received Float64Array(1)',
    });
  });
  test('an empty program, or not an Int32Array', () => {
    const { tensors, scalars } = smallPlan();
    assert.throws(() => b.runPlan!(new Int32Array(0), scalars, tensors, null), {
      code: 'ERR_ARG', message: 'Expected a non-empty Int32Array for program but received Int32Array(0)',
    });
    assert.throws(() => b.runPlan!(Float32Array.of(5) as never, scalars, tensors, null), {
      code: 'ERR_ARG', message: 'Expected a non-empty Int32Array for program but received Float32Array(1)',
    });
  });

  test('conv2d, pooling and LRN records are checked like the primitives', () => {
    const input = b.alloc('cpu', 3 * 7 * 7), weight = b.alloc('cpu', 4 * 3 * 3 * 3), output = b.alloc('cpu', 4 * 5 * 5);
    const conv = (outHeight: number) => Int32Array.of(PLAN_OPS.conv2d, 1, 3, 7, 7, 4, 3, 3, 1, 1, 0, 0, 0, 0, 1, outHeight, 5, 0, 1, -1, 2, 1);
    assert.throws(() => b.runPlan!(conv(6), new Float32Array(0), [input, weight, output], null), {
      code: 'ERR_SHAPE', message: 'Expected 5 for plan op 0 (conv2d) outHeight but received 6',
    });
    const pool = Int32Array.of(PLAN_OPS.maxPool2d, 1, 4, 5, 5, 7, 3, 2, 2, 0, 0, 0, 0, 2, 2, 0, 1);
    assert.throws(() => b.runPlan!(pool, new Float32Array(0), [output, input], null), {
      code: 'ERR_SHAPE', message: 'Expected at most 5 (inHeight + padTop + padBottom) for plan op 0 (maxPool2d) kernelH but received 7',
    });
    const lrn = Int32Array.of(PLAN_OPS.lrn, 1, 4, 5, 5, 5, 0, 1, 1);
    assert.throws(() => b.runPlan!(lrn, Float32Array.of(1e-4, 0.75, 1), [output, input], null), {
      code: 'ERR_SHAPE', message: 'Expected an index of 3 scalars (alpha, beta, k) in scalars of 3 for plan op 0 (lrn) scalars index but received 1',
    });
  });

  test('the int8 chain\'s records: u8 lengths, int8 weights with static scales, the output quantization', async () => {
    // conv 3x7x7 -> 4x5x5 (3x3), then a 3x3/2 max pool -> 4x2x2, then a linear 16 -> 3
    const dims = [1, 3, 7, 7, 4, 3, 3, 1, 1, 0, 0, 0, 0, 1, 5, 5];
    const weight = () => {
      const w = b.alloc('cpu', 4 * 3 * 3 * 3);
      w.write(Float32Array.from({ length: 4 * 27 }, (_, i) => ((i * 7) % 11) / 10 - 0.5));
      return w;
    };
    const fp32 = weight();
    const int8 = b.packConv!(Int32Array.from(dims), weight(), false, 'int8');  // packs in place: the tensor it was given is gone
    const input = b.alloc('cpu', 3 * 7 * 7);
    input.write(Float32Array.from({ length: 3 * 49 }, (_, i) => (i % 13) / 13));
    const out = (length: number) => b.alloc('cpu', length);
    const conv = (inputU8: number, outputU8: number, scalarsAt = 0) =>
      Int32Array.of(PLAN_OPS.conv2dInt8, ...dims, 0, 1, -1, 2, scalarsAt, 1, inputU8, outputU8);
    const run = (program: Int32Array, scalars: Float32Array, tensors: NativeTensor[]) => b.runPlan!(program, scalars, tensors, null);
    const q = Float32Array.of(1 / 50, 3);
    assert.throws(() => run(conv(0, 1), q, [input, fp32, out(25)]), {
      code: 'ERR_ARG', message: 'Expected int8 weights (packConv) for plan op 0 (conv2dInt8) weight but received fp32 weights',
    });
    // 100 u8 values fit in 25 elements; 24 are too few
    assert.throws(() => run(conv(0, 1), q, [input, int8, out(24)]), {
      code: 'ERR_SHAPE', message: 'Expected a NativeTensor of at least 25 elements (100 u8 values) for plan op 0 (conv2dInt8) output but received NativeTensor(24)',
    });
    // a u8 input is the weights' static quantization: dynamic weights have none
    assert.throws(() => run(conv(1, 1), q, [input, int8, out(25)]), {
      code: 'ERR_ARG', message: 'Expected int8 weights with static activation scales (alexnet-cli quantize) for plan op 0 (conv2dInt8) weight but received int8 weights with dynamic scales',
    });
    assert.throws(() => run(conv(0, 1), Float32Array.of(1 / 50, 256), [input, int8, out(25)]), {
      code: 'ERR_SHAPE', message: 'Expected an integer from 0 to 255 for plan op 0 (conv2dInt8) outputZeroPoint but received 256.000000',
    });
    assert.throws(() => run(conv(0, 1), Float32Array.of(0, 0), [input, int8, out(25)]), {
      code: 'ERR_SHAPE', message: 'Expected a positive number for plan op 0 (conv2dInt8) outputScale but received 0.000000',
    });
    assert.throws(() => run(conv(0, 1, 1), q, [input, int8, out(25)]), {
      code: 'ERR_SHAPE', message: 'Expected an index of 2 scalars (outputScale, outputZeroPoint) in scalars of 2 for plan op 0 (conv2dInt8) scalars index but received 1',
    });
    // tensors [input, int8, c, p, fc, y]: conv 0 -> 2, pool 2 -> 3, linear 3 -> 5
    const poolDims = [1, 4, 5, 5, 3, 3, 2, 2, 0, 0, 0, 0, 2, 2];
    assert.throws(() => run(Int32Array.of(PLAN_OPS.maxPool2dU8, ...poolDims, 0, 1, 1), new Float32Array(0), [out(25), out(3)]), {
      code: 'ERR_SHAPE', message: 'Expected a NativeTensor of at least 4 elements (16 u8 values) for plan op 0 (maxPool2dU8) output but received NativeTensor(3)',
    });
    const fcW = b.alloc('cpu', 3 * 16);
    fcW.write(Float32Array.from({ length: 48 }, (_, i) => ((i * 5) % 9) / 9 - 0.4));
    const fc = await b.packLinear!(Int32Array.of(3, 16), fcW, 'int8');
    b.setLinearActivationQuant!(fc, 1 / 50, 3);
    assert.throws(() => run(Int32Array.of(PLAN_OPS.linearU8, 1, 16, 3, 0, 1, -1, 2, 0), new Float32Array(0), [out(3), fc, out(3)]), {
      code: 'ERR_SHAPE', message: 'Expected a NativeTensor of at least 4 elements (16 u8 values) for plan op 0 (linearU8) input but received NativeTensor(3)',
    });
    // the chain end to end against the same ops with fp32 between them: u8 = quantize(fp32) exactly
    const chained = [out(25), out(4), out(3)];
    await run(Int32Array.of(
      PLAN_OPS.conv2dInt8, ...dims, 0, 1, -1, 2, 0, 1, 0, 1,
      PLAN_OPS.maxPool2dU8, ...poolDims, 2, 3, 1,
      PLAN_OPS.linearU8, 1, 16, 3, 3, 4, -1, 5, 0), q, [input, int8, chained[0], chained[1], fc, chained[2]]);
    const plain = [out(100), out(16), out(3)];
    await run(Int32Array.of(
      PLAN_OPS.conv2d, ...dims, 0, 1, -1, 2, 1,
      PLAN_OPS.maxPool2d, ...poolDims, 2, 3,
      PLAN_OPS.linear, 1, 16, 3, 3, 4, -1, 5, 0), new Float32Array(0), [input, int8, plain[0], plain[1], fc, plain[2]]);
    assert.deepEqual(chained[2].read(), plain[2].read());
    // the pool's u8 are the fp32 pool's outputs quantized (scale 1/50, zero point 3), in NCHW order
    const quantized = Array.from(plain[1].read(), (v) => Math.min(255, Math.max(0, Math.round(v * 50) + 3)));
    assert.ok(new Set(quantized).size > 4, 'the pooled values span several u8 levels');
    const [p1] = chained.slice(1);
    assert.deepEqual([...new Uint8Array(p1.read().buffer)], quantized);
  });

  test('the int8 chain on every kernel set: u8 inputs padded (asymmetric, stride past the kernel), used in place, copied; batch 2; NaN and infinite biases', async () => {
    // A 3x9x8 -> 5x9x8 (3x3 pad 1) writes u8; B (2x3, stride 3x4, pads 2,0,1,3: pad_input) and E (1x2 stride 2, rows of
    // 10 bytes in 12, unpadded: copied with slack, its last window ends at the input's end) read it; B writes u8 of 8
    // channels that C (1x1, 8 bytes: read in place from a tensor of exactly its 192 bytes) and D (2x2 stride 1x2, pads
    // 0,1,1,0) read. Against the same records with fp32 between them: u8 = quantize(fp32) exactly.
    const dimsA = [2, 3, 9, 8, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 9, 8];
    const dimsB = [2, 5, 9, 8, 8, 2, 3, 3, 4, 2, 0, 1, 3, 1, 4, 3];
    const dimsE = [2, 5, 9, 8, 3, 1, 2, 2, 2, 0, 0, 0, 0, 1, 5, 4];
    const dimsC = [2, 8, 4, 3, 6, 1, 1, 1, 1, 0, 0, 0, 0, 1, 4, 3];
    const dimsD = [2, 8, 4, 3, 4, 2, 2, 1, 2, 0, 1, 1, 0, 1, 4, 2];
    const count = (d: number[], out: boolean) => out ? d[0] * d[4] * d[14] * d[15] : d[0] * d[1] * d[2] * d[3];
    const tensor = (values: Float32Array) => {
      const t = b.alloc('cpu', values.length);
      t.write(values);
      return t;
    };
    const all: NativeTensor[] = [];
    const keep = <T extends NativeTensor>(t: T) => { all.push(t); return t; };
    const packed = (d: number[], seed: number, scale: number, zero: number) => {
      const n = d[4] * (d[1] / d[13]) * d[5] * d[6];
      const w = keep(b.packConv!(Int32Array.from(d), tensor(randomInput(n, seed).map((v) => v * 0.3)), false, 'int8'));
      b.setLinearActivationQuant!(w, scale, zero);
      return w;
    };
    const [qA, qB] = [{ scale: 1 / 64, zeroPoint: 4 }, { scale: 1 / 32, zeroPoint: 2 }];  // A's and B's u8 outputs
    const wA = packed(dimsA, 31, 1 / 40, 9), wB = packed(dimsB, 32, qA.scale, qA.zeroPoint), wE = packed(dimsE, 33, qA.scale, qA.zeroPoint);
    const wC = packed(dimsC, 34, qB.scale, qB.zeroPoint), wD = packed(dimsD, 35, qB.scale, qB.zeroPoint);
    const input = keep(tensor(randomInput(count(dimsA, false), 36).map((v) => v * 0.4)));
    const biasA = keep(tensor(Float32Array.of(NaN, Infinity, -Infinity, 0.3, -0.2)));
    const biasB = keep(tensor(randomInput(8, 37).map((v) => v * 0.5)));
    const out = (length: number) => keep(b.alloc('cpu', length));
    const scalars = Float32Array.of(qA.scale, qA.zeroPoint, qB.scale, qB.zeroPoint);
    const P = PLAN_OPS;
    // plain: [input, wA, biasA, a, wB, biasB, b, wE, e, wC, c, wD, d]
    const plainTensors = [input, wA, biasA, out(count(dimsA, true)), wB, biasB, out(count(dimsB, true)), wE,
      out(count(dimsE, true)), wC, out(count(dimsC, true)), wD, out(count(dimsD, true))];
    const plainProgram = Int32Array.of(
      P.conv2d, ...dimsA, 0, 1, 2, 3, 1,
      P.conv2d, ...dimsB, 3, 4, 5, 6, 1,
      P.conv2d, ...dimsE, 3, 7, -1, 8, 0,
      P.conv2d, ...dimsC, 6, 9, -1, 10, 0,
      P.conv2d, ...dimsD, 6, 11, -1, 12, 1);
    const chainProgram = Int32Array.of(
      P.conv2dInt8, ...dimsA, 0, 1, 2, 3, 0, 1, 0, 1,
      P.conv2dInt8, ...dimsB, 3, 4, 5, 6, 2, 1, 1, 1,
      P.conv2dInt8, ...dimsE, 3, 7, -1, 8, 0, 0, 1, 0,
      P.conv2dInt8, ...dimsC, 6, 9, -1, 10, 0, 0, 1, 0,
      P.conv2dInt8, ...dimsD, 6, 11, -1, 12, 0, 1, 1, 0);
    assert.equal(count(dimsB, true) % 4, 0, 'B\'s u8 fill their tensor exactly');
    const nhwc = (nchw: Float32Array, d: number[]) => {
      const [n, c, hw] = [d[0], d[4], d[14] * d[15]];
      return Float32Array.from({ length: nchw.length }, (_, i) => nchw[(Math.floor(i / (hw * c)) * c + i % c) * hw + Math.floor(i / c) % hw]);
    };
    const seen: Array<[string, Float32Array[]]> = [];
    try {
      for (const isa of b.cpuFeatures().supported) {
        b.setIsa(isa);
        await b.runPlan!(plainProgram, new Float32Array(0), plainTensors, null);
        const chainTensors = [...plainTensors];
        chainTensors[3] = out(count(dimsA, true) / 4);
        chainTensors[6] = out(count(dimsB, true) / 4);
        for (const i of [8, 10, 12]) chainTensors[i] = out(plainTensors[i].length);
        await b.runPlan!(chainProgram, scalars, chainTensors, null);
        const plainA = plainTensors[3].read();
        assert.ok(plainA.some(Number.isNaN) && plainA.includes(Infinity), 'A writes NaN and infinity');
        // the u8 the chain's convs wrote: A's and B's fp32 outputs quantized, NHWC
        assert.deepEqual(new Uint8Array(chainTensors[3].read().buffer), quantizeU8(nhwc(plainA, dimsA), qA), `${isa}: A's u8`);
        assert.deepEqual(new Uint8Array(chainTensors[6].read().buffer), quantizeU8(nhwc(plainTensors[6].read(), dimsB), qB), `${isa}: B's u8`);
        const results = [8, 10, 12].map((i) => chainTensors[i].read());
        [8, 10, 12].forEach((i, j) => {
          assert.deepEqual(results[j], plainTensors[i].read(), `${isa}: output of record ${i}`);
          assert.ok(new Set(results[j]).size > results[j].length / 4, `${isa}: output of record ${i} varies`);
        });
        seen.push([isa, results]);
      }
    } finally {
      b.setIsa('auto');
      for (const t of all) t.dispose();
    }
    for (const [isa, results] of seen.slice(1)) assert.deepEqual(results, seen[0][1], `${isa} vs ${seen[0][0]}`);
  });
});
