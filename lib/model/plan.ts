// Compiles a model's layer list for one (batch, input size) into the program that Binding.runPlan
// executes in one native call: fixed-size records [opcode, dims..., tensor indices..., flags...]
// (native/napi/run-plan.h), an array of the NativeTensors they index (parameters and the activation
// arena), and the scalars of LRN. Compiled once per arena and reused by every forward pass.
import type { NativeTensor } from '../native.js';
import type { LayerShape } from './shapes.js';

/** opcodes of runPlan records (native/napi/run-plan.h plan_opcode) */
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

export interface Plan {
  program: Int32Array;
  scalars: Float32Array;
  tensors: NativeTensor[];
  /** the layer (index into the shapes) each op runs; flatten and dropout run none */
  opLayers: Int32Array;
  /** per-op native ns, written by runPlan when passed (profiling) */
  times: Float64Array;
  /** the tensor the last layer writes */
  output: NativeTensor;
}

/**
 * The same ops, in the same order and on the same ping-pong buffers, as Model's one-primitive-per-layer
 * path, so both give identical results.
 */
export function compilePlan(shapes: LayerShape[], batch: number, params: Map<string, NativeTensor>,
  input: NativeTensor, buffers: [NativeTensor, NativeTensor]): Plan {
  const program: number[] = [];
  const scalars: number[] = [];
  const tensors: NativeTensor[] = [];
  const indices = new Map<NativeTensor, number>();
  const opLayers: number[] = [];
  const index = (t: NativeTensor | null | undefined): number => {
    if (!t) return -1;
    let i = indices.get(t);
    if (i === undefined) {
      i = tensors.length;
      tensors.push(t);
      indices.set(t, i);
    }
    return i;
  };
  index(input); // tensors[0]: Model.forward passes a caller's NativeTensor in its place
  let current = input;
  let next = 0;
  shapes.forEach((layer, i) => {
    const spec = layer.spec;
    const [c, h, w] = layer.inShape;
    const out = buffers[next];
    let moved = true;
    const emit = (...record: number[]) => {
      program.push(...record);
      opLayers.push(i);
    };
    switch (spec.type) {
      case 'conv2d': {
        const p = layer.pads!;
        emit(PLAN_OPS.conv2d, batch, c, h, w, spec.outChannels, spec.kernel[0], spec.kernel[1], spec.stride[0], spec.stride[1],
          p[0], p[1], p[2], p[3], spec.groups, layer.outShape[1], layer.outShape[2],
          index(current), index(params.get(`${spec.name}.weight`)), index(params.get(`${spec.name}.bias`)), index(out), spec.relu ? 1 : 0);
        break;
      }
      case 'maxPool2d':
      case 'avgPool2d': {
        const p = layer.pads!;
        const dims = [batch, c, h, w, spec.kernel[0], spec.kernel[1], spec.stride[0], spec.stride[1], p[0], p[1], p[2], p[3],
          layer.outShape[1], layer.outShape[2]];
        if (spec.type === 'maxPool2d') emit(PLAN_OPS.maxPool2d, ...dims, index(current), index(out));
        else emit(PLAN_OPS.avgPool2d, ...dims, index(current), index(out), spec.countIncludePad ? 1 : 0);
        break;
      }
      case 'lrn':
        emit(PLAN_OPS.lrn, batch, c, h, w, spec.size, index(current), index(out), scalars.length);
        scalars.push(spec.alpha, spec.beta, spec.k);
        break;
      case 'adaptiveAvgPool2d':
        emit(PLAN_OPS.adaptiveAvgPool2d, batch, c, h, w, spec.output[0], spec.output[1], index(current), index(out));
        break;
      case 'linear':
        emit(PLAN_OPS.linear, batch, layer.inShape[0], spec.outFeatures, index(current), index(params.get(`${spec.name}.weight`)),
          index(params.get(`${spec.name}.bias`)), index(out), spec.relu ? 1 : 0);
        break;
      case 'relu':
        emit(PLAN_OPS.relu, batch * layer.inShape.reduce((a, b) => a * b, 1), index(current), index(current));
        moved = false;
        break;
      case 'softmax':
        emit(PLAN_OPS.softmax, batch, layer.inShape[0], index(current), index(out));
        break;
      case 'flatten':
      case 'dropout':
        moved = false; // NCHW is already [N, C*H*W]; dropout is the identity at inference
        break;
    }
    if (moved) {
      current = out;
      next = 1 - next;
    }
  });
  return {
    program: Int32Array.from(program),
    scalars: Float32Array.from(scalars),
    tensors,
    opLayers: Int32Array.from(opLayers),
    times: new Float64Array(opLayers.length),
    output: current,
  };
}
