// Combining the outputs of `score --shard I/N` runs into the metrics of the whole dataset.
import { AlexnetError } from '../errors.js';
import { listSome } from './dataset.js';
import { MetricsAccumulator, type ScoreMetrics } from './metrics.js';
import { readOutput, type ScoreHeader } from './records.js';
import { COMPARED_FIELDS, headerMismatch } from './run.js';

export interface MergeResult {
  header: ScoreHeader;
  metrics: ScoreMetrics;
  accumulator: MetricsAccumulator;
  shards: { index: number; count: number }[];
  /** images in the merged outputs */
  images: number;
  /** what is incomplete (missing shards, shards not run to the end): the metrics cover less than the dataset */
  warnings: string[];
}

export function mergeOutputs(paths: string[], labels: { index: number; wnid: string; label: string }[] | ((header: ScoreHeader) => { index: number; wnid: string; label: string }[])): MergeResult {
  if (paths.length === 0) throw new AlexnetError('Expected at least one score output for OUT but received none', 'ERR_USAGE');
  const outputs = paths.map((path) => {
    const contents = readOutput(path);
    if (!contents.header) throw new AlexnetError(`${path}: expected an alexnet-cli score output but the file is empty`);
    return { path, ...contents, header: contents.header };
  });
  const first = outputs[0];
  const byShard = new Map<number, string>();
  for (const o of outputs) {
    const mismatch = headerMismatch(first.header, o.header, ['weights', ...COMPARED_FIELDS]);
    if (mismatch) throw new AlexnetError(`${o.path}: expected the same configuration as ${first.path} but found ${mismatch.replace('where this run has', `where ${first.path} has`)}`);
    if (o.header.shard.count !== first.header.shard.count) {
      throw new AlexnetError(`${o.path}: expected a shard of ${first.header.shard.count} (as ${first.path}) but found shard ${o.header.shard.index}/${o.header.shard.count}`);
    }
    const other = byShard.get(o.header.shard.index);
    if (other !== undefined) throw new AlexnetError(`${o.path}: expected distinct shards but it holds shard ${o.header.shard.index}/${o.header.shard.count}, as ${other} does`);
    byShard.set(o.header.shard.index, o.path);
  }
  const header = first.header;
  const accumulator = new MetricsAccumulator(header.numClasses, header.top);
  const seen = new Map<string, string>();
  const warnings: string[] = [];
  let images = 0;
  for (const o of outputs) {
    for (const r of o.records) {
      const other = seen.get(r.path);
      if (other !== undefined) throw new AlexnetError(`${o.path}: expected each image in one output only but found ${r.path} in ${other === o.path ? 'it twice' : `${other} too`}`);
      seen.set(r.path, o.path);
      accumulator.add(r);
    }
    images += o.records.length;
    if (o.records.length < o.header.count) {
      warnings.push(`${o.path} holds ${o.records.length} of the ${o.header.count} images of shard ${o.header.shard.index}/${o.header.shard.count} (run it again with --resume)`);
    }
  }
  const missing: number[] = [];
  for (let i = 0; i < header.shard.count; i++) if (!byShard.has(i)) missing.push(i);
  if (missing.length) warnings.push(`shard${missing.length > 1 ? 's' : ''} ${listSome(missing.map((i) => `${i}/${header.shard.count}`))} missing: the metrics cover ${images} of ${header.datasetSize} images`);
  const shards = [...byShard.keys()].sort((a, b) => a - b).map((index) => ({ index, count: header.shard.count }));
  const classLabels = typeof labels === 'function' ? labels(header) : labels;
  return { header, metrics: accumulator.result(classLabels), accumulator, shards, images, warnings };
}
