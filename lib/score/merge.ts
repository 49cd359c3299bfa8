// Combining the outputs of `score --shard I/N` runs into the metrics and the predictions of the
// whole dataset: the same numbers and the same per-image lines as one unsharded run.
import { type StagedFile, stageFile } from '../atomic-write.js';
import { AlexnetError } from '../errors.js';
import type { ClassLabel } from '../labels.js';
import { compareBytes, listSome } from './dataset.js';
import { MetricsAccumulator, type ScoreMetrics } from './metrics.js';
import { formatHeader, formatMetadata, formatRecord, metadataPath, outputFormatFor, readOutput, type ScoreHeader, type ScoreRecord } from './records.js';
import { COMPARED_FIELDS, headerMismatch } from './run.js';

export interface IncompleteShard {
  index: number;
  path: string;
  /** images in the output */
  images: number;
  /** images of the shard */
  expected: number;
}

export interface MergeResult {
  /** the header of the whole run: that of the first output, as shard 0/1 of datasetSize images */
  header: ScoreHeader;
  metrics: ScoreMetrics;
  accumulator: MetricsAccumulator;
  shards: { index: number; count: number }[];
  /** images in the merged outputs */
  images: number;
  /** every record, in the dataset's order (UTF-8 byte order of the paths), as an unsharded run writes them */
  records: ScoreRecord[];
  missingShards: number[];
  /** outputs that hold fewer images than their shard (a task that stopped: run it again with --resume) */
  incompleteShards: IncompleteShard[];
  /** images of the dataset in no output: datasetSize - images */
  missingImages: number;
  /** what is missing, one line each: the metrics cover less than the dataset */
  warnings: string[];
}

export function mergeOutputs(paths: string[], labels: ClassLabel[] | ((header: ScoreHeader) => ClassLabel[])): MergeResult {
  if (paths.length === 0) throw new AlexnetError('Expected at least one score output for OUT but received none', 'ERR_USAGE');
  const outputs = paths.map((path) => {
    const contents = readOutput(path);
    if (!contents.header) throw new AlexnetError(`${path}: expected an alexnet-cli score output but the file is empty`);
    return { path, ...contents, header: contents.header };
  });
  const first = outputs[0];
  // refused: outputs of another dataset, weights, preprocessing or shard count
  for (const o of outputs) {
    const mismatch = headerMismatch(first.header, o.header, COMPARED_FIELDS);
    if (mismatch) throw new AlexnetError(`${o.path}: expected the same configuration as ${first.path} but found ${mismatch.replace('where this run has', `where ${first.path} has`)}`);
    if (o.header.shard.count !== first.header.shard.count) {
      throw new AlexnetError(`${o.path}: expected a shard of ${first.header.shard.count} (as ${first.path}) but found shard ${o.header.shard.index}/${o.header.shard.count}`);
    }
  }
  // refused: the same shard twice (all of them named), the same image twice
  const byShard = new Map<number, string>();
  const twice: string[] = [];
  for (const o of outputs) {
    const other = byShard.get(o.header.shard.index);
    if (other !== undefined) twice.push(`${o.path}: expected distinct shards but it holds shard ${o.header.shard.index}/${o.header.shard.count}, as ${other} does`);
    else byShard.set(o.header.shard.index, o.path);
  }
  if (twice.length) throw new AlexnetError(twice.join('; '));
  const seen = new Map<string, string>();
  const doubled: string[] = [];
  let firstDoubled = '';
  for (const o of outputs) {
    for (const r of o.records) {
      const other = seen.get(r.path);
      if (other === undefined) {
        seen.set(r.path, o.path);
        continue;
      }
      firstDoubled ||= o.path;
      doubled.push(`${r.path} (${other === o.path ? 'twice in it' : `also in ${other}`})`);
    }
  }
  if (doubled.length) {
    throw new AlexnetError(`${firstDoubled}: expected each image in one output only but found ${doubled.length} image${doubled.length > 1 ? 's' : ''} twice: ${listSome(doubled)}`);
  }

  const header: ScoreHeader = { ...first.header, shard: { index: 0, count: 1 }, count: first.header.datasetSize };
  const accumulator = new MetricsAccumulator(header.numClasses, header.top);
  const records: ScoreRecord[] = [];
  const incompleteShards: IncompleteShard[] = [];
  for (const o of outputs) {
    for (const r of o.records) {
      accumulator.add(r);
      records.push(r);
    }
    if (o.records.length < o.header.count) {
      incompleteShards.push({ index: o.header.shard.index, path: o.path, images: o.records.length, expected: o.header.count });
    }
  }
  records.sort((a, b) => compareBytes(a.path, b.path));
  const count = first.header.shard.count;
  const missingShards: number[] = [];
  for (let i = 0; i < count; i++) if (!byShard.has(i)) missingShards.push(i);
  const missingImages = header.datasetSize - records.length;
  const warnings: string[] = [];
  for (const s of incompleteShards.sort((a, b) => a.index - b.index)) {
    warnings.push(`${s.path} holds ${s.images} of the ${s.expected} images of shard ${s.index}/${count} (run it again with --resume)`);
  }
  if (missingShards.length) warnings.push(`shard${missingShards.length > 1 ? 's' : ''} ${listSome(missingShards.map((i) => `${i}/${count}`), 10)} missing`);
  if (missingImages > 0) warnings.push(`the metrics cover ${records.length} of ${header.datasetSize} images (${missingImages} missing)`);
  const shards = [...byShard.keys()].sort((a, b) => a - b).map((index) => ({ index, count }));
  const classLabels = typeof labels === 'function' ? labels(first.header) : labels;
  return {
    header, metrics: accumulator.result(classLabels), accumulator, shards, images: records.length, records,
    missingShards, incompleteShards, missingImages, warnings,
  };
}

/**
 * Writes the merged predictions as one unsharded run would (same header but for its place, same
 * lines in the same order), to a temporary file renamed into place (lib/atomic-write.ts): a merge job
 * that is run again replaces the file whole, and one that fails leaves the previous file as it was.
 *
 * A CSV's header is beside it (records.ts metadataPath). Both files are written under temporary names
 * first; the table is renamed into place, then the header: a failure before the table's rename leaves
 * both files as they were. (After it, only the header's rename can fail: that error names the header file.)
 */
export async function writeMerged(path: string, result: MergeResult): Promise<void> {
  const format = outputFormatFor(path);
  const { header, records } = result;
  const staged: StagedFile[] = [];
  try {
    staged.push(stageFile(path, (write) => {
      write(Buffer.from(formatHeader(header, format), 'utf8'));
      for (let i = 0; i < records.length; i += 4096) {
        write(Buffer.from(records.slice(i, i + 4096).map((r) => formatRecord(r, format, header.top)).join(''), 'utf8'));
      }
    }));
    if (format === 'csv') staged.push(stageFile(metadataPath(path), formatMetadata(header)));
    for (const file of staged) file.commit();
  } finally {
    for (const file of staged) file.discard();
  }
}
