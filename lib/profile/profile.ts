// Per-layer profiling: native compute time of every primitive (Model.forward's onLayer), end-to-end
// time per forward() measured around the call, the machine's fp32 peak, and memory.
//
// The per-layer numbers are the addon's own steady-clock readings around each kernel, so they carry
// no JS timer or event-loop noise; the difference between their sum and the end-to-end time is what
// runs outside the kernels (JS dispatch, AsyncWorker queueing, the input copy, reading the output).
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { usageError } from '../errors.js';
import type { Binding } from '../native.js';
import type { Architecture } from '../model/layers.js';
import type { ForwardOptions, LayerPrecision } from '../model/model.js';
import type { Int8Chain } from '../model/plan.js';
import { Rng } from '../model/random.js';
import { inferShapes, shapeSize } from '../model/shapes.js';
import { layerSummary, type LayerSummary } from '../model/summary.js';
import { layerAlgorithm } from './algorithm.js';

/** What profileModel needs of a Model (a real one, or a stand-in in tests) */
export interface ProfiledModel {
  readonly arch: Architecture;
  readonly device: string;
  readonly weightsSource: string;
  readonly parameterBytes: number;
  /** the weights as packed in native memory (Winograd-domain conv weights included); parameterBytes if absent */
  readonly weightBytes?: number;
  readonly arenaBytes: number;
  forward(input: Float32Array, shape: number[], options?: ForwardOptions): Promise<Float32Array>;
  /** a conv or linear layer's precision (Model.layerPrecision); fp32 if absent */
  layerPrecision?(layerName: string): LayerPrecision | undefined;
  /** the int8 chain at this input size (Model.int8ChainFor): which layers write u8; none if absent */
  int8ChainFor?(height: number, width: number): Int8Chain;
}

export interface PeakMeasurement {
  /** fp32 GFLOP/s */
  gflops: number;
  /** 'binding': the addon's peakGflops(threads); 'linear': timed here with one large linear() */
  method: 'binding' | 'linear';
  /** how the number was obtained, for people */
  description: string;
  /**
   * every measurement of this run, GFLOP/s (gflops is the largest): how much the peak varies here and now.
   * Other processes only ever slow a run down, so the best is the estimate (docs/profile.md has the spread
   * over many runs)
   */
  samples: number[];
}

export interface LayerProfile extends LayerSummary {
  index: number;
  /** multiply-accumulates for the whole batch, counted as the direct convolution / matrix product */
  macs: number;
  /** the algorithm the kernels run: 'GEMM', 'Winograd F(4,3)', 'Winograd F(4,3) s2d' (space-to-depth), ... (algorithm.ts) */
  algorithm: string;
  /** multiply-accumulates that algorithm does for the whole batch (fewer than macs for Winograd) */
  algorithmMacs: number;
  /** native compute time over the iterations, ns */
  medianNs: number;
  p90Ns: number;
  /** medianNs / the sum of all layers' medianNs */
  share: number;
  /**
   * 2 * macs / medianNs: the rate a direct convolution would need to match this time ("effective"; can
   * exceed the peak where the algorithm does fewer flops); null for layers without MACs (pooling, LRN, ...)
   * or with no measurable time
   */
  effectiveGflops: number | null;
  /** 2 * algorithmMacs / medianNs: the flops the kernels really execute, per second */
  algorithmGflops: number | null;
  /** algorithmGflops as a percentage of the measured peak */
  algorithmPeakPercent: number | null;
  /** bytes of activations the layer writes for the whole batch (0 for flatten/dropout, which move nothing) */
  activationBytes: number;
  /** conv and linear layers: 'fp32', 'bf16', 'int8 static' or 'int8 dynamic' (activation scales); null for others */
  precision?: string | null;
  /** conv and linear layers in bf16 / int8 on the CPU: the kernel the kernel set in use runs ("avx512-vnni vpdpbusd") */
  kernel?: string | null;
}

export interface IterationProfile {
  /** start of forward(), ns after the first measured iteration started */
  startNs: number;
  /** end-to-end time of forward(), ns (process.hrtime.bigint around the call) */
  wallNs: number;
  /** native time of every layer in this iteration, ns, in layer order */
  layerNs: number[];
}

export interface ProfileTotals {
  params: number;
  macs: number;
  /** sum of the layers' medianNs */
  layerSumNs: number;
  endToEndMedianNs: number;
  endToEndP90Ns: number;
  /** endToEndMedianNs - layerSumNs: time spent outside the kernels */
  differenceNs: number;
  /** differenceNs as a percentage of endToEndMedianNs */
  differencePercent: number;
  /** median over iterations of (wall time - that iteration's layer sum): never negative, unlike differenceNs,
   * which compares medians taken separately */
  outsideKernelsNs: number;
  algorithmMacs: number;
  /** 2 * macs / layerSumNs (direct count: "effective") */
  effectiveGflops: number;
  /** 2 * algorithmMacs / layerSumNs */
  algorithmGflops: number;
  /** algorithmGflops as a percentage of the peak */
  algorithmPeakPercent: number;
  activationBytes: number;
  /** batch / endToEndMedianNs */
  imagesPerSecond: number;
}

export interface ProfileMemory {
  /** parameters as the architecture defines them */
  weightsBytes: number;
  /** what the packed weights take in native memory besides them (Winograd-domain conv weights, padding) */
  packedExtraBytes: number;
  /** the two ping-pong activation buffers plus the input buffer */
  arenaBytes: number;
  /** process.resourceUsage().maxRSS, in bytes */
  peakRssBytes: number;
}

export interface ProfileReport {
  /** when the profile was taken (ISO 8601, UTC) */
  createdAt: string;
  /** alexnet-cli's version (package.json) */
  version: string;
  /** the CPU model as the OS names it (os.cpus()) */
  cpu: string;
  arch: string;
  weights: string;
  device: string;
  /** the CPU kernel set in use (avx512, avx2, portable), when known */
  isa: string | null;
  threads: number | null;
  batch: number;
  warmup: number;
  iters: number;
  /** [N, C, H, W] */
  inputShape: number[];
  peak: PeakMeasurement;
  layers: LayerProfile[];
  totals: ProfileTotals;
  memory: ProfileMemory;
  iterations: IterationProfile[];
}

export interface ProfileOptions {
  batch?: number;
  warmup?: number;
  iters?: number;
  /** the peak to compare against; default: measurePeak(native(), model.device) */
  peak?: PeakMeasurement;
  /** reported as-is (the command passes binding.getThreads()) */
  threads?: number | null;
  isa?: string | null;
  /** seed of the random input */
  seed?: number;
  /** the model's convs carry Winograd-domain weights (Model PackOptions.winograd; default true, as loadWeightsAndModel packs them) */
  winograd?: boolean;
}

/** alexnet-cli's version, from the package.json two folders above dist/lib/profile/ */
export function packageVersion(): string {
  try {
    return (createRequire(import.meta.url)('../../../package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Linear interpolation between closest ranks (numpy's default), q in [0, 1] */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

const median = (values: number[]): number => quantile(values, 0.5);

// A large GEMM runs near the machine's fp32 peak: 256 x 4096 x 4096 is 8.6 GFLOP, about 64 MB of
// weights, large enough to amortise packing and thread start-up, small enough to take well under a second.
// The best of a few runs, because other processes on the machine only ever make a run slower.
const PEAK_ROWS = 256;
const PEAK_FEATURES = 4096;
const PEAK_RUNS = 5;
// peakGflops() is itself the best of 5 runs of ~10 ms; on a shared 2-vCPU machine single calls read
// 56-98 GFLOP/s (docs/profile.md), three calls (~0.15 s) lift the low tail
const PEAK_CALLS = 3;

type PeakBinding = Binding & { peakGflops?: (threads: number) => number | Promise<number> };

/** The machine's fp32 peak: the addon's own peakGflops(threads) when it has one, else the best of a few large linear() calls */
export async function measurePeak(binding: Binding, device = 'cpu'): Promise<PeakMeasurement> {
  const threads = binding.getThreads();
  const withPeak = binding as PeakBinding;
  if (typeof withPeak.peakGflops === 'function') {
    const samples: number[] = [];
    for (let i = 0; i < PEAK_CALLS; i++) samples.push(await withPeak.peakGflops(threads));
    // native/kernels/cpu/linear.cc cpu_peak_gflops: each thread runs the kernel set's register-resident FMA loop
    return {
      gflops: Math.max(...samples), method: 'binding',
      description: `binding.peakGflops(${threads}): an FMA loop with register-resident accumulators on ${threads} thread${threads === 1 ? '' : 's'}, best of ${PEAK_CALLS} calls of 5 runs of ~10 ms`,
      samples,
    };
  }
  const rows = PEAK_ROWS;
  const features = PEAK_FEATURES;
  const input = binding.alloc(device, rows * features);
  const weight = binding.alloc(device, features * features);
  const output = binding.alloc(device, rows * features);
  try {
    input.write(new Float32Array(rows * features).fill(0.5));
    weight.write(new Float32Array(features * features).fill(0.001));
    const dims = Int32Array.of(rows, features, features);
    await binding.linear(dims, input, weight, null, output, false); // warm-up: page faults, packing buffers
    const samples: number[] = [];
    for (let i = 0; i < PEAK_RUNS; i++) samples.push((2 * rows * features * features) / await binding.linear(dims, input, weight, null, output, false));
    return {
      gflops: Math.max(...samples),
      method: 'linear',
      description: `linear() rows ${rows}, ${features}x${features} on ${threads} thread${threads === 1 ? '' : 's'}, best of ${PEAK_RUNS}`,
      samples,
    };
  } finally {
    input.dispose();
    weight.dispose();
    output.dispose();
  }
}

function checkCount(value: number, name: string, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw usageError(`Expected ${min === 0 ? 'a non-negative' : 'a positive'} integer for ${name} but received ${value}`);
  }
}

/** flatten and dropout are views of their input in the pipeline; every other layer writes its output */
const writesOutput = (type: string): boolean => type !== 'flatten' && type !== 'dropout';

/**
 * Run `warmup` + `iters` forward passes on a random batch and collect per-layer native times,
 * end-to-end times, the peak and memory.
 */
export async function profileModel(model: ProfiledModel, options: ProfileOptions = {}): Promise<ProfileReport> {
  const batch = options.batch ?? 1;
  const warmup = options.warmup ?? 2;
  const iters = options.iters ?? 10;
  checkCount(batch, 'batch', 1);
  checkCount(warmup, 'warmup', 0);
  checkCount(iters, 'iters', 1);
  const arch = model.arch;
  const shapes = inferShapes(arch);
  const inputShape = [batch, ...arch.input];
  const input = new Float32Array(shapeSize(inputShape));
  const rng = new Rng(options.seed ?? 0);
  for (let i = 0; i < input.length; i++) input[i] = rng.next();

  let peak = options.peak;
  if (!peak) {
    const { native } = await import('../native.js');
    peak = await measurePeak(native(), model.device);
  }

  for (let i = 0; i < warmup; i++) await model.forward(input, inputShape);

  const iterations: IterationProfile[] = [];
  let origin: bigint | undefined;
  for (let i = 0; i < iters; i++) {
    const layerNs = new Array<number>(shapes.length).fill(0);
    const onLayer: ForwardOptions['onLayer'] = (t) => { layerNs[t.index] = t.ns; };
    const start = process.hrtime.bigint();
    await model.forward(input, inputShape, { onLayer });
    const end = process.hrtime.bigint();
    origin ??= start;
    iterations.push({ startNs: Number(start - origin), wallNs: Number(end - start), layerNs });
  }

  const algorithms = shapes.map((s) => layerAlgorithm(s, {
    device: model.device, winograd: options.winograd ?? true, winogradEnv: process.env.ALEXNET_CLI_WINOGRAD,
    precision: (model.layerPrecision?.(s.spec.name)?.precision ?? 'fp32') as 'fp32' | 'bf16' | 'int8', batch,
  }));
  const lowpKernels = model.device === 'cpu' ? (await import('../native.js')).native().cpuFeatures().lowpKernels : undefined;
  // the int8 chain (lib/model/plan.ts): convs that write u8 for the next int8 layer, max pools on u8
  const chain = model.int8ChainFor?.(inputShape[2], inputShape[3]);
  const writesU8 = (index: number) => chain !== undefined && (chain.producers.has(index) || chain.pools.has(index));
  const precisionOf = (index: number, name: string, type: string): { precision: string | null; kernel: string | null } => {
    if (type === 'maxPool2d' && chain?.pools.has(index)) return { precision: 'u8', kernel: 'u8 max' };
    if (type !== 'conv2d' && type !== 'linear') return { precision: null, kernel: null };
    const p = model.layerPrecision?.(name) ?? { precision: 'fp32' };
    // the convs read each patch in place from their padded NHWC input (lowp-conv.cc), or (bf16) run the
    // Winograd transforms around the panels kernel (winograd.cc)
    const patches = type !== 'conv2d' ? '' : algorithms[index].name.startsWith('Winograd') ? 'Winograd transforms + ' : 'patches in place + ';
    const kernel = p.precision === 'fp32' || !lowpKernels ? null : `${patches}${lowpKernels[p.precision]}`;
    const precision = p.activations ? `${p.precision} ${p.activations}` : p.precision;
    return { precision: chain?.producers.has(index) ? `${precision}, u8 out` : precision, kernel };
  };
  const medians = shapes.map((_, i) => median(iterations.map((it) => it.layerNs[i])));
  const layerSumNs = medians.reduce((a, b) => a + b, 0);
  const layers: LayerProfile[] = shapes.map((s, i) => {
    const macs = s.macs * batch;
    const medianNs = medians[i];
    const algorithmMacs = algorithms[i].macs * batch;
    const rate = (n: number): number | null => (n > 0 && medianNs > 0 ? (2 * n) / medianNs : null);
    const algorithmGflops = rate(algorithmMacs);
    return {
      index: i,
      ...layerSummary(s),
      macs,
      algorithm: algorithms[i].name,
      algorithmMacs,
      medianNs,
      p90Ns: quantile(iterations.map((it) => it.layerNs[i]), 0.9),
      share: layerSumNs > 0 ? medianNs / layerSumNs : 0,
      effectiveGflops: rate(macs),
      algorithmGflops,
      algorithmPeakPercent: algorithmGflops === null ? null : (100 * algorithmGflops) / peak.gflops,
      activationBytes: writesOutput(s.spec.type) ? shapeSize(s.outShape) * batch * (writesU8(i) ? 1 : 4) : 0,
      ...precisionOf(i, s.spec.name, s.spec.type),
    };
  });

  const walls = iterations.map((it) => it.wallNs);
  const endToEndMedianNs = median(walls);
  const macs = layers.reduce((a, l) => a + l.macs, 0);
  const algorithmMacs = layers.reduce((a, l) => a + l.algorithmMacs, 0);
  const totalRate = (n: number): number => (layerSumNs > 0 ? (2 * n) / layerSumNs : 0);
  const totals: ProfileTotals = {
    params: layers.reduce((a, l) => a + l.params, 0),
    macs,
    algorithmMacs,
    layerSumNs,
    endToEndMedianNs,
    endToEndP90Ns: quantile(walls, 0.9),
    differenceNs: endToEndMedianNs - layerSumNs,
    differencePercent: (100 * (endToEndMedianNs - layerSumNs)) / endToEndMedianNs,
    outsideKernelsNs: median(iterations.map((it) => it.wallNs - it.layerNs.reduce((a, b) => a + b, 0))),
    effectiveGflops: totalRate(macs),
    algorithmGflops: totalRate(algorithmMacs),
    algorithmPeakPercent: (100 * totalRate(algorithmMacs)) / peak.gflops,
    activationBytes: layers.reduce((a, l) => a + l.activationBytes, 0),
    imagesPerSecond: (batch * 1e9) / endToEndMedianNs,
  };

  return {
    createdAt: new Date().toISOString(),
    version: packageVersion(),
    cpu: cpus()[0]?.model.trim() || 'unknown',
    arch: arch.name,
    weights: model.weightsSource,
    device: model.device,
    isa: options.isa ?? null,
    threads: options.threads ?? null,
    batch,
    warmup,
    iters,
    inputShape,
    peak,
    layers,
    totals,
    memory: {
      weightsBytes: model.parameterBytes,
      packedExtraBytes: (model.weightBytes ?? model.parameterBytes) - model.parameterBytes,
      arenaBytes: model.arenaBytes,
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
    },
    iterations,
  };
}
