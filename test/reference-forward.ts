// A plain reference forward pass: the architecture's layers run one by one on the naive kernels of
// test/reference.ts (float64 accumulation), for end-to-end checks of the native pipeline. Shapes and
// pads are worked out here from the layer specs (not by lib/model/shapes.ts, the code under test).
import type { Architecture, Pads, Pair } from '../lib/model/layers.js';
import * as ref from './reference.js';

export type Params = Map<string, { shape: number[]; data: Float32Array }>;

/** Keras/TensorFlow 'same': out = ceil(in / stride), total pad (out - 1) * stride + kernel - in, the odd one at the end */
function samePads(h: number, w: number, kernel: Pair, stride: Pair): Pads {
  const total = (size: number, i: number) => Math.max((Math.ceil(size / stride[i]) - 1) * stride[i] + kernel[i] - size, 0);
  const th = total(h, 0);
  const tw = total(w, 1);
  return [Math.floor(th / 2), Math.floor(tw / 2), th - Math.floor(th / 2), tw - Math.floor(tw / 2)];
}

/** pool output length; with ceil, PyTorch drops a last window that would start in the end padding */
function poolSize(size: number, kernel: number, stride: number, padBegin: number, padEnd: number, ceil: boolean): number {
  const out = ref.windowOutputSize(size, kernel, stride, padBegin, padEnd, ceil);
  return ceil && (out - 1) * stride >= size + padBegin ? out - 1 : out;
}

interface LayerShapes { inShape: number[]; outShape: number[]; pads?: Pads }

/** the conv and linear twins to run instead of ref.conv2d / ref.linear (reduced precision: reference.ts conv2dInt8, ...) */
export interface ReferenceKernels {
  conv2d?: (layer: string, dims: number[], x: Float32Array, weight: Float32Array, bias: Float32Array | null, relu: boolean) => Float32Array;
  linear?: (layer: string, dims: number[], x: Float32Array, weight: Float32Array, bias: Float32Array | null, relu: boolean) => Float32Array;
}

export function referenceForward(arch: Architecture, params: Params, input: Float32Array, shape: number[],
  kernels: ReferenceKernels = {}): Float32Array {
  const [batch, channels, height, width] = shape;
  let x = input;
  let current = [channels, height, width];
  for (const spec of arch.layers) {
    const layer: LayerShapes = { inShape: current, outShape: current };
    const [c, h, w] = current;
    if (spec.type === 'conv2d') {
      layer.pads = spec.pad === 'same' ? samePads(h, w, spec.kernel, spec.stride) : spec.pad;
      const [pt, pl, pb, pr] = layer.pads;
      layer.outShape = [spec.outChannels, Math.floor((h + pt + pb - spec.kernel[0]) / spec.stride[0]) + 1, Math.floor((w + pl + pr - spec.kernel[1]) / spec.stride[1]) + 1];
    } else if (spec.type === 'maxPool2d' || spec.type === 'avgPool2d') {
      layer.pads = spec.pad;
      const [pt, pl, pb, pr] = spec.pad;
      layer.outShape = [c, poolSize(h, spec.kernel[0], spec.stride[0], pt, pb, spec.ceil), poolSize(w, spec.kernel[1], spec.stride[1], pl, pr, spec.ceil)];
    } else if (spec.type === 'adaptiveAvgPool2d') {
      layer.outShape = [c, ...spec.output];
    } else if (spec.type === 'flatten') {
      layer.outShape = [current.reduce((a, b) => a * b, 1)];
    } else if (spec.type === 'linear') {
      layer.outShape = [spec.outFeatures];
    }
    current = layer.outShape;
    const weight = params.get(`${spec.name}.weight`)?.data;
    const bias = params.get(`${spec.name}.bias`)?.data ?? null;
    switch (spec.type) {
      case 'conv2d': {
        const p = layer.pads!;
        const dims = [batch, c, h, w, spec.outChannels, ...spec.kernel, ...spec.stride, ...p, spec.groups, layer.outShape[1], layer.outShape[2]];
        x = kernels.conv2d ? kernels.conv2d(spec.name, dims, x, weight!, bias, spec.relu) : ref.conv2d(dims, x, weight!, bias, spec.relu);
        break;
      }
      case 'maxPool2d':
      case 'avgPool2d': {
        const dims = [batch, c, h, w, ...spec.kernel, ...spec.stride, ...layer.pads!, layer.outShape[1], layer.outShape[2]];
        x = spec.type === 'maxPool2d' ? ref.maxPool2d(dims, x) : ref.avgPool2d(dims, x, spec.countIncludePad ?? false);
        break;
      }
      case 'lrn':
        x = ref.lrn([batch, c, h, w, spec.size], x, spec.alpha, spec.beta, spec.k);
        break;
      case 'adaptiveAvgPool2d':
        x = ref.adaptiveAvgPool2d([batch, c, h, w, ...spec.output], x);
        break;
      case 'linear':
        x = kernels.linear
          ? kernels.linear(spec.name, [batch, layer.inShape[0], spec.outFeatures], x, weight!, bias, spec.relu)
          : ref.linear([batch, layer.inShape[0], spec.outFeatures], x, weight!, bias, spec.relu);
        break;
      case 'relu':
        x = ref.relu(x);
        break;
      case 'softmax':
        x = ref.softmax([batch, layer.inShape[0]], x);
        break;
      case 'flatten':
      case 'dropout':
        break;
    }
  }
  return x;
}

/** ||a - b|| / ||b|| in float64 */
export function relativeL2(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
}
