// `alexnet-cli bench`: end-to-end forward passes of each architecture and batch size on random weights,
// median/p90 latency, images/s, GFLOP/s against the measured peak, peak RSS; with --compare onnxruntime
// the same model and weights exported to ONNX run in onnxruntime-node in the same process, interleaved
// iteration by iteration (so machine noise hits both), and the ratio ours/ORT is reported per configuration.
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import type { CommandModule } from 'yargs';
import { ARCH_NAMES, buildArchitecture } from '../model/archs.js';
import type { ArchName } from '../model/layers.js';
import { inferShapes, shapeSize } from '../model/shapes.js';
import { Rng } from '../model/random.js';
import { quantile } from '../profile/profile.js';
import { AlexnetError, usageError } from '../errors.js';
import { formatBytes, renderTable } from '../format.js';
import { checkInteger, WEIGHTS_HELP } from './common.js';
import type { Isa, Precision } from '../native.js';
import { PRECISIONS } from '../native.js';
import type { Model } from '../model/model.js';

export interface BenchOptions {
  archs: ArchName[];
  batches: number[];
  /** kernel threads (ours) and intraOpNumThreads (ORT) */
  threads: number;
  warmup: number;
  iters: number;
  compare: 'onnxruntime' | null;
  /** kernel sets to time, interleaved (default: the one in use); the first is the reference of isaRatio */
  isas?: string[];
  /** precisions to time, interleaved with the kernel sets (default fp32); the first is the reference of isaRatio */
  precisions?: Precision[];
  /** seed of the random weights and input */
  seed?: number;
  /** a weights file (any format, ONNX included) or a registry name: its network instead of random `archs` */
  weights?: string;
}

export interface BenchStats {
  medianMs: number;
  p90Ms: number;
  imagesPerSecond: number;
  gflops: number;
  /** gflops as a percentage of the measured peak */
  peakPercent: number;
}

export interface BenchRow {
  /** the architecture's name, or with --weights `FILE (arch)` */
  arch: string;
  batch: number;
  /** the kernel set of our row */
  isa: string;
  /** the precision of our row's conv and linear layers */
  precision: Precision;
  ours: BenchStats;
  ort: BenchStats | null;
  /** ours median / ORT median: below 1 we are faster; its inverse is the throughput ratio */
  timeRatio: number | null;
  /** int8 rows with --compare onnxruntime: ORT on the QDQ export of the same int8 model (same scales) */
  ortInt8?: BenchStats | null;
  /** ours median / ortInt8 median */
  int8TimeRatio?: number | null;
  /** ours median / ours median on the first --precision and --isa for the same arch and batch (1 on that one) */
  isaRatio: number;
}

export interface BenchReport {
  date: string;
  /** the CPU model as the OS names it (os.cpus()), so that a pasted table says where it ran */
  cpu?: string;
  /** the kernel set in use at the start (what the CPU's best is, or ALEXNET_CLI_ISA) */
  isa: string;
  /** the kernel sets timed, in row order */
  isas: string[];
  /** the precisions timed, in row order (each with every kernel set) */
  precisions: Precision[];
  threads: number;
  warmup: number;
  iters: number;
  peak: { gflops: number; description: string };
  /** onnxruntime-node version when compared */
  ortVersion: string | null;
  /**
   * how the int8 rows quantize activations: 'static' (calibrated scales: a quantized --weights file, or with
   * --compare onnxruntime 8 random inputs drawn like the timed ones, min/max, the scales the QDQ export
   * that ORT runs carries), or 'dynamic' (each batch's min and max); null without int8 rows
   */
  int8Activations?: 'static' | 'dynamic' | null;
  /** where bench calibrated the static scales itself: what on */
  int8Calibration?: string | null;
  rows: BenchRow[];
  /** process.resourceUsage().maxRSS at the end (both engines when compared) */
  peakRssBytes: number;
  /** fp32 weight bytes per architecture (per row name) */
  weightsBytes: Record<string, number>;
}

/** "1,8,32" -> [1, 8, 32] */
export function parseBatchList(text: string | number): number[] {
  const parts = String(text).split(',').map((s) => s.trim());
  const batches = parts.map(Number);
  if (parts.length === 0 || batches.some((b, i) => parts[i] === '' || !Number.isInteger(b) || b < 1)) {
    throw usageError(`Expected a comma-separated list of positive integers for --batch but received ${text}`);
  }
  return batches;
}

/** "fp32,int8" -> ['fp32', 'int8'] */
export function parsePrecisionList(text: string): Precision[] {
  const names = String(text).split(',').map((s) => s.trim());
  if (names.some((n) => !(PRECISIONS as readonly string[]).includes(n)) || new Set(names).size !== names.length) {
    throw usageError(`Expected a comma-separated list of distinct precisions (${PRECISIONS.join(', ')}) for --precision but received ${text}`);
  }
  return names as Precision[];
}

/** "avx512,avx2" -> ['avx512', 'avx2'] (checked against the CPU when the bench starts) */
export function parseIsaList(text: string): string[] {
  const names = String(text).split(',').map((s) => s.trim());
  if (names.some((n) => n === '') || new Set(names).size !== names.length) {
    throw usageError(`Expected a comma-separated list of distinct kernel sets for --isa but received ${text}`);
  }
  return names;
}

export function parseArchList(text: string | undefined): ArchName[] {
  if (text === undefined || text === 'all') return [...ARCH_NAMES];
  const names = text.split(',').map((s) => s.trim());
  for (const n of names) {
    if (!(ARCH_NAMES as string[]).includes(n)) throw usageError(`Expected one of ${ARCH_NAMES.join(', ')}, all for --arch but received ${n}`);
  }
  return names as ArchName[];
}

/** multiply-accumulates of one image's forward pass */
export function macsPerImage(arch: ArchName): number {
  return inferShapes(buildArchitecture(arch)).reduce((a, s) => a + s.macs, 0);
}

/** statistics of per-iteration wall times (ms) of a batch of `batch` images */
export function benchStats(timesMs: number[], batch: number, macs: number, peakGflops: number): BenchStats {
  const medianMs = quantile(timesMs, 0.5);
  const gflops = (2 * macs * batch) / (medianMs * 1e6);
  return {
    medianMs,
    p90Ms: quantile(timesMs, 0.9),
    imagesPerSecond: (batch * 1000) / medianMs,
    gflops,
    peakPercent: (100 * gflops) / peakGflops,
  };
}

const fixed = (x: number, digits: number): string => x.toFixed(digits);

export function renderBench(report: BenchReport): string {
  const compare = report.ortVersion !== null;
  const isas = report.isas ?? [report.isa];
  const precisions = report.precisions ?? ['fp32'];
  const severalIsas = isas.length > 1;
  const severalPrecisions = precisions.length > 1;
  const several = severalIsas || severalPrecisions;
  const header = ['arch', 'batch', ...(severalPrecisions ? ['precision'] : []), ...(severalIsas ? ['isa'] : []), 'median ms', 'p90 ms', 'img/s', 'GFLOP/s', '% peak'];
  if (several) header.push(`time vs ${[...(severalPrecisions ? [precisions[0]] : []), ...(severalIsas ? [isas[0]] : [])].join(' ')}`);
  if (compare) header.push('ORT median ms', 'ORT p90 ms', 'ORT img/s', 'ours/ORT time', 'speedup');
  const qdq = report.rows.some((r) => r.ortInt8);
  if (qdq) header.push('ORT QDQ ms', 'ours/ORT QDQ');
  const rows = report.rows.map((r) => {
    const row = [r.arch, String(r.batch), ...(severalPrecisions ? [r.precision ?? 'fp32'] : []), ...(severalIsas ? [r.isa] : []), fixed(r.ours.medianMs, 2), fixed(r.ours.p90Ms, 2),
      fixed(r.ours.imagesPerSecond, 1), fixed(r.ours.gflops, 1), fixed(r.ours.peakPercent, 1)];
    if (several) row.push(fixed(r.isaRatio, 3));
    if (compare) {
      row.push(r.ort ? fixed(r.ort.medianMs, 2) : '-', r.ort ? fixed(r.ort.p90Ms, 2) : '-', r.ort ? fixed(r.ort.imagesPerSecond, 1) : '-',
        r.timeRatio !== null ? fixed(r.timeRatio, 3) : '-', r.timeRatio !== null ? `${fixed(1 / r.timeRatio, 2)}x` : '-');
    }
    if (qdq) row.push(r.ortInt8 ? fixed(r.ortInt8.medianMs, 2) : '-', r.int8TimeRatio != null ? fixed(r.int8TimeRatio, 3) : '-');
    return row;
  });
  const weights = Object.entries(report.weightsBytes).map(([a, b]) => `${a} ${formatBytes(b!)}`).join(', ');
  return [
    `Bench: ${report.cpu ? `${report.cpu}, ` : ''}${report.threads} threads, ${severalIsas ? `ISAs ${isas.join(', ')} interleaved` : `ISA ${isas[0]}`}, ` +
      `${severalPrecisions ? `precisions ${precisions.join(', ')} interleaved` : `precision ${precisions[0]}`}, ` +
      `${report.warmup} warm-up + ${report.iters} timed iterations` +
      (compare ? `, interleaved with onnxruntime-node ${report.ortVersion}` : ''),
    `Peak: ${fixed(report.peak.gflops, 1)} GFLOP/s (${report.peak.description})`,
    ...(report.int8Activations ? [`int8: ${report.int8Activations === 'static'
      ? `static activation scales${qdq ? ', the same in the QDQ export ORT runs (ORT QDQ columns)' : ''}`
      : 'dynamic activation scales (each batch\'s min and max)'}${report.int8Calibration ? `; calibrated on ${report.int8Calibration}` : ''}`] : []),
    renderTable(header, rows, header.map((_, i) => i > 0)),
    `Peak RSS: ${formatBytes(report.peakRssBytes)} (whole process${compare ? ', both engines' : ''}); weights ${weights}`,
  ].join('\n');
}

type Ort = typeof import('onnxruntime-node');

const ORT_SESSION_OPTIONS = (threads: number) => ({
  intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential' as const, graphOptimizationLevel: 'all' as const,
  // ORT's pool spin-waits after each run by default: interleaved with ours, its idle threads would
  // take both cores during our iteration. Off, as two engines sharing a machine would be
  // configured; measured not to slow ORT itself (seed batch 1: 25.0/23.0 ms off vs 25.5/25.2 on).
  extra: { session: { intra_op: { allow_spinning: '0' } } },
});

/** onnxruntime-node, or an AlexnetError saying why it cannot be used */
export function loadOnnxRuntime(): { ort: Ort; version: string } {
  const require = createRequire(import.meta.url);
  try {
    const ort = require('onnxruntime-node') as Ort;
    let version = 'unknown';
    try { version = (require('onnxruntime-node/package.json') as { version: string }).version; } catch { /* exports may hide it */ }
    return { ort, version: ort.env?.versions?.node ?? version };
  } catch (e) {
    throw new AlexnetError(`Expected onnxruntime-node to be importable for --compare onnxruntime but received ${(e as Error).message.split('\n')[0]}`);
  }
}

/** `bench --weights FILE|NAME`: the file's network, named `FILE (arch)`; --arch, when given, is one name checked against it */
async function weightsTarget(weights: string, archs: ArchName[]) {
  if (archs.length !== 1 && archs.length !== ARCH_NAMES.length) {
    throw usageError(`Expected one architecture for --arch with --weights but received ${archs.join(',')}`);
  }
  const { resolveWeightsArg } = await import('../weights/registry.js');
  const { loadWeightsAndModel } = await import('../model/load.js');
  const { basename } = await import('node:path');
  const path = await resolveWeightsArg(weights);
  const arch = archs.length === 1 ? archs[0] : undefined;
  const loaded = await loadWeightsAndModel({ weights: path, arch, precision: 'fp32' });
  return {
    archName: `${basename(weights)} (${loaded.model.arch.name})`,
    path,
    load: async (precision: Precision) => (precision === 'fp32' ? loaded.model : (await loadWeightsAndModel({ weights: path, arch, precision })).model),
  };
}

type BenchModel = Model;

/** the activations of a model's int8 layers: 'static' or 'dynamic' (null: no int8 layer) */
function int8Activations(model: BenchModel): 'static' | 'dynamic' | null {
  for (const layer of inferShapes(model.arch)) {
    const p = model.layerPrecision(layer.spec.name);
    if (p?.precision === 'int8') return p.activations ?? 'dynamic';
  }
  return null;
}

/**
 * The int8 model ORT's QDQ run is compared with, and that QDQ graph: a quantized file as it is, else the
 * fp32 weights calibrated here (min/max over 8 random inputs drawn like the timed ones) and written to a
 * scratch int8 file, which both engines then load: the same weights, scales and rounding.
 */
export async function staticInt8(path: string | undefined, fp32: BenchModel, int8: BenchModel, seed: number) {
  const { readInt8Model } = await import('../quantize/file.js');
  const { int8ExportInputs } = await import('../quantize/export.js');
  const { encodeOnnx } = await import('../weights/onnx-export.js');
  if (int8Activations(int8) === 'static' && path !== undefined) {
    const { tensors, int8: layers } = int8ExportInputs(await readInt8Model(path));
    return { model: int8, onnx: encodeOnnx(fp32.arch, tensors, { int8: layers }), calibration: null };
  }
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { quantizeNetwork } = await import('../quantize/quantize.js');
  const { loadWeightsAndModel } = await import('../model/load.js');
  const dir = mkdtempSync(join(tmpdir(), 'alexnet-bench-'));
  try {
    const file = join(dir, 'int8.safetensors');
    const params = new Map([...fp32.parameters()].map(([name, t]) => [name, t.data]));
    const rng = new Rng(seed + 7919);
    const images = Array.from({ length: 8 }, () => Float32Array.from({ length: shapeSize(fp32.arch.input) }, () => rng.normal()));
    await quantizeNetwork(fp32.arch, fp32.arch.preprocess, params, images,
      { method: 'minmax', out: file, calibration: { source: 'alexnet-cli bench: 8 random normal inputs' } });
    const { model } = await loadWeightsAndModel({ weights: file, precision: 'int8' });
    const { tensors, int8: layers } = int8ExportInputs(await readInt8Model(file));
    int8.dispose();
    return { model, onnx: encodeOnnx(fp32.arch, tensors, { int8: layers }), calibration: '8 random normal inputs drawn like the timed ones (min/max)' };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs every (arch, batch) configuration; `log` gets one line per finished configuration */
export async function runBench(options: BenchOptions, log: (line: string) => void = () => {}): Promise<BenchReport> {
  const { native } = await import('../native.js');
  const { Model } = await import('../model/model.js');
  const { measurePeak } = await import('../profile/profile.js');
  const { encodeOnnx } = await import('../weights/onnx-export.js');
  const binding = native();
  binding.setThreads(options.threads);
  const startIsa = binding.cpuFeatures().isa;
  const isas = options.isas ?? [startIsa];
  const precisions = options.precisions ?? ['fp32'];
  // every (precision, kernel set) pair, timed one after another in each iteration
  const variants = precisions.flatMap((precision) => isas.map((isa) => ({ precision, isa })));
  const supported: string[] = binding.cpuFeatures().supported;
  for (const isa of isas) {
    if (!supported.includes(isa)) throw usageError(`Expected kernel sets this CPU runs (${supported.join(', ')}) for --isa but received ${isa}`);
  }
  const ortLoaded = options.compare === 'onnxruntime' ? loadOnnxRuntime() : null;
  const peak = await measurePeak(binding);
  const rows: BenchRow[] = [];
  let int8Mode: 'static' | 'dynamic' | null = null;
  let int8Calibration: string | null = null;
  const weightsBytes: Record<string, number> = {};
  // random weights for each named architecture, or the one network of a weights file
  const targets = options.weights !== undefined
    ? [await weightsTarget(options.weights, options.archs)]
    : options.archs.map((name) => ({
      archName: name as string,
      load: (precision: Precision) => Model.random(buildArchitecture(name), options.seed ?? 0, 'cpu', { precision }),
    }));
  for (const target of targets) {
    const { archName } = target;
    // one model per precision, on the same weights, packed for the first kernel set (whether the convs run
    // in bf16 / int8 depends on its instructions: Model PackOptions.lowpConvs)
    binding.setIsa(isas[0] as Isa);
    const models = new Map<Precision, Awaited<ReturnType<typeof target.load>>>();
    for (const precision of precisions) models.set(precision, await target.load(precision));
    const model = models.get('fp32') ?? await target.load('fp32');
    const arch = model.arch;
    weightsBytes[archName] = model.parameterBytes;
    let session: import('onnxruntime-node').InferenceSession | undefined;
    if (ortLoaded) {
      session = await ortLoaded.ort.InferenceSession.create(encodeOnnx(arch, model.parameters()), ORT_SESSION_OPTIONS(options.threads));
    }
    // int8 with onnxruntime: ORT also runs the QDQ export of our int8 model (static scales on both sides)
    let qdqSession: import('onnxruntime-node').InferenceSession | undefined;
    if (ortLoaded && models.has('int8')) {
      const staticModel = await staticInt8((target as { path?: string }).path, model, models.get('int8')!, options.seed ?? 0);
      models.set('int8', staticModel.model);
      int8Calibration = staticModel.calibration ?? int8Calibration;
      qdqSession = await ortLoaded.ort.InferenceSession.create(staticModel.onnx, ORT_SESSION_OPTIONS(options.threads));
    }
    if (models.has('int8')) int8Mode = int8Activations(models.get('int8')!);
    const macs = inferShapes(arch).reduce((a, s) => a + s.macs, 0);
    try {
      for (const batch of options.batches) {
        const shape = [batch, ...arch.input];
        const input = new Float32Array(shapeSize(shape));
        const rng = new Rng((options.seed ?? 0) + batch);
        for (let i = 0; i < input.length; i++) input[i] = rng.normal();
        const feeds = session ? { [session.inputNames[0]]: new ortLoaded!.ort.Tensor('float32', input, shape) } : undefined;
        const qdqFeeds = qdqSession ? { [qdqSession.inputNames[0]]: new ortLoaded!.ort.Tensor('float32', input, shape) } : undefined;
        const runOurs = async ({ precision, isa }: { precision: Precision; isa: string }): Promise<number> => {
          // the packed weights are the same for every kernel set, so switching between passes is free
          binding.setIsa(isa as Isa);
          const t0 = process.hrtime.bigint();
          await models.get(precision)!.forward(input, shape);
          return Number(process.hrtime.bigint() - t0) / 1e6;
        };
        const runOrt = async (): Promise<number> => {
          const t0 = process.hrtime.bigint();
          await session!.run(feeds!);
          return Number(process.hrtime.bigint() - t0) / 1e6;
        };
        const runQdq = async (): Promise<number> => {
          const t0 = process.hrtime.bigint();
          await qdqSession!.run(qdqFeeds!);
          return Number(process.hrtime.bigint() - t0) / 1e6;
        };
        for (let i = 0; i < options.warmup; i++) {
          for (const v of variants) await runOurs(v);
          if (session) await runOrt();
          if (qdqSession) await runQdq();
        }
        const ours: number[][] = variants.map(() => []);
        const theirs: number[] = [];
        const theirsInt8: number[] = [];
        for (let i = 0; i < options.iters; i++) {
          // alternate who goes first, so neither always runs on caches the other warmed or evicted
          if (session && i % 2 === 1) theirs.push(await runOrt());
          if (qdqSession && i % 2 === 1) theirsInt8.push(await runQdq());
          for (let j = 0; j < variants.length; j++) ours[j].push(await runOurs(variants[j]));
          if (session && i % 2 === 0) theirs.push(await runOrt());
          if (qdqSession && i % 2 === 0) theirsInt8.push(await runQdq());
        }
        const ortStats = session ? benchStats(theirs, batch, macs, peak.gflops) : null;
        const qdqStats = qdqSession ? benchStats(theirsInt8, batch, macs, peak.gflops) : null;
        const first = benchStats(ours[0], batch, macs, peak.gflops);
        variants.forEach(({ precision, isa }, j) => {
          const oursStats = j === 0 ? first : benchStats(ours[j], batch, macs, peak.gflops);
          const row: BenchRow = {
            arch: archName, batch, isa, precision, ours: oursStats, ort: ortStats,
            timeRatio: ortStats ? oursStats.medianMs / ortStats.medianMs : null,
            isaRatio: oursStats.medianMs / first.medianMs,
            ...(qdqStats && precision === 'int8' ? { ortInt8: qdqStats, int8TimeRatio: oursStats.medianMs / qdqStats.medianMs } : {}),
          };
          rows.push(row);
          log(`${archName} batch ${batch}${precisions.length > 1 ? ` ${precision}` : ''}${isas.length > 1 ? ` ${isa}` : ''}: ${fixed(oursStats.medianMs, 2)} ms` +
            (ortStats ? ` vs ORT ${fixed(ortStats.medianMs, 2)} ms (ours/ORT ${fixed(row.timeRatio!, 3)})` : '') +
            (row.ortInt8 ? `, ORT QDQ ${fixed(row.ortInt8.medianMs, 2)} ms (ours/ORT QDQ ${fixed(row.int8TimeRatio!, 3)})` : ''));
        });
      }
    } finally {
      binding.setIsa(startIsa);
      await session?.release();
      await qdqSession?.release();
      model.dispose();
      for (const m of models.values()) m.dispose();
    }
  }
  return {
    date: new Date().toISOString(),
    cpu: cpus()[0]?.model.trim() || 'unknown CPU',
    isa: startIsa,
    isas,
    precisions,
    threads: binding.getThreads(),
    warmup: options.warmup,
    iters: options.iters,
    peak: { gflops: peak.gflops, description: peak.description },
    ortVersion: ortLoaded?.version ?? null,
    int8Activations: int8Mode,
    int8Calibration,
    rows,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    weightsBytes,
  };
}

interface BenchArgs {
  arch?: string;
  weights?: string;
  batch: string;
  threads?: number;
  warmup: number;
  iters: number;
  json: boolean;
  compare?: string;
  isa?: string;
  precision?: string;
}

export const benchCommand: CommandModule<object, BenchArgs> = {
  command: 'bench',
  describe: 'Time whole forward passes (random weights, or --weights FILE): latency, images/s, GFLOP/s; optionally side by side with onnxruntime',
  builder: (y) => y
    .option('arch', { type: 'string', describe: `architectures, comma-separated (${ARCH_NAMES.join(', ')}) or all (default)` })
    .option('weights', { type: 'string', describe: `time this network instead of random weights: ${WEIGHTS_HELP}` })
    .option('batch', { alias: ['b', 'batch-size'], type: 'string', default: '1,32', describe: 'batch sizes, comma-separated' })
    .option('threads', { type: 'number', describe: 'CPU threads for both engines (default: all cores)' })
    .option('warmup', { type: 'number', default: 3, describe: 'untimed forward passes first' })
    .option('iters', { type: 'number', default: 15, describe: 'timed forward passes per configuration' })
    .option('compare', { type: 'string', choices: ['onnxruntime'], describe: 'also run the same model and weights in this peer' })
    .option('isa', { type: 'string', describe: 'kernel sets to time side by side, comma-separated (e.g. avx512,avx2; default: the one in use)' })
    .option('precision', { type: 'string', describe: 'precisions of the conv and linear layers to time side by side, comma-separated (fp32,bf16,int8; default fp32; int8 with dynamic activation scales)' })
    .option('json', { type: 'boolean', default: false, describe: 'print JSON' }) as never,
  handler: async (argv) => {
    const archs = parseArchList(argv.arch);
    const batches = parseBatchList(argv.batch);
    checkInteger(argv.threads, 'threads', 1);
    checkInteger(argv.warmup, 'warmup', 0);
    checkInteger(argv.iters, 'iters', 1);
    const { native } = await import('../native.js');
    const threads = argv.threads ?? native().getThreads();
    const report = await runBench({
      archs, batches, threads, warmup: argv.warmup, iters: argv.iters, compare: argv.compare === 'onnxruntime' ? 'onnxruntime' : null,
      isas: argv.isa === undefined ? undefined : parseIsaList(argv.isa), weights: argv.weights,
      precisions: argv.precision === undefined ? undefined : parsePrecisionList(argv.precision),
    }, argv.json ? undefined : (line) => process.stderr.write(`${line}\n`));
    process.stdout.write(argv.json ? `${JSON.stringify(report, null, 2)}\n` : `${renderBench(report)}\n`);
  },
};
