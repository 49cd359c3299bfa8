// Whether a `score --resume` run has anything left to do, answered without loading the network
// (seconds for 233 MB of weights): when an array is submitted again, the tasks whose output is
// complete exit at once.
//
// "Complete" is decided on the same facts runScore checks before it resumes: the output's header
// names this shard, these weights (their SHA-256), this dataset (its listing's SHA-256, from the
// labels the output was scored with), --top, --limit, the EXIF choice, and --arch/--num-classes
// where given (else they follow from the weights); it holds each of the shard's images once and no
// torn line. Anything else, including an unreadable output or dataset, goes the ordinary way, which
// reports it.
import { existsSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { ClassResolver, datasetDigest, readDataset, shardItems, type Dataset, type Shard } from './dataset.js';
import { headerLabels, readOutput, type ScoreHeader, type ScoreRecord } from './records.js';
import { weightsDigest } from './run.js';

export interface CompleteCheck {
  dataset: string;
  groundTruth?: string;
  weights: string;
  labels?: string;
  arch?: string;
  numClasses?: number;
  top: number;
  limit?: number;
  exifOrientation: boolean;
  shard: Shard;
  out: string;
}

export interface CompleteOutput {
  header: ScoreHeader;
  records: ScoreRecord[];
  dataset: Dataset;
}

export async function findCompleteOutput(check: CompleteCheck): Promise<CompleteOutput | undefined> {
  if (!existsSync(check.out)) return undefined;
  let contents;
  try {
    contents = readOutput(check.out);
  } catch {
    return undefined;
  }
  const { header, records } = contents;
  if (!header || contents.tornTail || records.length !== header.count) return undefined;
  if (header.shard.index !== check.shard.index || header.shard.count !== check.shard.count) return undefined;
  if (header.top !== check.top || header.limit !== (check.limit ?? null) || header.exifOrientation !== check.exifOrientation) return undefined;
  if (check.arch !== undefined && header.arch !== check.arch) return undefined;
  if (check.numClasses !== undefined && header.numClasses !== check.numClasses) return undefined;
  if (header.labels !== (check.labels ? resolvePath(check.labels) : null)) return undefined;
  if (new Set(records.map((r) => r.path)).size !== records.length) return undefined;
  const weightsSha256 = await weightsDigest(check.weights).catch(() => undefined);
  if (weightsSha256 === undefined || (weightsSha256 ?? check.weights) !== (header.weightsSha256 ?? header.weights)) return undefined;
  let dataset: Dataset;
  try {
    const resolver = new ClassResolver(headerLabels(header));
    dataset = readDataset(check.dataset, check.groundTruth, resolver, check.labels ?? 'the ImageNet class list');
  } catch {
    return undefined;
  }
  const size = check.limit !== undefined ? Math.min(check.limit, dataset.items.length) : dataset.items.length;
  if (size !== header.datasetSize || datasetDigest(dataset.items.slice(0, size)) !== header.datasetSha256) return undefined;
  if (dataset.layout !== header.layout) return undefined;
  const expected = new Map(shardItems(dataset.items.slice(0, size), check.shard).map((it) => [it.path, it.label]));
  if (expected.size !== records.length || records.some((r) => expected.get(r.path) !== r.label)) return undefined;
  return { header, records, dataset };
}
