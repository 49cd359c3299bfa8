// Shape inference: from an architecture and an input size to every layer's output shape,
// resolved padding, parameter shapes, parameter count and multiply-accumulates.
import { AlexnetError } from '../errors.js';
import type { Architecture, LayerSpec, Pads, Pair } from './layers.js';

export interface LayerShape {
  spec: LayerSpec;
  /** per-item input shape: [C, H, W] or [features] */
  inShape: number[];
  /** per-item output shape */
  outShape: number[];
  /** conv/pool padding after resolving 'same' */
  pads?: Pads;
  /** canonical parameter tensors of this layer: `${name}.weight` -> shape */
  params: Map<string, number[]>;
  paramCount: number;
  /** multiply-accumulates per item */
  macs: number;
}

export class ShapeError extends AlexnetError {
  constructor(message: string) {
    super(message, 'ERR_SHAPE');
  }
}

const product = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** Keras 'same': total padding so that out = ceil(in / stride); the extra row/column goes bottom/right */
function samePads(inSize: Pair, kernel: Pair, stride: Pair): Pads {
  const total = [0, 1].map((i) => {
    const out = Math.ceil(inSize[i] / stride[i]);
    return Math.max((out - 1) * stride[i] + kernel[i] - inSize[i], 0);
  });
  return [Math.floor(total[0] / 2), Math.floor(total[1] / 2), total[0] - Math.floor(total[0] / 2), total[1] - Math.floor(total[1] / 2)];
}

/** Output length of a pooling window sweep; with ceil rounding the last window must start inside input + left pad (PyTorch, ONNX, Caffe) */
export function poolOutputSize(inSize: number, kernel: number, stride: number, padBegin: number, padEnd: number, ceil: boolean): number {
  const span = inSize + padBegin + padEnd - kernel;
  let out = (ceil ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
  if (ceil && (out - 1) * stride >= inSize + padBegin) out -= 1;
  return out;
}

export function inferShapes(arch: Architecture, inputSize?: Pair): LayerShape[] {
  let shape: number[] = [arch.input[0], ...(inputSize ?? [arch.input[1], arch.input[2]])];
  const result: LayerShape[] = [];
  for (const spec of arch.layers) {
    const inShape = shape;
    const params = new Map<string, number[]>();
    let macs = 0;
    let pads: Pads | undefined;
    const need3d = (): [number, number, number] => {
      if (inShape.length !== 3) throw new ShapeError(`Expected a [C,H,W] input for layer ${spec.name} (${spec.type}) but received [${inShape.join(',')}]`);
      return inShape as [number, number, number];
    };
    switch (spec.type) {
      case 'conv2d': {
        const [c, h, w] = need3d();
        if (c % spec.groups !== 0 || spec.outChannels % spec.groups !== 0) {
          throw new ShapeError(`Expected channels divisible by groups=${spec.groups} for layer ${spec.name} but received ${c} in, ${spec.outChannels} out`);
        }
        pads = spec.pad === 'same' ? samePads([h, w], spec.kernel, spec.stride) : spec.pad;
        const oh = Math.floor((h + pads[0] + pads[2] - spec.kernel[0]) / spec.stride[0]) + 1;
        const ow = Math.floor((w + pads[1] + pads[3] - spec.kernel[1]) / spec.stride[1]) + 1;
        if (oh < 1 || ow < 1) throw new ShapeError(`Expected an input of at least ${spec.kernel.join('x')} for layer ${spec.name} but received ${h}x${w}`);
        const weight = [spec.outChannels, c / spec.groups, spec.kernel[0], spec.kernel[1]];
        params.set(`${spec.name}.weight`, weight);
        if (spec.bias) params.set(`${spec.name}.bias`, [spec.outChannels]);
        shape = [spec.outChannels, oh, ow];
        macs = product(weight) * oh * ow;
        break;
      }
      case 'maxPool2d':
      case 'avgPool2d': {
        const [c, h, w] = need3d();
        pads = spec.pad;
        const oh = poolOutputSize(h, spec.kernel[0], spec.stride[0], pads[0], pads[2], spec.ceil);
        const ow = poolOutputSize(w, spec.kernel[1], spec.stride[1], pads[1], pads[3], spec.ceil);
        if (oh < 1 || ow < 1) throw new ShapeError(`Expected an input of at least ${spec.kernel.join('x')} for layer ${spec.name} but received ${h}x${w}`);
        shape = [c, oh, ow];
        break;
      }
      case 'lrn':
        need3d();
        break;
      case 'adaptiveAvgPool2d': {
        const [c] = need3d();
        shape = [c, spec.output[0], spec.output[1]];
        break;
      }
      case 'flatten':
        shape = [product(inShape)];
        break;
      case 'linear': {
        if (inShape.length !== 1) throw new ShapeError(`Expected a flat input for layer ${spec.name} (linear) but received [${inShape.join(',')}]`);
        const weight = [spec.outFeatures, inShape[0]];
        params.set(`${spec.name}.weight`, weight);
        if (spec.bias) params.set(`${spec.name}.bias`, [spec.outFeatures]);
        shape = [spec.outFeatures];
        macs = product(weight);
        break;
      }
      case 'relu':
      case 'dropout':
      case 'softmax':
        break;
    }
    let paramCount = 0;
    for (const s of params.values()) paramCount += product(s);
    result.push({ spec, inShape, outShape: shape, pads, params, paramCount, macs });
  }
  const last = result[result.length - 1];
  if (last && (last.outShape.length !== 1 || last.outShape[0] !== arch.numClasses)) {
    throw new ShapeError(`Expected the network ${arch.name} to end in ${arch.numClasses} classes but its output is [${last.outShape.join(',')}]`);
  }
  return result;
}

export function parameterShapes(arch: Architecture): Map<string, number[]> {
  const all = new Map<string, number[]>();
  for (const layer of inferShapes(arch)) for (const [k, v] of layer.params) all.set(k, v);
  return all;
}

export const shapeSize = product;

export const shapeText = (shape: number[] | undefined): string => (shape ? `[${shape.join(',')}]` : 'missing');
export const sameShape = (a: number[] | undefined, b: number[]): boolean => !!a && a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * Every parameter the architecture needs is present with its shape (extra tensors are ignored): the one
 * check of weights against an architecture, made by the resolver (lib/weights/resolve.ts) and Model.fromWeights
 */
export function checkWeights(arch: Architecture, set: { path: string; tensors: Map<string, { shape: number[] }> }): void {
  const problems: string[] = [];
  for (const [name, shape] of parameterShapes(arch)) {
    const got = set.tensors.get(name)?.shape;
    if (!sameShape(got, shape)) problems.push(`${name} ${shapeText(shape)} but found ${shapeText(got)}`);
  }
  if (problems.length > 0) {
    throw new AlexnetError(`${set.path}: expected the tensors of architecture ${arch.name}: ${problems.join('; ')}`, 'ERR_WEIGHTS');
  }
}

/** native/napi/op-checks.h MAX_DIM: the largest single dimension the kernels take (2^24) */
export const MAX_DIM = 16777216;
/** native/napi/op-checks.h MAX_KERNEL_ELEMENTS: the most elements of one tensor the kernels index */
const MAX_KERNEL_ELEMENTS = 2147483647;

/** a value as a problem message shows it: JSON, cut short */
export const describeValue = (value: unknown): string => {
  const text = JSON.stringify(value);
  if (text === undefined) return 'none';
  return text.length > 80 ? `${text.slice(0, 80)}...` : text;
};

type FieldCheck = [check: (value: unknown) => boolean, expected: string];

const isSize = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 1 && (v as number) <= MAX_DIM;
const isPad = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= MAX_DIM;
const isFinite = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);
const arrayOf = (length: number, each: (v: unknown) => boolean) => (v: unknown): boolean => Array.isArray(v) && v.length === length && v.every(each);

const SIZE: FieldCheck = [isSize, `an integer from 1 to ${MAX_DIM}`];
const PAIR: FieldCheck = [arrayOf(2, isSize), `2 integers from 1 to ${MAX_DIM}`];
const PADS: FieldCheck = [arrayOf(4, isPad), `4 integers from 0 to ${MAX_DIM}`];
const FLAG: FieldCheck = [(v) => typeof v === 'boolean', 'true or false'];
const FINITE: FieldCheck = [isFinite, 'a finite number'];
const POOL: Record<string, FieldCheck> = { kernel: PAIR, stride: PAIR, pad: PADS, ceil: FLAG };

/** The fields of each layer type (layers.ts), beside `type` and `name` */
const LAYER_FIELDS: Record<LayerSpec['type'], Record<string, FieldCheck>> = {
  conv2d: {
    outChannels: SIZE, kernel: PAIR, stride: PAIR, groups: SIZE, bias: FLAG, relu: FLAG,
    pad: [(v) => v === 'same' || PADS[0](v), `'same' or ${PADS[1]}`],
  },
  maxPool2d: POOL,
  avgPool2d: { ...POOL, countIncludePad: [(v) => v === undefined || typeof v === 'boolean', 'true, false or absent'] },
  lrn: { size: SIZE, alpha: FINITE, beta: FINITE, k: FINITE },
  adaptiveAvgPool2d: { output: PAIR },
  flatten: {},
  linear: { outFeatures: SIZE, bias: FLAG, relu: FLAG },
  relu: {},
  dropout: { rate: [(v) => isFinite(v) && (v as number) >= 0 && (v as number) <= 1, 'a number from 0 to 1'] },
  softmax: {},
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * What is wrong with an architecture that comes from a file (convert's metadata), as
 * "<root>.<field> to be <what> but found <value>", or undefined when it is one: every field's type and
 * range (known layer types, sizes within the kernels' MAX_DIM, non-negative pads) and shapes that infer,
 * no activation beyond what the kernels index. Its `preprocess` is only required to be an object: what it
 * holds is the image side's to check (lib/model/preprocess.ts preprocessProblem).
 */
export function architectureProblem(value: unknown, root = 'architecture'): string | undefined {
  const found = (field: string, expected: string, v: unknown) => `${field} to be ${expected} but found ${describeValue(v)}`;
  if (!isObject(value)) return found(root, 'an object', value);
  const { name, input, layers, preprocess, output, numClasses } = value;
  if (typeof name !== 'string' || name === '') return found(`${root}.name`, 'a non-empty string', name);
  if (!arrayOf(3, isSize)(input)) return found(`${root}.input`, `3 integers from 1 to ${MAX_DIM} (channels, height, width)`, input);
  if (!Array.isArray(layers) || layers.length === 0) return found(`${root}.layers`, 'a non-empty array of layers', layers);
  for (const [i, layer] of layers.entries()) {
    const at = `${root}.layers[${i}]`;
    if (!isObject(layer)) return found(at, 'an object', layer);
    if (typeof layer.type !== 'string' || !Object.hasOwn(LAYER_FIELDS, layer.type)) {
      return found(`${at}.type`, `one of ${Object.keys(LAYER_FIELDS).join(', ')}`, layer.type);
    }
    if (typeof layer.name !== 'string' || layer.name === '') return found(`${at}.name`, 'a non-empty string', layer.name);
    for (const [field, [check, expected]] of Object.entries(LAYER_FIELDS[layer.type as LayerSpec['type']])) {
      if (!check(layer[field])) return found(`${at}.${field} (${layer.type} ${layer.name})`, expected, layer[field]);
    }
  }
  if (!isObject(preprocess)) return found(`${root}.preprocess`, 'an object', preprocess);
  if (output !== 'probabilities' && output !== 'logits') return found(`${root}.output`, "'probabilities' or 'logits'", output);
  if (!isSize(numClasses)) return found(`${root}.numClasses`, SIZE[1], numClasses);
  let shapes: LayerShape[];
  try {
    shapes = inferShapes(value as unknown as Architecture);
  } catch (e) {
    if (!(e instanceof ShapeError)) throw e;
    return `${root} to have shapes that infer but found: ${e.message}`;
  }
  const [c, h, w] = input as number[];
  const tooLarge = [{ spec: { name: 'input' }, outShape: [c, h, w] }, ...shapes].find((s) => product(s.outShape) > MAX_KERNEL_ELEMENTS);
  if (tooLarge) return found(`${root} layer ${tooLarge.spec.name}'s output`, `at most ${MAX_KERNEL_ELEMENTS} values`, tooLarge.outShape);
  return undefined;
}
