// The score pipeline: the dataset's images (this shard, minus what --resume finds done) are decoded
// and preprocessed a batch at a time in worker threads while the previous batch runs through the
// network; each batch's predictions are appended to the output file and fsync'd before the next.
//
//   workers:   [decode b+1][decode b+3] ...        (up to workers + 1 batches ahead)
//              [decode b+2][decode b+4] ...
//   main:      [forward b ][write b][forward b+1] ...
import { existsSync, statSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import type { Classifier } from '../classifier.js';
import { topK } from '../classifier.js';
import { inputSize } from '../image/preprocess.js';
import { writeFileAtomic } from '../atomic-write.js';
import { AlexnetError } from '../errors.js';
import { hashFile } from '../weights/download.js';
import { datasetDigest, shardItems, type Dataset, type DatasetItem, type Shard } from './dataset.js';
import { MetricsAccumulator, type ScoreMetrics } from './metrics.js';
import { DecodePool } from './pool.js';
import { FORMAT_VERSION, OutputLock, OutputWriter, readOutput, type ScoreHeader, type ScoreRecord } from './records.js';
import type { DecodeReply } from './decode-worker.js';

export interface ScoreOptions {
  batch: number;
  workers: number;
  /** predictions kept per image (top-5 accuracy needs 5) */
  top: number;
  out?: string;
  limit?: number;
  shard: Shard;
  resume: boolean;
  exifOrientation: boolean;
  /** the weights as the user named them (recorded in the header) */
  weights: string;
  /** their SHA-256 when the caller has it already (weightsDigest); computed otherwise */
  weightsSha256?: string | null;
  /** the --labels file, if any (recorded in the header, so merge can name the classes) */
  labels?: string;
  /** write the confusion matrix CSV here */
  confusion?: string;
  onProgress?: (progress: ScoreProgress) => void;
  /** stop after the batch in flight (SIGINT) */
  signal?: AbortSignal;
}

export interface ScoreProgress {
  /** images of this shard done, resumed ones included */
  done: number;
  total: number;
  scored: number;
  correctTop1: number;
  /** this session's rate */
  imagesPerSecond: number;
  etaSeconds: number;
}

export interface ScoreTiming {
  wallMs: number;
  /** images processed in this session (not the resumed ones) */
  images: number;
  imagesPerSecond: number;
  /** summed over workers */
  decodeMs: number;
  preprocessMs: number;
  /** the network's forward passes, on the main thread's clock */
  inferenceMs: number;
  /** the main thread waiting for a decoded batch (decode not keeping up) */
  waitMs: number;
  /** appending + fsync */
  writeMs: number;
  workers: number;
  batch: number;
}

export interface ScoreResult {
  header: ScoreHeader;
  metrics: ScoreMetrics;
  timing: ScoreTiming;
  /** records found in the output file and not redone */
  resumed: number;
  /** a torn last line was dropped from the output file before resuming */
  droppedTornLine: boolean;
  /** stopped by the signal before the end */
  interrupted: boolean;
  remaining: number;
  accumulator: MetricsAccumulator;
}

export function weightsIdentity(weights: string): string {
  return weights.startsWith('random') ? weights : resolvePath(weights);
}

/** SHA-256 of a weights file, what --resume and merge compare wherever the file lies; null for random:SEED */
export async function weightsDigest(weights: string): Promise<string | null> {
  return weights.startsWith('random') ? null : hashFile(weights);
}

/**
 * Header fields that must agree for two outputs to be parts of one evaluation (merge); 'weights'
 * compares the weights' SHA-256 (random:SEED by name), 'datasetSha256' the images and their labels.
 */
export const COMPARED_FIELDS: (keyof ScoreHeader)[] = ['weights', 'layout', 'datasetSize', 'datasetSha256', 'arch', 'numClasses', 'top', 'preprocess', 'exifOrientation', 'limit'];

const short = (sha256: string) => sha256.slice(0, 12);

function fieldKey(h: ScoreHeader, f: keyof ScoreHeader): string {
  return f === 'weights' ? h.weightsSha256 ?? h.weights : JSON.stringify(h[f]);
}

function describeField(h: ScoreHeader, f: keyof ScoreHeader): string {
  if (f === 'weights') return h.weightsSha256 ? `${h.weights} (SHA-256 ${short(h.weightsSha256)})` : h.weights;
  if (f === 'datasetSha256') return `${h.dataset} (${h.datasetSize} images, listing SHA-256 ${short(h.datasetSha256)})`;
  return JSON.stringify(h[f]);
}

/** The first field where `found` differs from `expected`, for a one-line message */
export function headerMismatch(expected: ScoreHeader, found: ScoreHeader, fields: (keyof ScoreHeader)[]): string | undefined {
  for (const f of fields) {
    if (fieldKey(expected, f) !== fieldKey(found, f)) {
      return `${f === 'datasetSha256' ? 'dataset' : f} ${describeField(found, f)} where this run has ${describeField(expected, f)}`;
    }
  }
  return undefined;
}

export function buildHeader(dataset: Dataset, classifier: Classifier, options: ScoreOptions, preprocess: unknown, weightsSha256: string | null): ScoreHeader {
  const size = options.limit !== undefined ? Math.min(options.limit, dataset.items.length) : dataset.items.length;
  const count = shardItems(dataset.items.slice(0, size), options.shard).length;
  return {
    alexnetCliScore: FORMAT_VERSION,
    dataset: resolvePath(dataset.root),
    layout: dataset.layout,
    groundTruth: dataset.groundTruth ? resolvePath(dataset.groundTruth) : null,
    datasetSize: size,
    datasetSha256: datasetDigest(dataset.items.slice(0, size)),
    shard: { index: options.shard.index, count: options.shard.count },
    count,
    weights: weightsIdentity(options.weights),
    weightsSha256,
    labels: options.labels ? resolvePath(options.labels) : null,
    arch: classifier.arch.name,
    numClasses: classifier.arch.numClasses,
    top: options.top,
    preprocess,
    exifOrientation: options.exifOrientation,
    limit: options.limit ?? null,
  };
}

const elapsedMs = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e6;

/** One run per output file at a time (OutputLock): a second run on the same --out is refused */
export async function runScore(dataset: Dataset, classifier: Classifier, options: ScoreOptions): Promise<ScoreResult> {
  const lock = options.out ? OutputLock.acquire(options.out) : undefined;
  try {
    return await runScoreLocked(dataset, classifier, options);
  } finally {
    lock?.release();
  }
}

async function runScoreLocked(dataset: Dataset, classifier: Classifier, options: ScoreOptions): Promise<ScoreResult> {
  const preprocess = classifier.preprocess;
  const weightsSha256 = options.weightsSha256 !== undefined ? options.weightsSha256 : await weightsDigest(options.weights);
  const header = buildHeader(dataset, classifier, options, preprocess, weightsSha256);
  const items: DatasetItem[] = shardItems(dataset.items.slice(0, header.datasetSize), options.shard);
  const numClasses = classifier.arch.numClasses;
  for (const it of items) {
    if (it.label >= numClasses) throw new AlexnetError(`${it.path}: expected a class index below ${numClasses} but found ${it.label}`);
  }
  const metrics = new MetricsAccumulator(numClasses, options.top);

  // --resume: what the output file already holds
  let resumeAt: { validBytes: number; hasColumns: boolean } | undefined;
  const done = new Set<string>();
  let droppedTornLine = false;
  if (options.out && existsSync(options.out) && statSync(options.out).size > 0) {
    if (!options.resume) {
      throw new AlexnetError(`${options.out}: expected a new output file but it exists; pass --resume to continue that run or remove the file`, 'ERR_USAGE');
    }
    const contents = readOutput(options.out);
    droppedTornLine = contents.tornTail;
    if (contents.header) {
      const mismatch = headerMismatch(header, contents.header, [...COMPARED_FIELDS, 'shard', 'count']);
      if (mismatch) throw new AlexnetError(`${options.out}: expected the output of the same run to resume but it was written with ${mismatch}`, 'ERR_USAGE');
      const expected = new Map(items.map((it) => [it.path, it.label]));
      for (const r of contents.records) {
        if (done.has(r.path)) throw new AlexnetError(`${options.out}: expected each image once but found ${r.path} twice`);
        if (expected.get(r.path) !== r.label) {
          throw new AlexnetError(`${options.out}: expected records of this shard's images but found ${r.path} (label ${r.label}), which this dataset does not hold with that label`);
        }
        done.add(r.path);
        metrics.add(r);
      }
    }
    resumeAt = { validBytes: contents.header ? contents.validBytes : 0, hasColumns: contents.hasColumns };
  }
  const todo = items.filter((it) => !done.has(it.path));
  const writer = options.out ? await OutputWriter.open(options.out, header, resumeAt) : undefined;

  const [height, width] = inputSize(preprocess);
  const perImage = 3 * height * width;
  const batchSize = options.batch;
  const batches: DatasetItem[][] = [];
  for (let i = 0; i < todo.length; i += batchSize) batches.push(todo.slice(i, i + batchSize));

  const timing: ScoreTiming = {
    wallMs: 0, images: 0, imagesPerSecond: 0, decodeMs: 0, preprocessMs: 0, inferenceMs: 0, waitMs: 0, writeMs: 0,
    workers: options.workers, batch: batchSize,
  };
  const started = process.hrtime.bigint();
  const pool = batches.length ? new DecodePool(Math.min(options.workers, batches.length)) : undefined;
  const free: ArrayBuffer[] = [];
  const pending: Promise<DecodeReply>[] = [];
  const ahead = options.workers + 1;
  let dispatched = 0;
  let processed = 0;
  let interrupted = false;

  const dispatch = (upTo: number) => {
    while (dispatched < batches.length && dispatched < upTo) {
      const batch = batches[dispatched];
      const buffer = free.pop() ?? new ArrayBuffer(batchSize * perImage * 4);
      const promise = pool!.run({
        id: dispatched, root: dataset.root, paths: batch.map((it) => it.path), buffer, perImage, preprocess, exifOrientation: options.exifOrientation,
      });
      promise.catch(() => undefined); // awaited in order below; a failure is reported there
      pending[dispatched] = promise;
      dispatched++;
    }
  };

  try {
    for (let b = 0; b < batches.length; b++) {
      if (options.signal?.aborted) {
        interrupted = true;
        break;
      }
      dispatch(b + ahead);
      const waitStart = process.hrtime.bigint();
      const reply = await pending[b];
      delete pending[b];
      timing.waitMs += elapsedMs(waitStart);
      timing.decodeMs += reply.decodeNs / 1e6;
      timing.preprocessMs += reply.preprocessNs / 1e6;

      const batch = batches[b];
      const rows = reply.rows.length;
      let probabilities: Float32Array | undefined;
      if (rows > 0) {
        const inferStart = process.hrtime.bigint();
        probabilities = await classifier.probabilities(new Float32Array(reply.buffer, 0, rows * perImage), [rows, 3, height, width]);
        timing.inferenceMs += elapsedMs(inferStart);
      }
      free.push(reply.buffer);
      dispatch(b + 1 + ahead);

      const records: ScoreRecord[] = new Array(batch.length);
      reply.rows.forEach((index, row) => {
        const prob = probabilities!.subarray(row * numClasses, (row + 1) * numClasses);
        const top = topK(prob, options.top);
        records[index] = { path: batch[index].path, label: batch[index].label, top, prob: top.map((k) => prob[k]) };
      });
      for (const e of reply.errors) records[e.index] = { path: batch[e.index].path, label: batch[e.index].label, error: e.message };
      if (writer) {
        const writeStart = process.hrtime.bigint();
        await writer.append(records);
        timing.writeMs += elapsedMs(writeStart);
      }
      for (const r of records) metrics.add(r);
      processed += batch.length;
      timing.images = processed;
      if (options.onProgress) {
        const seconds = elapsedMs(started) / 1000;
        const rate = processed / seconds;
        const running = metrics.running;
        options.onProgress({
          done: done.size + processed, total: items.length, scored: running.scored, correctTop1: running.correctTop1,
          imagesPerSecond: rate, etaSeconds: rate > 0 ? (todo.length - processed) / rate : Infinity,
        });
      }
    }
    if (options.signal?.aborted && processed < todo.length) interrupted = true;
  } finally {
    await pool?.close();
    await writer?.close();
  }
  timing.wallMs = elapsedMs(started);
  timing.imagesPerSecond = processed ? processed / (timing.wallMs / 1000) : 0;
  if (options.confusion) writeFileAtomic(options.confusion, metrics.confusionCsv(classifier.labels));
  return {
    header, metrics: metrics.result(classifier.labels), timing, resumed: done.size, droppedTornLine,
    interrupted, remaining: todo.length - processed, accumulator: metrics,
  };
}
