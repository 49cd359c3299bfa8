// Compiles a model's layer list for one (batch, input size) into the program that Binding.runPlan
// executes: fixed-size records [opcode, dims..., tensor indices..., flags...] (native/napi/op-table.h
// documents each layout), the NativeTensors they index (tensors[0] is the input, given per call; then
// parameters and the arena's two ping-pong buffers), and the scalars of LRN. This is the only place a
// layer becomes a record: Model.forward runs the program in one call, or (plan: false) record by record.
//
// To choose a kernel or precision per layer, extend `layerRecord` (it sees the layer and its tensors);
// the op table on the native side then needs the matching opcode or flag.
import type { NativeTensor } from '../native.js';
import type { LayerShape } from './shapes.js';

/** opcodes of runPlan records (native/napi/op-table.h plan_opcode) */
export const PLAN_OPS = {
  conv2d: 1,
  maxPool2d: 2,
  avgPool2d: 3,
  lrn: 4,
  linear: 5,
  softmax: 6,
  adaptiveAvgPool2d: 7,
  relu: 8,
  conv2dInt8: 9,
  maxPool2dU8: 10,
  linearU8: 11,
} as const;

/** the index of the input in Plan.tensors: Model.forward puts the pass's input there */
export const PLAN_INPUT = 0;

/** what the plan needs to know of an int8 layer's weights (Binding.linearWeightInfo) */
export interface Int8LayerInfo {
  /** the static activation quantization of the layer's input (scale 0: dynamic, per batch) */
  scale: number;
  zeroPoint: number;
}

export interface PlanOptions {
  /** end with a softmax over each output row, in place (a network that outputs logits, asked for probabilities) */
  softmax?: boolean;
  /**
   * The int8 chain: the weights of an int8 conv or linear layer by layer name (undefined for other layers).
   * Given, an int8 conv whose output reaches an int8 layer with static scales through max pools only writes
   * its output as u8 already quantized for that layer, the pools run on the u8, and the layer reads it as
   * it is (int8Chain below); without it every layer reads and writes fp32.
   */
  int8?: (layerName: string) => Int8LayerInfo | undefined;
}

/**
 * The int8 chain of a plan: per layer index, how it reads and writes when its activations stay u8. A conv
 * `produces` u8 for the layer at `consumer` (an int8 conv of groups 1, or an int8 linear after at least one
 * max pool, all with static scales) when only max pools (and layers that run nothing: dropout, flatten, an
 * adaptive average pool to its own size) lie between; those pools run on u8 (the last one before a linear
 * writes NCHW, the order the linear reads). The u8 values are exactly what quantizing the fp32 ones gives
 * (native/kernels/kernels.h), so the chain changes time and memory traffic, never an output.
 */
export interface Int8Chain {
  /** conv layers that write u8: the quantization of their output (the consumer's input) */
  producers: Map<number, Int8LayerInfo>;
  /** layers that read u8: chained convs and linears */
  consumers: Set<number>;
  /** max pools on u8: true where the output is NCHW (a linear follows) */
  pools: Map<number, boolean>;
}

/** layers the chain passes through: they run nothing (dropout, flatten) or are the identity (an adaptive average pool to its input's size) */
function passesThrough(layer: LayerShape): boolean {
  const spec = layer.spec;
  if (spec.type === 'dropout' || spec.type === 'flatten') return true;
  return spec.type === 'adaptiveAvgPool2d' && layer.inShape[1] === spec.output[0] && layer.inShape[2] === spec.output[1];
}

export function int8Chain(shapes: LayerShape[], int8: (layerName: string) => Int8LayerInfo | undefined): Int8Chain {
  const chain: Int8Chain = { producers: new Map(), consumers: new Set(), pools: new Map() };
  shapes.forEach((layer, i) => {
    if (layer.spec.type !== 'conv2d' || !int8(layer.spec.name)) return;
    const pools: number[] = [];
    let j = i + 1;
    for (; j < shapes.length; j++) {
      const t = shapes[j].spec.type;
      if (t === 'maxPool2d') pools.push(j);
      else if (!passesThrough(shapes[j])) break;
    }
    const consumer = shapes[j];
    if (!consumer) return;
    const info = int8(consumer.spec.name);
    if (!info || !(info.scale > 0)) return;
    const spec = consumer.spec;
    const convOk = spec.type === 'conv2d' && spec.groups === 1;
    // a linear reads NCHW: the last pool writes it (an adaptive pool that is not the identity stopped the walk)
    const linearOk = spec.type === 'linear' && pools.length > 0;
    if (!convOk && !linearOk) return;
    chain.producers.set(i, info);
    chain.consumers.add(j);
    pools.forEach((p, k) => chain.pools.set(p, linearOk && k === pools.length - 1));
  });
  return chain;
}

export interface Plan {
  program: Int32Array;
  /** where each op's record starts in program, and program.length last (ops + 1 values) */
  opStarts: Int32Array;
  scalars: Float32Array;
  /** tensors[PLAN_INPUT] is null: the input of each pass goes there */
  tensors: (NativeTensor | null)[];
  /** the layer (index into the shapes) each op runs; flatten and dropout run none; the final softmax: shapes.length */
  opLayers: Int32Array;
  /** the index in tensors of what the last op writes */
  output: number;
}

/** what one layer reads and writes, as indices into the plan's tensors */
interface LayerTensors {
  input: number;
  output: number;
  weight: number;
  bias: number;
}

/**
 * The record of one layer (without the final softmax), or null for layers that run nothing (flatten:
 * NCHW is already [N, C*H*W]; dropout: the identity at inference). `scalars` receives LRN's alpha, beta, k.
 */
/** how a layer of the int8 chain reads and writes (all undefined / false: fp32 in and out) */
interface LayerChain {
  /** a conv: its output as u8 of this quantization */
  produces?: Int8LayerInfo;
  /** a conv or linear: its input is u8 */
  consumes: boolean;
  /** a max pool on u8: NCHW output (true) or NHWC (false); undefined: fp32 */
  pool?: boolean;
}

function layerRecord(layer: LayerShape, batch: number, t: LayerTensors, scalars: number[], chain: LayerChain): number[] | null {
  const spec = layer.spec;
  const [c, h, w] = layer.inShape;
  switch (spec.type) {
    case 'conv2d':
      if (chain.produces || chain.consumes) {
        // an unused output quantization still has to be two finite scalars
        scalars.push(chain.produces?.scale ?? 1, chain.produces?.zeroPoint ?? 0);
        return [PLAN_OPS.conv2dInt8, ...conv2dDims(layer, batch), t.input, t.weight, t.bias, t.output, scalars.length - 2,
          spec.relu ? 1 : 0, chain.consumes ? 1 : 0, chain.produces ? 1 : 0];
      }
      return [PLAN_OPS.conv2d, ...conv2dDims(layer, batch), t.input, t.weight, t.bias, t.output, spec.relu ? 1 : 0];
    case 'maxPool2d':
    case 'avgPool2d': {
      const p = layer.pads!;
      const dims = [batch, c, h, w, spec.kernel[0], spec.kernel[1], spec.stride[0], spec.stride[1], p[0], p[1], p[2], p[3],
        layer.outShape[1], layer.outShape[2]];
      if (spec.type === 'maxPool2d' && chain.pool !== undefined) return [PLAN_OPS.maxPool2dU8, ...dims, t.input, t.output, chain.pool ? 1 : 0];
      return spec.type === 'maxPool2d'
        ? [PLAN_OPS.maxPool2d, ...dims, t.input, t.output]
        : [PLAN_OPS.avgPool2d, ...dims, t.input, t.output, spec.countIncludePad ? 1 : 0];
    }
    case 'lrn':
      scalars.push(spec.alpha, spec.beta, spec.k);
      return [PLAN_OPS.lrn, batch, c, h, w, spec.size, t.input, t.output, scalars.length - 3];
    case 'adaptiveAvgPool2d':
      return [PLAN_OPS.adaptiveAvgPool2d, batch, c, h, w, spec.output[0], spec.output[1], t.input, t.output];
    case 'linear':
      return [chain.consumes ? PLAN_OPS.linearU8 : PLAN_OPS.linear, batch, layer.inShape[0], spec.outFeatures, t.input, t.weight, t.bias, t.output, spec.relu ? 1 : 0];
    case 'relu':
      return [PLAN_OPS.relu, batch * layer.inShape.reduce((a, b) => a * b, 1), t.input, t.input];
    case 'softmax':
      return [PLAN_OPS.softmax, batch, layer.inShape[0], t.input, t.output];
    case 'flatten':
    case 'dropout':
      return null;
  }
}

/** the layers of the chain that run nothing: an identity adaptive pool between a producer and its consumer */
function skipped(layer: LayerShape, inChain: boolean): boolean {
  return inChain && layer.spec.type === 'adaptiveAvgPool2d' && passesThrough(layer);
}

/**
 * conv2d dims (lib/native.ts CONV2D_DIMS) of a conv layer for `batch` images; packConv/unpackConv take
 * them with batch 1 (only channels, kernel, stride and groups matter to them)
 */
export function conv2dDims(layer: LayerShape, batch: number): number[] {
  const spec = layer.spec;
  if (spec.type !== 'conv2d') throw new Error(`Expected a conv2d layer but received ${spec.type}`);
  const [c, h, w] = layer.inShape;
  const p = layer.pads!;
  return [batch, c, h, w, spec.outChannels, spec.kernel[0], spec.kernel[1], spec.stride[0], spec.stride[1],
    p[0], p[1], p[2], p[3], spec.groups, layer.outShape[1], layer.outShape[2]];
}

/** layers whose op writes where it reads (relu in place) or writes nothing keep the activation where it is */
const staysInPlace = (layer: LayerShape): boolean => ['relu', 'flatten', 'dropout'].includes(layer.spec.type);

export function compilePlan(shapes: LayerShape[], batch: number, params: Map<string, NativeTensor>,
  buffers: [NativeTensor, NativeTensor], options: PlanOptions = {}): Plan {
  const program: number[] = [];
  const opStarts: number[] = [];
  const scalars: number[] = [];
  const tensors: (NativeTensor | null)[] = [null];
  const indices = new Map<NativeTensor, number>();
  const opLayers: number[] = [];
  const index = (t: NativeTensor | undefined): number => {
    if (!t) return -1;
    let i = indices.get(t);
    if (i === undefined) {
      i = tensors.length;
      tensors.push(t);
      indices.set(t, i);
    }
    return i;
  };
  const emit = (record: number[], layer: number) => {
    opStarts.push(program.length);
    program.push(...record);
    opLayers.push(layer);
  };
  const chain = options.int8 ? int8Chain(shapes, options.int8) : undefined;
  let current = PLAN_INPUT;
  let next = 0;
  let u8 = false;  // the activation at `current` is u8 (inside the chain)
  shapes.forEach((layer, i) => {
    const name = layer.spec.name;
    const output = index(buffers[next]);
    const layerChain: LayerChain = {
      produces: chain?.producers.get(i), consumes: chain?.consumers.has(i) ?? false, pool: chain?.pools.get(i),
    };
    if (skipped(layer, u8)) return;
    const record = layerRecord(layer, batch, {
      input: current, output, weight: index(params.get(`${name}.weight`)), bias: index(params.get(`${name}.bias`)),
    }, scalars, layerChain);
    if (record) emit(record, i);
    if (layerChain.produces) u8 = true;
    else if (layerChain.consumes) u8 = false;
    if (!staysInPlace(layer)) {
      current = output;
      next = 1 - next;
    }
  });
  if (options.softmax) {
    const last = shapes[shapes.length - 1];
    emit([PLAN_OPS.softmax, batch, last.outShape.reduce((a, b) => a * b, 1), current, current], shapes.length);
  }
  opStarts.push(program.length);
  return {
    program: Int32Array.from(program),
    opStarts: Int32Array.from(opStarts),
    scalars: Float32Array.from(scalars),
    tensors,
    opLayers: Int32Array.from(opLayers),
    output: current,
  };
}
