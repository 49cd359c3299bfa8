// A plain reference forward pass: the architecture's layers run one by one on the naive kernels of
// test/reference.ts (float64 accumulation), for end-to-end checks of the native pipeline.
import type { Architecture } from '../lib/model/layers.js';
import { inferShapes } from '../lib/model/shapes.js';
import * as ref from './reference.js';

export type Params = Map<string, { shape: number[]; data: Float32Array }>;

export function referenceForward(arch: Architecture, params: Params, input: Float32Array, shape: number[]): Float32Array {
  const [batch, , height, width] = shape;
  let x = input;
  for (const layer of inferShapes(arch, [height, width])) {
    const spec = layer.spec;
    const [c, h, w] = layer.inShape;
    const weight = params.get(`${spec.name}.weight`)?.data;
    const bias = params.get(`${spec.name}.bias`)?.data ?? null;
    switch (spec.type) {
      case 'conv2d': {
        const p = layer.pads!;
        x = ref.conv2d([batch, c, h, w, spec.outChannels, ...spec.kernel, ...spec.stride, ...p, spec.groups, layer.outShape[1], layer.outShape[2]],
          x, weight!, bias, spec.relu);
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
        x = ref.linear([batch, layer.inShape[0], spec.outFeatures], x, weight!, bias, spec.relu);
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
