// `alexnet-cli merge`: the metrics (and, with --out, the per-image predictions) of a whole dataset
// from the outputs of `score --shard I/N` runs.
import type { CommandModule } from 'yargs';
import { writeFileAtomic } from '../atomic-write.js';
import { AlexnetError } from '../errors.js';

export interface MergeArgs {
  outputs: string[];
  labels?: string;
  json: boolean;
  confusion?: string;
  out?: string;
  complete: boolean;
}

export async function mergeHandler(argv: MergeArgs): Promise<void> {
  const { mergeOutputs, writeMerged } = await import('../score/merge.js');
  const { buildReport, renderReport } = await import('../score/report.js');
  const { headerLabels, outputFormatFor } = await import('../score/records.js');
  if (argv.out) outputFormatFor(argv.out);
  const result = mergeOutputs(argv.outputs, (header) => headerLabels(header, argv.labels));
  for (const w of result.warnings) process.stderr.write(`alexnet-cli: warning: ${w}\n`);
  if (argv.complete && result.warnings.length) {
    throw new AlexnetError(`Expected every shard complete (--complete) but found ${result.warnings.join('; ')}; submit the array again (tasks whose output is complete exit at once), then merge`);
  }
  if (argv.out) await writeMerged(argv.out, result);
  if (argv.confusion) writeFileAtomic(argv.confusion, result.accumulator.confusionCsv(headerLabels(result.header, argv.labels)));
  const report = buildReport(result.header, result.metrics, {
    shards: result.shards, images: result.images, warnings: result.warnings, confusion: argv.confusion, output: argv.out,
    missingShards: result.missingShards, incompleteShards: result.incompleteShards, missingImages: result.missingImages,
  });
  process.stdout.write(argv.json ? `${JSON.stringify(report)}\n` : renderReport(report));
}

export const mergeCommand: CommandModule<object, MergeArgs> = {
  command: 'merge <outputs..>',
  describe: 'Combine the --out files of "score --shard I/N" runs into the metrics (and predictions) of the whole dataset',
  builder: (y) => y
    .positional('outputs', { type: 'string', array: true, describe: 'score outputs (.jsonl or .csv), one per shard' })
    .option('labels', { type: 'string', describe: 'class names for the per-class table (default: the --labels the runs used)' })
    .option('out', { type: 'string', describe: 'write the merged predictions, as one unsharded run writes them: FILE.jsonl or FILE.csv' })
    .option('complete', { type: 'boolean', default: false, describe: 'exit 1 unless every shard is there with all its images' })
    .option('confusion', { type: 'string', describe: 'write the confusion matrix (rows: true class, columns: predicted) as CSV' })
    .option('json', { type: 'boolean', default: false, describe: 'print one JSON object' }) as never,
  handler: mergeHandler,
};
