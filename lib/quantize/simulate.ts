// Reduced precision simulated with the fp32 kernels, for measuring accuracy where the native int8 / bf16
// runtime is not in use: int8 as fake quantization (each conv2d / linear input rounded through u8 with
// its scale and zero point, weights q * scale), bf16 as the rounding of those inputs and weights to bf16
// (round to nearest even) with fp32 sums. Everything else (pooling, LRN, softmax) runs in fp32, as it
// does in the native runtime.
import type { Architecture } from '../model/layers.js';
import type { Int8Model } from './file.js';
import { dequantizeWeights, fakeQuantizeActivations } from './quant.js';
import { SegmentRunner, splitSegments } from './segments.js';

/** fp32 -> bf16 -> fp32 in place, round to nearest even (NaN stays NaN) */
export function roundToBf16(values: Float32Array): Float32Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i];
    if ((b & 0x7fffffff) > 0x7f800000) { bits[i] = (b | 0x400000) & 0xffff0000; continue; }
    bits[i] = ((b + 0x7fff + ((b >>> 16) & 1)) >>> 0) & 0xffff0000;
  }
  return values;
}

export class SimulatedNetwork {
  readonly arch: Architecture;
  private readonly runner: SegmentRunner;
  private readonly prepareInput: (layer: string, values: Float32Array) => void;

  private constructor(arch: Architecture, runner: SegmentRunner, prepareInput: (layer: string, values: Float32Array) => void) {
    this.arch = arch;
    this.runner = runner;
    this.prepareInput = prepareInput;
  }

  /** the int8 network of a quantized model (lib/quantize/file.ts) */
  static async int8(model: Int8Model, options: { winograd?: boolean } = {}): Promise<SimulatedNetwork> {
    const layers = new Map(model.layers.map((l) => [l.name, l]));
    const runner = await SegmentRunner.build(splitSegments(model.arch), (name) => {
      const l = layers.get(name)!;
      return { weight: dequantizeWeights(l.weight), bias: l.bias };
    }, options);
    return new SimulatedNetwork(model.arch, runner, (name, values) => fakeQuantizeActivations(values, layers.get(name)!.input));
  }

  /** the bf16 network of fp32 parameters (canonical names) */
  static async bf16(arch: Architecture, params: Map<string, Float32Array>): Promise<SimulatedNetwork> {
    const runner = await SegmentRunner.build(splitSegments(arch), (name) => ({
      weight: roundToBf16(params.get(`${name}.weight`)!.slice()), bias: params.get(`${name}.bias`),
    }));
    return new SimulatedNetwork(arch, runner, (_, values) => roundToBf16(values));
  }

  /**
   * [N, C, H, W] preprocessed input -> [N, classes] output, as Model.forward; `onLayerInput` sees each
   * conv2d / linear layer's input as that layer uses it (after the u8 or bf16 rounding)
   */
  async forward(input: Float32Array, batch: number, onLayerInput?: (layer: string, values: Float32Array) => void): Promise<Float32Array> {
    let x: Float32Array = input.slice();
    const segments = this.runner.segments;
    for (let i = 0; i < segments.length; i++) {
      const q = segments[i].quantized;
      if (q) {
        this.prepareInput(q.name, x);
        onLayerInput?.(q.name, x);
      }
      x = await this.runner.run(i, x, batch);
    }
    return x;
  }

  dispose(): void {
    this.runner.dispose();
  }
}
