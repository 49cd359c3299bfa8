// A network cut where quantization acts: each conv2d / linear layer (with the ReLU layers right after it)
// is a segment of its own, and the layers between two of them (pooling, LRN, flatten, softmax) another.
// Each segment is a small Model of its own (lib/model/model.ts, the same kernels and plan as a whole
// network), so quantize sees every quantized layer's input and output while running the public pipeline.
import type { Architecture, LayerSpec } from '../model/layers.js';
import { Model } from '../model/model.js';
import { inferShapes } from '../model/shapes.js';
import type { WeightSet } from '../weights/types.js';

export interface Segment {
  /** the conv2d or linear layer this segment runs, or undefined for the layers between two of them */
  quantized?: LayerSpec & { type: 'conv2d' | 'linear' };
  layers: LayerSpec[];
  /** per-item input and output shapes */
  inShape: number[];
  outShape: number[];
  /** the segment as a network of its own ([features] inputs as [features, 1, 1] behind a flatten, outputs flattened) */
  arch?: Architecture;
}

const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

export function isQuantizable(spec: LayerSpec): spec is LayerSpec & { type: 'conv2d' | 'linear' } {
  return spec.type === 'conv2d' || spec.type === 'linear';
}

/** The segments of an architecture at its own input size */
export function splitSegments(arch: Architecture): Segment[] {
  const shapes = inferShapes(arch);
  const segments: Segment[] = [];
  let current: Segment | undefined;
  for (const shape of shapes) {
    const spec = shape.spec;
    const startsNew = isQuantizable(spec) || (current?.quantized !== undefined && spec.type !== 'relu');
    if (!current || startsNew) {
      current = { quantized: isQuantizable(spec) ? spec : undefined, layers: [], inShape: shape.inShape, outShape: shape.outShape };
      segments.push(current);
    }
    current.layers.push(spec);
    current.outShape = shape.outShape;
  }
  for (const s of segments) {
    // flatten and dropout alone compute nothing: no network needed
    if (s.layers.every((l) => l.type === 'flatten' || l.type === 'dropout')) continue;
    const flat = s.inShape.length === 1;
    s.arch = {
      name: `${arch.name}.${s.layers[0].name}`,
      input: flat ? [s.inShape[0], 1, 1] : (s.inShape as [number, number, number]),
      // shape inference wants a [numClasses] output: a flatten (which moves no value) where it is [C, H, W]
      layers: [...(flat ? [{ type: 'flatten', name: 'flatten_in' } as const] : []), ...s.layers,
        ...(s.outShape.length > 1 ? [{ type: 'flatten', name: 'flatten_out' } as const] : [])],
      preprocess: arch.preprocess,
      output: 'logits',
      // Model.forward reads numClasses values per item from the last layer
      numClasses: size(s.outShape),
    };
  }
  return segments;
}

/** Runs segments, each a Model built from the parameters given */
export class SegmentRunner {
  readonly segments: Segment[];
  private readonly models: (Model | undefined)[];

  private constructor(segments: Segment[], models: (Model | undefined)[]) {
    this.segments = segments;
    this.models = models;
  }

  /**
   * `params(layerName)` gives a quantized layer's weight and bias (fp32; dequantized int8 for fake
   * quantization); `only` limits the networks built to the quantized segments (the others are shared)
   */
  static async build(segments: Segment[], params: (layer: string) => { weight: Float32Array; bias?: Float32Array },
    options: { quantizedOnly?: boolean; winograd?: boolean } = {}): Promise<SegmentRunner> {
    const models: (Model | undefined)[] = [];
    for (const s of segments) {
      if (!s.arch || (options.quantizedOnly && !s.quantized)) {
        models.push(undefined);
        continue;
      }
      const set: WeightSet = { format: 'memory', path: `<${s.arch.name}>`, tensors: new Map(), metadata: {} };
      if (s.quantized) {
        const p = params(s.quantized.name);
        const shapes = inferShapes(s.arch);
        const layer = shapes.find((l) => l.spec.name === s.quantized!.name)!;
        for (const [name, shape] of layer.params) {
          const data = name.endsWith('.weight') ? p.weight : p.bias;
          if (data) set.tensors.set(name, { shape, data });
        }
      }
      models.push(await Model.fromWeights(s.arch, set, 'cpu', { winograd: options.winograd }));
    }
    return new SegmentRunner(segments, models);
  }

  /**
   * The quantized segments' networks from a weight set as read (an int8 file: its tensors keep the int8
   * values and scales), loaded with `pack` (the native int8 runtime: { precision: 'int8' })
   */
  static async fromSet(segments: Segment[], set: WeightSet, pack: Record<string, unknown>): Promise<SegmentRunner> {
    const models: (Model | undefined)[] = [];
    for (const s of segments) {
      if (!s.quantized || !s.arch) {
        models.push(undefined);
        continue;
      }
      const tensors = new Map();
      for (const kind of ['weight', 'bias']) {
        const t = set.tensors.get(`${s.quantized.name}.${kind}`);
        if (t) tensors.set(`${s.quantized.name}.${kind}`, t);
      }
      models.push(await Model.fromWeights(s.arch, { ...set, tensors }, 'cpu', pack));
    }
    return new SegmentRunner(segments, models);
  }

  /** segment i on a batch: its input values -> its output values (a copy, never the input itself) */
  async run(i: number, input: Float32Array, batch: number): Promise<Float32Array> {
    const s = this.segments[i];
    const model = this.models[i];
    if (!model) {
      if (s.arch) throw new Error(`segment ${s.layers[0].name} has no network in this runner`);
      return input.slice();
    }
    return model.forward(input, [batch, ...s.arch!.input]);
  }

  dispose(): void {
    for (const m of this.models) m?.dispose();
  }
}
