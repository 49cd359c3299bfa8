// Post-training static quantization: calibrate each conv2d / linear layer's input range on images run
// through the fp32 network, quantize the weights per output channel, and measure what every layer loses.
//
// The int8 side of the error table is computed by fake quantization: the int8 weights dequantized
// (q * scale) and each quantized layer's input rounded through u8 with its calibrated scale and zero point,
// run by the fp32 kernels. That is the arithmetic of the int8 runtime up to the order of fp32 roundings
// (int32 sums are exact there; here the same products are summed in fp32).
import type { StagedFile } from '../atomic-write.js';
import { AlexnetError } from '../errors.js';
import type { Architecture, Preprocess } from '../model/layers.js';
import { inferShapes } from '../model/shapes.js';
import { type CalibrationMethod, RangeObserver } from './calibrate.js';
import {
  type ActivationQuant, countClipped, dequantizeWeights, ErrorMeter, fakeQuantizeActivations, type Int8Weights, isUsableActivationScale,
  isUsableWeightScale, quantizeWeights,
} from './quant.js';
import { type Segment, SegmentRunner, splitSegments } from './segments.js';
import { checkInt8Set, stageInt8Model } from './file.js';
import { native as nativeBinding } from '../native.js';
import { readWeights } from '../weights/index.js';
import type { WeightSet } from '../weights/types.js';

/**
 * The int8 file's layers on the native int8 runtime (packQuantized, static activation scales), or undefined
 * where this build has none (the simulation then measures)
 */
async function nativeInt8Runner(segments: Segment[], set: WeightSet): Promise<SegmentRunner | undefined> {
  if (!(nativeBinding() as { packQuantized?: unknown }).packQuantized) return undefined;
  return SegmentRunner.fromSet(segments, set, { precision: 'int8' });
}

export interface QuantizedLayer {
  name: string;
  type: 'conv2d' | 'linear';
  weightShape: number[];
  weight: Int8Weights;
  bias?: Float32Array;
  input: ActivationQuant;
  /** the calibration images' input range, as observed */
  observed: { min: number; max: number };
  /** fraction of the calibration inputs outside the chosen range */
  clipped: number;
  /** the calibration images gave this layer's input one value only: its range is not calibrated (a warning says so) */
  constantInput: boolean;
  /** int8 weights (q * scale) vs fp32, dB */
  weightSqnrDb: number;
  /** the layer's output with only this layer in int8 (its fp32 input quantized), vs fp32, dB */
  layerSqnrDb: number;
  /** the layer's output with every layer up to it in int8, vs the fp32 network's, dB */
  networkSqnrDb: number;
  /** the same as relative L2 error */
  networkRelativeL2: number;
}

/**
 * The bias on the int32 accumulator's grid (multiples of input scale x weight scale, what a QDQ runtime
 * stores as int32): at most half a unit of the sums moves, and the fp32 runtime, the fake quantization and
 * onnxruntime's fused int8 conv then add the same bias
 */
export function snapBias(bias: Float32Array, inputScale: number, weightScales: Float32Array): Float32Array {
  return Float32Array.from(bias, (b, o) => {
    const unit = Math.fround(inputScale * weightScales[o]);
    return Math.fround(Math.round(b / unit) * unit);
  });
}

/**
 * The warning for a layer whose input was one value on every calibration image: the images do not vary there,
 * so no range was measured. PyTorch's observers (the scale clamped to float32 eps) and onnxruntime's calibrators
 * (quant_utils.compute_scale_zp: a scale below float32 tiny becomes 1, zero point 0) fall back silently. We keep
 * onnxruntime's fallback rather than refuse: the file stays valid (0 is exact), and a layer that is dead on real
 * images too (all zeros after a ReLU) must not block quantizing the rest. But we say so, because nothing was
 * calibrated there and the error table and top-1 agreement, measured on these same images, cannot show it.
 */
function constantInputWarning(source: string, name: string, value: number, q: ActivationQuant): string {
  const range = value === 0 ? `scale ${q.scale} and zero point ${q.zeroPoint} are a placeholder` : `the range 0 .. ${value} holds that one value only`;
  return `${source}: ${name}'s input is ${value} everywhere on every calibration image (the images do not vary there), so its activation range is not calibrated (${range}) and images unlike these will be quantized badly there; calibrate on images like those the model will classify`;
}

export interface QuantizeResult {
  arch: Architecture;
  preprocess: Preprocess;
  method: CalibrationMethod;
  images: number;
  layers: QuantizedLayer[];
  /** top-1 of the int8 network equal to fp32's, over the calibration images */
  top1Agreement: number;
  /** what ran the int8 side of the measurements: the native int8 runtime, or fake quantization on fp32 kernels */
  runtime: 'native' | 'simulated';
  /** layers whose range the calibration images could not measure (one line each; top1Agreement says little then) */
  warnings: string[];
}

export interface QuantizeOptions {
  method: CalibrationMethod;
  /** images per forward pass (default 16) */
  batch?: number;
  /**
   * write the int8 model here (lib/quantize/file.ts): first beside it under a temporary name (lib/atomic-write.ts
   * stageFile), checked as every reader checks it (checkInt8Set) and measured by the native runtime, then renamed
   * into place (through a symbolic link, keeping the file's permissions). On any failure `out` is left as it was
   * (absent, or the file it would have replaced) and errors name `out`, never the temporary file. A caller that
   * can be killed by a signal mid-run calls discardStagedFiles() from its handler (lib/commands/quantize.ts).
   */
  out?: string;
  /** more of alexnet.calibration: `source` (the images' path) also names them in errors and warnings */
  calibration?: Record<string, unknown>;
  /** called after every pass over the images: 'range' | 'histogram' | 'error' */
  onPass?: (pass: string, done: number, total: number) => void;
}

/** Calibration images as [3, H, W] tensors of the model's input size, already preprocessed */
export type CalibrationImages = Float32Array[];

function batches(images: CalibrationImages, batch: number): Array<{ data: Float32Array; n: number }> {
  const out: Array<{ data: Float32Array; n: number }> = [];
  for (let i = 0; i < images.length; i += batch) {
    const part = images.slice(i, i + batch);
    const data = new Float32Array(part.reduce((a, b) => a + b.length, 0));
    let offset = 0;
    for (const p of part) { data.set(p, offset); offset += p.length; }
    out.push({ data, n: part.length });
  }
  return out;
}

function argmaxRows(values: Float32Array, rows: number): number[] {
  const cols = values.length / rows;
  return Array.from({ length: rows }, (_, r) => {
    let best = 0;
    for (let c = 1; c < cols; c++) if (values[r * cols + c] > values[r * cols + best]) best = c;
    return best;
  });
}

/**
 * `params`: the fp32 tensors under canonical names (conv1.weight, ...). Returns the quantized layers, in
 * network order, with their error measurements.
 */
export async function quantizeNetwork(arch: Architecture, preprocess: Preprocess, params: Map<string, Float32Array>,
  images: CalibrationImages, options: QuantizeOptions): Promise<QuantizeResult> {
  const batch = options.batch ?? 16;
  const segments = splitSegments(arch);
  const quantized = segments.filter((s): s is Segment & { quantized: NonNullable<Segment['quantized']> } => s.quantized !== undefined);
  const fp32 = await SegmentRunner.build(segments, (name) => ({ weight: params.get(`${name}.weight`)!, bias: params.get(`${name}.bias`) }));
  const shapes = new Map(inferShapes(arch).map((l) => [l.spec.name, l]));
  const work = batches(images, batch);
  let unchecked: StagedFile | undefined;
  try {
    // passes 1 and 2: each quantized layer's fp32 input, its range, then (for mse and percentile) its histogram
    const observers = new Map(quantized.map((s) => [s.quantized.name, new RangeObserver()]));
    const passes = options.method === 'minmax' ? ['range'] : ['range', 'histogram'];
    for (const pass of passes) {
      let done = 0;
      for (const { data, n } of work) {
        let x: Float32Array = data;
        for (let i = 0; i < segments.length; i++) {
          const q = segments[i].quantized;
          if (q) {
            const observer = observers.get(q.name)!;
            if (pass === 'range') observer.observeRange(x);
            else observer.observeHistogram(x);
          }
          x = await fp32.run(i, x, n);
        }
        options.onPass?.(pass, done += n, images.length);
      }
    }
    // the weights, and each layer's input quantization: a scale the runtime cannot run is an error naming the
    // layer and the images, before any file is written
    const source = String(options.calibration?.source ?? 'the calibration images');
    const warnings: string[] = [];
    const layers: QuantizedLayer[] = quantized.map((s) => {
      const name = s.quantized.name;
      const weight = params.get(`${name}.weight`)!;
      const weightShape = shapes.get(name)!.params.get(`${name}.weight`)!;
      const w = quantizeWeights(weight, weightShape[0]);
      const badWeightScale = w.scales.findIndex((v) => !isUsableWeightScale(v));
      if (badWeightScale >= 0) {
        throw new AlexnetError(`Expected ${name}.weight values whose 127 steps stay finite in fp32 but output channel ${badWeightScale} gets weight scale ${w.scales[badWeightScale]}`, 'ERR_WEIGHTS');
      }
      const meter = new ErrorMeter();
      meter.add(weight, dequantizeWeights(w));
      const observer = observers.get(name)!;
      if (observer.nonFinite > 0) {
        throw new AlexnetError(`${source}: expected finite values at ${name}'s input but ${observer.nonFinite} of ${observer.count} are NaN or Inf (the fp32 network overflows on these calibration inputs)`);
      }
      const input = observer.choose(options.method);
      if (!isUsableActivationScale(input.scale)) {
        throw new AlexnetError(`${source}: expected calibration inputs that give ${name} an activation scale finite in fp32 (and > 0, its reciprocal finite) but its input ranges over ${observer.min} .. ${observer.max}, scale ${input.scale}`);
      }
      const constantInput = observer.min === observer.max;
      if (constantInput) warnings.push(constantInputWarning(source, name, observer.min, input));
      const bias = params.get(`${name}.bias`);
      return {
        name, type: s.quantized.type, weightShape, weight: w, bias: bias && snapBias(bias, input.scale, w.scales), input, observed: { min: observer.min, max: observer.max }, clipped: 0, constantInput,
        weightSqnrDb: meter.sqnrDb, layerSqnrDb: 0, networkSqnrDb: 0, networkRelativeL2: 0,
      };
    });
    const byName = new Map(layers.map((l) => [l.name, l]));
    // the file under a temporary name beside --out (the same file system: the rename is atomic), checked as
    // convert and bench check it (the loader's reader and checks, plus the int8 ones), measured, renamed last
    let set: WeightSet | undefined;
    if (options.out !== undefined) {
      unchecked = stageInt8Model(options.out, { arch, preprocess, layers, calibration: { method: options.method, images: images.length, ...options.calibration } });
      try {
        set = await readWeights(unchecked.tmp);
        checkInt8Set(set);
      } catch (e) {
        if (!(e instanceof AlexnetError)) throw e;
        throw new AlexnetError(`${options.out}: not written: the int8 file made from these weights and images fails the int8 file check: ${e.message.replace(`${unchecked.tmp}: `, '')}`, e.code);
      }
    }
    // pass 3: fp32 vs int8, layer by layer (alone) and along the network: the native int8 runtime on the
    // file just written where this build has it (it quantizes its inputs itself), else fake quantization
    const native = set ? await nativeInt8Runner(segments, set) : undefined;
    const runtime = native ? 'native' : 'simulated';
    const fake = native ?? await SegmentRunner.build(segments, (name) => {
      const l = byName.get(name)!;
      return { weight: dequantizeWeights(l.weight), bias: l.bias };
    }, { quantizedOnly: true });
    const quantizeInput = (layer: QuantizedLayer, x: Float32Array) => { if (!native) fakeQuantizeActivations(x, layer.input); };
    try {
      const layerMeters = new Map(layers.map((l) => [l.name, new ErrorMeter()]));
      const networkMeters = new Map(layers.map((l) => [l.name, new ErrorMeter()]));
      const clipped = new Map(layers.map((l) => [l.name, 0]));
      let agree = 0;
      let done = 0;
      for (const { data, n } of work) {
        let exact: Float32Array = data;
        let int8: Float32Array = data.slice();
        for (let i = 0; i < segments.length; i++) {
          const q = segments[i].quantized;
          if (!q) {
            exact = await fp32.run(i, exact, n);
            int8 = await fp32.run(i, int8, n);
            continue;
          }
          const l = byName.get(q.name)!;
          clipped.set(q.name, clipped.get(q.name)! + countClipped(exact, l.input));
          const alone = exact.slice();
          quantizeInput(l, alone);
          quantizeInput(l, int8);
          const exactOut = await fp32.run(i, exact, n);
          layerMeters.get(q.name)!.add(exactOut, await fake.run(i, alone, n));
          int8 = await fake.run(i, int8, n);
          networkMeters.get(q.name)!.add(exactOut, int8);
          exact = exactOut;
        }
        const a = argmaxRows(exact, n);
        const b = argmaxRows(int8, n);
        for (let r = 0; r < n; r++) if (a[r] === b[r]) agree++;
        options.onPass?.('error', done += n, images.length);
      }
      for (const l of layers) {
        const inputs = images.length * shapes.get(l.name)!.inShape.reduce((a, b) => a * b, 1);
        l.clipped = clipped.get(l.name)! / inputs;
        l.layerSqnrDb = layerMeters.get(l.name)!.sqnrDb;
        l.networkSqnrDb = networkMeters.get(l.name)!.sqnrDb;
        l.networkRelativeL2 = networkMeters.get(l.name)!.relativeL2;
      }
      unchecked?.commit();
      return { arch, preprocess, method: options.method, images: images.length, layers, top1Agreement: agree / images.length, runtime, warnings };
    } finally {
      fake.dispose();
    }
  } catch (e) {
    // the temporary name means nothing to the user: the file is --out, not yet in place
    if (unchecked && e instanceof Error && e.message.includes(unchecked.tmp)) e.message = e.message.replaceAll(unchecked.tmp, unchecked.path);
    throw e;
  } finally {
    fp32.dispose();
    // whatever failed, --out is as it was (after the commit there is nothing left to remove)
    unchecked?.discard();
  }
}
