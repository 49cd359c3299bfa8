// The layer pipeline: weights in native buffers, activations in arenas of two ping-pong buffers, one
// arena per forward pass in flight (lib/model/arena.ts: bounded, reused per (batch, size)). A forward
// pass is one native runPlan call of the layer list compiled once per arena (lib/model/plan.ts), on the
// CPU and on CUDA alike; `plan: false` runs the same records one call each.
import { AlexnetError } from '../errors.js';
import type { Binding, NativeTensor, Precision } from '../native.js';
import { native } from '../native.js';
import type { Architecture, Pair } from './layers.js';
import { checkWeights, inferShapes, parameterShapes, type LayerShape, shapeSize, ShapeError } from './shapes.js';
import { initParameter, Rng } from './random.js';
import { compilePlan, conv2dDims, int8Chain, PLAN_INPUT, type Int8Chain, type Int8LayerInfo, type Plan } from './plan.js';
import { ArenaPool, disposedError, type Arena } from './arena.js';
import type { WeightSet } from '../weights/types.js';
import { tensorValues } from '../weights/safetensors.js';

export interface LayerTiming {
  /** index into arch.layers */
  index: number;
  /** native compute time of the layer's op, ns (0 for layers that are free: flatten, dropout) */
  ns: number;
}

export interface ForwardOptions {
  /**
   * called after every layer with its native time (profiling); the final softmax of `probabilities`
   * is not a layer of arch.layers and is not reported
   */
  onLayer?: (timing: LayerTiming) => void;
  /**
   * false: the same compiled records, one runPlan call each (a debugging aid: a JS round trip between
   * ops, where one can look at the activations). Results are identical.
   */
  plan?: boolean;
  /**
   * true: class probabilities [N, classes]; a network that outputs logits ends its plan with a native
   * softmax record (no JavaScript softmax of the result)
   */
  probabilities?: boolean;
}

/** How the CPU keeps a model's weights */
export interface PackOptions {
  /**
   * Transform the convolutions' weights into the Winograd domain at load where Winograd applies (default true;
   * AlexNet: all five, conv1 through its space-to-depth rewrite): they then run 2-4x faster, for about 56 MB
   * more memory (seed) and about 0.1 s more load time. Without
   * them those convs run on the GEMM path; `classify` of a few images skips them (see lib/commands/classify.ts).
   */
  winograd?: boolean;
  /**
   * Arithmetic of the conv and linear layers (CPU; default 'fp32'): 'bf16' or 'int8' hold their weights only
   * in that precision (native/kernels/cpu/lowp*.cc). int8 activations are quantized per tensor: with the
   * calibrated scales of a quantized file (static), else from each batch's min and max (dynamic).
   */
  precision?: Precision;
  /**
   * bf16 / int8 convolutions too (default: only where the kernel set in use at load has the dot-product
   * instruction: vpdpbusd for int8, vdpbf16ps for bf16; elsewhere the convs keep fp32 weights and Winograd,
   * which beat the AVX2 int8 and bf16 convs 2-4x at batch 1 on AMD EPYC Zen 5 (docs/performance.md), and the
   * linear layers alone run in bf16 / int8). true or false decides for every CPU (tests).
   */
  lowpConvs?: boolean;
}

/** whether a model of `precision` loaded now runs its convs in it (PackOptions.lowpConvs) */
export function lowpConvsByDefault(binding: Binding, precision: Precision): boolean {
  if (precision === 'fp32' || !binding.cpuFeatures) return false;
  const kernels = binding.cpuFeatures().lowpKernels;
  return precision === 'int8' ? kernels.int8.includes('vpdpbusd') : kernels.bf16.includes('vdpbf16ps');
}

/** What a conv or linear layer runs: its precision and, for the profile, its kernel */
export interface LayerPrecision {
  precision: Precision;
  /** int8: 'static' (calibrated scales from the file) or 'dynamic' (per batch) */
  activations?: 'static' | 'dynamic';
}

export interface ModelCreateOptions extends PackOptions {
  /**
   * How many forward passes may run at once, each in its own activation arena (default 2: one computing
   * while the next one's input is written; the kernels already use every thread). Further calls wait
   * their turn, so activation memory stays at most `concurrency` arenas (docs/safety.md).
   */
  concurrency?: number;
  /**
   * int8 with static scales: keep the activations as u8 between int8 layers (default true): a conv writes
   * its output already quantized for the next int8 layer and the max pools between run on u8, as ONNX
   * Runtime runs a QDQ graph. The outputs are the same either way (lib/model/plan.ts int8Chain); false
   * writes fp32 between every layer (tests and benchmarks compare the two).
   */
  int8Chain?: boolean;
}

/** default ModelCreateOptions.concurrency */
export const DEFAULT_CONCURRENCY = 2;

function countNonFinite(values: Float32Array): { count: number; first: number } {
  let count = 0;
  let first = -1;
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      if (count++ === 0) first = i;
    }
  }
  return { count, first };
}

export class Model {
  readonly arch: Architecture;
  readonly device: string;
  /** the source of the weights: a file path or random:SEED */
  readonly weightsSource: string;
  private readonly binding: Binding;
  /** arithmetic of the conv and linear layers (PackOptions.precision) */
  readonly precision: Precision;
  private readonly params: Map<string, NativeTensor>;
  private readonly arenas: ArenaPool;
  /** layer shapes per input size `${height}x${width}` */
  private readonly shapesBySize = new Map<string, LayerShape[]>();
  private disposed = false;
  /** int8 activations kept as u8 between int8 layers with static scales (ModelCreateOptions.int8Chain) */
  private readonly int8Chain: boolean;
  private readonly int8Infos = new Map<string, Int8LayerInfo | undefined>();

  private constructor(arch: Architecture, params: Map<string, NativeTensor>, device: string, weightsSource: string, binding: Binding,
    options: ModelCreateOptions) {
    this.arch = arch;
    this.precision = options.precision ?? 'fp32';
    this.int8Chain = options.int8Chain ?? true;
    this.params = params;
    this.device = device;
    this.weightsSource = weightsSource;
    this.binding = binding;
    this.arenas = new ArenaPool((length) => binding.alloc(device, length), options.concurrency ?? DEFAULT_CONCURRENCY);
  }

  /** Checks every tensor of `set` against the architecture and loads it into native memory */
  static async fromWeights(arch: Architecture, set: WeightSet, device = 'cpu', options: ModelCreateOptions = {}): Promise<Model> {
    const binding = native(device);
    checkWeights(arch, set);
    const expected = parameterShapes(arch);
    const params = new Map<string, NativeTensor>();
    const precision = Model.checkPrecision(binding, device, options.precision);
    const prepacked = new Set<string>();
    for (const [name, shape] of expected) {
      const t = set.tensors.get(name)!;
      const count = shapeSize(shape);
      if (t.int8) {
        // a quantized file: int8 runs its q and calibrated scales as they are; other precisions (and convs kept
        // in fp32: PackOptions.lowpConvs) start from q * scale
        const isConv = shape.length === 4;
        if (precision === 'int8' && (!isConv || (options.lowpConvs ?? lowpConvsByDefault(binding, 'int8')))) {
          // read from the file by the addon a few panels at a time: the packed weights are the only whole copy
          const packed = binding.packQuantized!(Model.weightDims(arch, name), t.int8.file, t.int8.scales);
          binding.setLinearActivationQuant!(packed, t.int8.inputScale, t.int8.inputZeroPoint);
          params.set(name, packed);
          prepacked.add(name);
        } else {
          const buf = binding.alloc(device, count);
          buf.write(tensorValues(t));
          params.set(name, buf);
        }
        continue;
      }
      const nonFinite = (detail: string) =>
        new AlexnetError(`${set.path}: expected finite weights but tensor ${name} [${shape.join(',')}] holds ${detail} (NaN or Inf would make every prediction NaN)`, 'ERR_WEIGHTS');
      if (t.file) {
        try {
          params.set(name, await binding.fromFile(device, t.file.path, t.file.byteOffset, count));
        } catch (e) {
          // the native read counts them as the values pass by (native/napi/from-file.cc)
          if ((e as NodeJS.ErrnoException).code === 'ERR_NONFINITE') throw nonFinite((e as Error).message.replace(/^non-finite weights: /, ''));
          throw e;
        }
      } else {
        const bad = countNonFinite(t.data!);
        if (bad.count > 0) throw nonFinite(`${bad.count} NaN or Inf value${bad.count > 1 ? 's' : ''}, the first at element ${bad.first}`);
        const buf = binding.alloc(device, count);
        buf.write(t.data!);
        params.set(name, buf);
      }
    }
    return new Model(arch, await Model.packWeights(arch, params, binding, { ...options, precision }, prepacked), device, set.path,
      binding, { ...options, precision });
  }

  /** the precision asked for, where the binding has it (bf16 and int8 run on the CPU only) */
  private static checkPrecision(binding: Binding, device: string, precision: Precision = 'fp32'): Precision {
    if (precision !== 'fp32' && !(binding.packQuantized && binding.packConv && binding.packLinear)) {
      throw new AlexnetError(`Expected precision fp32 on device ${device} (bf16 and int8 run on the CPU) but received ${precision}`, 'ERR_DEVICE');
    }
    return precision;
  }

  /** packQuantized dims of a conv or linear weight: conv2d's 16 dims (channels, kernel, stride, groups matter) or [out, in] */
  private static weightDims(arch: Architecture, name: string): Int32Array {
    const layer = inferShapes(arch).find((l) => `${l.spec.name}.weight` === name)!;
    return layer.spec.type === 'conv2d' ? Model.convWeightDims(layer) : Int32Array.of(layer.outShape[0], layer.inShape[0]);
  }

  /** an int8 layer's static activation quantization for the plan's int8 chain (undefined: not int8) */
  private int8Info(layerName: string): Int8LayerInfo | undefined {
    if (this.int8Infos.has(layerName)) return this.int8Infos.get(layerName);
    const weight = this.params.get(`${layerName}.weight`);
    const info = weight && this.device === 'cpu' ? this.binding.linearWeightInfo?.(weight) : undefined;
    const result = info?.precision === 'int8' ? { scale: info.activationScale ?? 0, zeroPoint: info.activationZeroPoint ?? 0 } : undefined;
    this.int8Infos.set(layerName, result);
    return result;
  }

  /**
   * The int8 chain the plan runs for inputs of this size (lib/model/plan.ts int8Chain: which convs write u8
   * for which layer); empty without int8 layers of static scales, on CUDA, or with int8Chain: false
   */
  int8ChainFor(height: number, width: number): Int8Chain {
    if (!this.int8Chain) return { producers: new Map(), consumers: new Set(), pools: new Map() };
    return int8Chain(this.shapesFor(height, width), (name) => this.int8Info(name));
  }

  /** the precision of a conv or linear layer's weights as loaded (undefined for other layers) */
  layerPrecision(layerName: string): LayerPrecision | undefined {
    const weight = this.params.get(`${layerName}.weight`);
    if (!weight) return undefined;
    const info = this.binding.linearWeightInfo?.(weight);
    if (!info) return { precision: 'fp32' };
    if (info.precision !== 'int8') return { precision: info.precision };
    return { precision: 'int8', activations: info.activationScale! > 0 ? 'static' : 'dynamic' };
  }

  /**
   * Linear weights packed once into the kernels' streaming layout, where the binding can (in place:
   * the unpacked copy is gone, so memory stays at the weights' size)
   */
  private static async packWeights(arch: Architecture, params: Map<string, NativeTensor>, binding: Binding,
    options: PackOptions, prepacked: Set<string> = new Set()): Promise<Map<string, NativeTensor>> {
    if (!binding.packLinear) return params;
    const precision = options.precision ?? 'fp32';
    const convPrecision = options.lowpConvs ?? lowpConvsByDefault(binding, precision) ? precision : 'fp32';
    for (const layer of inferShapes(arch)) {
      const name = `${layer.spec.name}.weight`;
      if (prepacked.has(name)) continue;
      if (layer.spec.type === 'conv2d' && binding.packConv) {
        params.set(name, binding.packConv(Model.convWeightDims(layer), params.get(name)!,
          (options.winograd ?? true) && convPrecision !== 'int8', convPrecision));
      }
      if (layer.spec.type !== 'linear') continue;
      // on a worker thread: the event loop keeps running while fc6 (150 MB) is packed
      params.set(name, await binding.packLinear(Int32Array.of(layer.spec.outFeatures, layer.inShape[0]), params.get(name)!, precision));
    }
    return params;
  }

  /** conv2d dims for packConv/unpackConv (only channels, kernel, stride and groups matter to them) */
  private static convWeightDims(layer: LayerShape): Int32Array {
    return Int32Array.from(conv2dDims(layer, 1));
  }

  /** Deterministic He-initialised weights */
  static async random(arch: Architecture, seed: number, device = 'cpu', options: ModelCreateOptions = {}): Promise<Model> {
    const binding = native(device);
    const rng = new Rng(seed);
    const params = new Map<string, NativeTensor>();
    for (const layer of inferShapes(arch)) {
      for (const [name, shape] of layer.params) {
        const weightShape = layer.params.get(`${layer.spec.name}.weight`)!;
        const fanIn = shapeSize(weightShape.slice(1));
        const data = initParameter(rng, shape, fanIn, name.endsWith('.bias'));
        const buf = binding.alloc(device, data.length);
        buf.write(data);
        params.set(name, buf);
      }
    }
    const precision = Model.checkPrecision(binding, device, options.precision);
    return new Model(arch, await Model.packWeights(arch, params, binding, options), device, `random:${seed}`, binding, { ...options, precision });
  }

  /** Parameter values copied out of native memory (for export and tests) */
  parameters(): Map<string, { shape: number[]; data: Float32Array }> {
    const out = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const layer of inferShapes(this.arch)) {
      for (const [name, shape] of layer.params) {
        const t = this.params.get(name)!;
        if (layer.spec.type === 'conv2d' && name.endsWith('.weight') && this.binding.unpackConv) {
          const plain = this.binding.unpackConv(Model.convWeightDims(layer), t);
          out.set(name, { shape, data: plain.read() });
          plain.dispose();
        } else if (layer.spec.type === 'linear' && name.endsWith('.weight') && this.binding.unpackLinear) {
          const plain = this.binding.unpackLinear(Int32Array.of(shape[0], shape[1]), t);
          out.set(name, { shape, data: plain.read() });
          plain.dispose();
        } else {
          out.set(name, { shape, data: t.read() });
        }
      }
    }
    return out;
  }

  /** Bytes of the parameters as the architecture defines them (packed conv weights hold a few padding rows more) */
  get parameterBytes(): number {
    let n = 0;
    for (const layer of inferShapes(this.arch)) for (const shape of layer.params.values()) n += shapeSize(shape) * 4;
    return n;
  }

  /**
   * Bytes the weights take in native memory as packed: parameterBytes plus the Winograd-domain conv weights
   * (PackOptions.winograd) and panel padding
   */
  get weightBytes(): number {
    let n = 0;
    for (const t of this.params.values()) n += t.length * 4;
    return n;
  }

  /**
   * Bytes of the activation arenas held now: one per forward pass in flight, and the idle ones kept for the
   * next passes of their (batch, size), at most ModelCreateOptions.concurrency in all (0 before the first forward)
   */
  get arenaBytes(): number {
    return this.arenas.bytes;
  }

  /** the layer shapes for an input of height x width (ERR_SHAPE when the network cannot take it) */
  private shapesFor(height: number, width: number): LayerShape[] {
    const key = `${height}x${width}`;
    let shapes = this.shapesBySize.get(key);
    if (!shapes) {
      try {
        shapes = inferShapes(this.arch, [height, width]);
      } catch (e) {
        if (e instanceof ShapeError) throw new AlexnetError(`${e.message} (input ${height}x${width}; ${this.arch.name} expects ${this.arch.input[1]}x${this.arch.input[2]})`, 'ERR_SHAPE');
        throw e;
      }
      this.shapesBySize.set(key, shapes);
    }
    return shapes;
  }

  /**
   * Run the network on a [N, C, H, W] float32 tensor; returns the [N, classes] output (what arch.output
   * says, or probabilities with `options.probabilities`). `input` is host data (copied into the pass's
   * input buffer) or a NativeTensor on the model's device, used as the plan's input as it is (no copy; its
   * first N*C*H*W elements are read, so it may be longer; it must not change until the Promise settles).
   *
   * Calls may overlap: each pass runs in its own arena and gives what it would give alone; at most
   * ModelCreateOptions.concurrency run at once, the others wait in order. After dispose(), passes already running
   * finish and the waiting ones reject with ERR_DISPOSED.
   */
  async forward(input: Float32Array | NativeTensor, shape: number[], options: ForwardOptions = {}): Promise<Float32Array> {
    if (shape.length !== 4 || shape[1] !== this.arch.input[0]) {
      throw new AlexnetError(`Expected an input of shape [N,${this.arch.input[0]},H,W] for ${this.arch.name} but received [${shape.join(',')}]`, 'ERR_SHAPE');
    }
    const hostInput = input instanceof Float32Array;
    if (hostInput && input.length !== shapeSize(shape)) {
      throw new AlexnetError(`Expected ${shapeSize(shape)} values for an input of shape [${shape.join(',')}] but received ${input.length}`, 'ERR_SHAPE');
    }
    if (!hostInput) this.checkInputTensor(input, shape);
    if (this.disposed) throw disposedError();
    const [batch, , height, width] = shape;
    const shapes = this.shapesFor(height, width);
    const arena = await this.arenas.acquire(`${batch}x${height}x${width}`, batch, shapes);
    try {
      let inputTensor: NativeTensor;
      if (hostInput) {
        arena.input ??= this.binding.alloc(this.device, shapeSize(shape));
        arena.input.write(input);
        inputTensor = arena.input;
      } else {
        inputTensor = input;
      }
      return await this.run(arena, inputTensor, options);
    } finally {
      this.arenas.release(arena);
    }
  }

  private async run(arena: Arena, input: NativeTensor, options: ForwardOptions): Promise<Float32Array> {
    const softmax = (options.probabilities ?? false) && this.arch.output === 'logits';
    const variant = softmax ? 'probabilities' : 'raw';
    let plan = arena.plans.get(variant);
    if (!plan) {
      plan = compilePlan(arena.shapes, arena.batch, this.params, arena.buffers,
        { softmax, int8: this.int8Chain ? (name) => this.int8Info(name) : undefined });
      arena.plans.set(variant, plan);
    }
    const tensors = plan.tensors.slice() as NativeTensor[];
    tensors[PLAN_INPUT] = input;
    const runPlan = this.binding.runPlan.bind(this.binding);
    const ops = plan.opLayers.length;
    const times = new Float64Array(ops);
    if (options.plan === false) {
      for (let op = 0; op < ops; op++) {
        times[op] = await runPlan(plan.program.subarray(plan.opStarts[op], plan.opStarts[op + 1]), plan.scalars, tensors, null);
      }
    } else {
      // times only when profiling: otherwise the pass reads no per-op clock
      await runPlan(plan.program, plan.scalars, tensors, options.onLayer ? times : null);
    }
    if (options.onLayer) {
      let op = 0;
      for (let i = 0; i < arena.shapes.length; i++) {
        const ns = plan.opLayers[op] === i ? times[op++] : 0;
        options.onLayer({ index: i, ns });
      }
    }
    return tensors[plan.output].read(0, arena.batch * this.arch.numClasses);
  }
  /** a NativeTensor input: on this model's device, alive, holding the values of `shape` */
  private checkInputTensor(input: NativeTensor, shape: number[]): void {
    const device = this.device === 'cuda' ? 'cuda:0' : this.device;
    if (input.device !== device) {
      throw new AlexnetError(`Expected a NativeTensor on '${device}' for input but received one on '${input.device}'`, 'ERR_DEVICE');
    }
    if (input.length < shapeSize(shape)) {
      throw new AlexnetError(`Expected a NativeTensor of at least ${shapeSize(shape)} elements for an input of shape [${shape.join(',')}] but received NativeTensor(${input.length})`, 'ERR_SHAPE');
    }
  }

  /**
   * Free native memory (otherwise the GC does it): the weights and arenas at once when no forward pass is
   * running, else when the running passes finish (they complete normally); waiting and later calls reject
   * with ERR_DISPOSED
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.arenas.close(() => {
      for (const t of this.params.values()) t.dispose();
      this.params.clear();
    });
  }
}
