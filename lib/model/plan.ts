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
} as const;

/** the index of the input in Plan.tensors: Model.forward puts the pass's input there */
export const PLAN_INPUT = 0;

export interface PlanOptions {
  /** end with a softmax over each output row, in place (a network that outputs logits, asked for probabilities) */
  softmax?: boolean;
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
function layerRecord(layer: LayerShape, batch: number, t: LayerTensors, scalars: number[]): number[] | null {
  const spec = layer.spec;
  const [c, h, w] = layer.inShape;
  switch (spec.type) {
    case 'conv2d':
      return [PLAN_OPS.conv2d, ...conv2dDims(layer, batch), t.input, t.weight, t.bias, t.output, spec.relu ? 1 : 0];
    case 'maxPool2d':
    case 'avgPool2d': {
      const p = layer.pads!;
      const dims = [batch, c, h, w, spec.kernel[0], spec.kernel[1], spec.stride[0], spec.stride[1], p[0], p[1], p[2], p[3],
        layer.outShape[1], layer.outShape[2]];
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
      return [PLAN_OPS.linear, batch, layer.inShape[0], spec.outFeatures, t.input, t.weight, t.bias, t.output, spec.relu ? 1 : 0];
    case 'relu':
      return [PLAN_OPS.relu, batch * layer.inShape.reduce((a, b) => a * b, 1), t.input, t.input];
    case 'softmax':
      return [PLAN_OPS.softmax, batch, layer.inShape[0], t.input, t.output];
    case 'flatten':
    case 'dropout':
      return null;
  }
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
  let current = PLAN_INPUT;
  let next = 0;
  shapes.forEach((layer, i) => {
    const name = layer.spec.name;
    const output = index(buffers[next]);
    const record = layerRecord(layer, batch, {
      input: current, output, weight: index(params.get(`${name}.weight`)), bias: index(params.get(`${name}.bias`)),
    }, scalars);
    if (record) emit(record, i);
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
