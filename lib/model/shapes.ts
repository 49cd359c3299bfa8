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
