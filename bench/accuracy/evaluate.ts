// The accuracy table (docs/precision.md): one set written by bench/accuracy/make_sets.py, our fp32, bf16 and
// int8 on its evaluation images, against the labels, against our fp32 (top-1 agreement) and against
// PyTorch's own fp32 and int8 predictions on the same images.
//
// bf16 and int8 run on the native runtime where this build has it (int8: the file quantize wrote, static
// calibrated scales), else by simulation on the fp32 kernels (lib/quantize/simulate.ts: bf16 rounding of each
// conv / linear input and weights; int8 fake quantization with the calibrated scales, the arithmetic of the
// native int8 runtime up to fp32 rounding order): the `runtime` column says which.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Model } from '../../lib/model/model.js';
import { quantizeNetwork } from '../../lib/quantize/quantize.js';
import { SimulatedNetwork } from '../../lib/quantize/simulate.js';
import { readFp32Params } from '../../lib/quantize/sources.js';
import { readWeights } from '../../lib/weights/index.js';
import { loadWeightsAndModel } from '../../lib/model/load.js';
import { native } from '../../lib/native.js';
import { resolveWeights } from '../../lib/weights/resolve.js';

export interface SetMeta {
  set: string;
  classes: number;
  height: number;
  width: number;
  upscale: number;
  mean: number[];
  std: number[];
  calibration: number;
  evaluation: number;
  labels: number[];
  torch: { version: string; engine: string | null; fp32: number[]; int8?: number[] };
  info: Record<string, unknown>;
}

export interface PrecisionRow {
  precision: string;
  /** 'ours (native)', 'ours (simulated)', 'PyTorch fp32', 'PyTorch int8 (onednn)' */
  runtime: string;
  accuracy: number;
  /** top-1 equal to our fp32's */
  agreement: number;
  correct: number;
  agreeing: number;
}

export interface PairedComparison {
  /** images only ours got right, and only the other got right */
  oursOnly: number;
  theirsOnly: number;
  /** exact two-sided McNemar p-value: how likely a split this uneven is if both are equally accurate */
  p: number;
}

export interface SetResult {
  meta: SetMeta;
  images: number;
  rows: PrecisionRow[];
  /** our fp32 top-1 equal to PyTorch's fp32 top-1 */
  torchFp32Agreement: number;
  calibrationMethod: string;
  /** our int8 against PyTorch's int8, image by image (where PyTorch has an int8 engine) */
  int8VsTorch?: PairedComparison;
}

/**
 * The exact McNemar test on paired predictions: of the b + c images where exactly one of two classifiers is
 * right, b for the first and c for the second, 2 * P(X <= min(b, c)) for X ~ Binomial(b + c, 1/2), at most 1
 */
export function mcnemarExact(b: number, c: number): number {
  const n = b + c;
  if (n === 0) return 1;
  // the terms C(n, i) / 2^n in logs: 2^-n alone is 0 in a double past n = 1074
  let logTerm = -n * Math.LN2;
  let tail = 0;
  for (let i = 0; i <= Math.min(b, c); i++) {
    tail += Math.exp(logTerm);
    logTerm += Math.log(n - i) - Math.log(i + 1);
  }
  return Math.min(1, 2 * tail);
}

export function pairedComparison(labels: number[], ours: number[], theirs: number[]): PairedComparison {
  let oursOnly = 0;
  let theirsOnly = 0;
  labels.forEach((label, i) => {
    if (ours[i] === label && theirs[i] !== label) oursOnly++;
    if (ours[i] !== label && theirs[i] === label) theirsOnly++;
  });
  return { oursOnly, theirsOnly, p: mcnemarExact(oursOnly, theirsOnly) };
}

/**
 * Image i of the set as the model input: nearest upscaling, then (u8 / 255 - mean) / std with each step
 * rounded to float32, in make_sets.py's order, so PyTorch and we see the same bits
 */
export function setInputs(u8: Uint8Array, meta: SetMeta, first: number, count: number): Float32Array {
  const { height: h, width: w, upscale: up } = meta;
  const H = h * up;
  const W = w * up;
  const out = new Float32Array(count * 3 * H * W);
  const mean = meta.mean.map(Math.fround);
  const std = meta.std.map(Math.fround);
  for (let n = 0; n < count; n++) {
    const base = (first + n) * h * w * 3;
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          const u = u8[base + (Math.floor(y / up) * w + Math.floor(x / up)) * 3 + c];
          out[((n * 3 + c) * H + y) * W + x] = Math.fround(Math.fround(Math.fround(u / 255) - mean[c]) / std[c]);
        }
      }
    }
  }
  return out;
}

const argmaxRows = (values: Float32Array, rows: number): number[] => {
  const cols = values.length / rows;
  return Array.from({ length: rows }, (_, r) => {
    let best = 0;
    for (let c = 1; c < cols; c++) if (values[r * cols + c] > values[r * cols + best]) best = c;
    return best;
  });
};

export async function evaluateSet(dir: string, options: { batch?: number; method?: 'mse' | 'percentile' | 'minmax'; log?: (line: string) => void } = {}): Promise<SetResult> {
  const batch = options.batch ?? 16;
  const log = options.log ?? (() => {});
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as SetMeta;
  const u8 = new Uint8Array(readFileSync(join(dir, 'images.u8')));
  const perImage = meta.height * meta.width * 3;
  if (u8.length !== (meta.calibration + meta.evaluation) * perImage) throw new Error(`${dir}/images.u8: expected ${meta.calibration + meta.evaluation} images of ${perImage} bytes`);
  const weights = join(dir, 'model.safetensors');
  const source = await readFp32Params(weights);
  const imageSize = 3 * meta.height * meta.upscale * meta.width * meta.upscale;

  // calibration: the set's calibration images (training images, never evaluated)
  const calib = setInputs(u8, meta, 0, meta.calibration);
  const images = Array.from({ length: meta.calibration }, (_, i) => calib.subarray(i * imageSize, (i + 1) * imageSize));
  const method = options.method ?? 'mse';
  log(`${meta.set}: quantize on ${meta.calibration} calibration images (${method})`);
  const int8File = join(dir, `model-int8-${method}.safetensors`);
  const q = await quantizeNetwork(source.arch, source.preprocess, source.params, images, { method, batch, out: int8File });

  const set = await readWeights(weights);
  const { arch } = resolveWeights(set);
  const fp32 = await Model.fromWeights(arch, set);
  const shape = (n: number) => [n, 3, meta.height * meta.upscale, meta.width * meta.upscale];
  // the native bf16 / int8 runtime where this build has it (the int8 one on the file quantize wrote), else simulation
  const nativeRuntime = Boolean((native() as { packQuantized?: unknown }).packQuantized);
  const runtime = nativeRuntime ? 'ours (native)' : 'ours (simulated)';
  type Runner = { forward(input: Float32Array, n: number): Promise<Float32Array>; dispose(): void };
  let bf16: Runner;
  let int8: Runner;
  if (nativeRuntime) {
    const bf16Model = await Model.fromWeights(arch, set, 'cpu', { precision: 'bf16' } as Record<string, unknown>);
    const int8Model = (await loadWeightsAndModel({ weights: int8File, precision: 'int8' } as Parameters<typeof loadWeightsAndModel>[0])).model;
    for (const [m, want] of [[bf16Model, 'bf16'], [int8Model, 'int8']] as const) {
      const got = (m as unknown as { precision?: string }).precision;
      if (got !== want) throw new Error(`expected the native runtime to load ${want} but it loaded ${got ?? 'fp32'}`);
    }
    bf16 = { forward: (input, n) => bf16Model.forward(input, shape(n)), dispose: () => bf16Model.dispose() };
    int8 = { forward: (input, n) => int8Model.forward(input, shape(n)), dispose: () => int8Model.dispose() };
  } else {
    bf16 = await SimulatedNetwork.bf16(source.arch, source.params);
    int8 = await SimulatedNetwork.int8({ arch: q.arch, preprocess: q.preprocess, calibration: {}, layers: q.layers });
  }
  const predictions: Record<string, number[]> = { fp32: [], bf16: [], int8: [] };
  try {
    for (let first = 0; first < meta.evaluation; first += batch) {
      const n = Math.min(batch, meta.evaluation - first);
      const input = setInputs(u8, meta, meta.calibration + first, n);
      predictions.fp32.push(...argmaxRows(await fp32.forward(input, shape(n)), n));
      predictions.bf16.push(...argmaxRows(await bf16.forward(input, n), n));
      predictions.int8.push(...argmaxRows(await int8.forward(input, n), n));
      log(`${meta.set}: ${first + n}/${meta.evaluation} evaluation images`);
    }
  } finally {
    fp32.dispose();
    bf16.dispose();
    int8.dispose();
  }
  const row = (precision: string, runtime: string, p: number[]): PrecisionRow => {
    let correct = 0;
    let agreeing = 0;
    p.forEach((v, i) => {
      if (v === meta.labels[i]) correct++;
      if (v === predictions.fp32[i]) agreeing++;
    });
    return { precision, runtime, accuracy: correct / p.length, agreement: agreeing / p.length, correct, agreeing };
  };
  const rows = [
    row('fp32', 'ours', predictions.fp32),
    row('bf16', runtime, predictions.bf16),
    row('int8', runtime, predictions.int8),
    row('fp32', 'PyTorch', meta.torch.fp32),
  ];
  if (meta.torch.int8) rows.push(row('int8', `PyTorch (${meta.torch.engine})`, meta.torch.int8));
  let same = 0;
  meta.torch.fp32.forEach((v, i) => { if (v === predictions.fp32[i]) same++; });
  const int8VsTorch = meta.torch.int8 ? pairedComparison(meta.labels, predictions.int8, meta.torch.int8) : undefined;
  return { meta, images: meta.evaluation, rows, torchFp32Agreement: same / meta.evaluation, calibrationMethod: method, int8VsTorch };
}

export function renderAccuracy(results: SetResult[]): string {
  const lines = ['| set | images | precision | runtime | top-1 accuracy | top-1 agreement with our fp32 |', '|---|---:|---|---|---:|---:|'];
  for (const r of results) {
    for (const row of r.rows) {
      lines.push(`| ${r.meta.set} | ${r.images} | ${row.precision} | ${row.runtime} | ${(100 * row.accuracy).toFixed(1)}% (${row.correct}) | ${(100 * row.agreement).toFixed(1)}% (${row.agreeing}) |`);
    }
  }
  return lines.join('\n');
}

/** one line per set: our int8 against PyTorch's, image by image */
export function renderPaired(r: SetResult): string | undefined {
  const c = r.int8VsTorch;
  if (!c) return undefined;
  return `${r.meta.set}: our int8 against PyTorch int8 (${r.meta.torch.engine}), image by image: ${c.oursOnly} right only in ours, ${c.theirsOnly} only in PyTorch's (exact McNemar p = ${c.p.toPrecision(2)})`;
}
