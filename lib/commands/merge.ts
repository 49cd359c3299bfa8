// `alexnet-cli merge`: the metrics of a whole dataset from the outputs of `score --shard I/N` runs.
import { existsSync, writeFileSync } from 'node:fs';
import type { CommandModule } from 'yargs';

export interface MergeArgs {
  outputs: string[];
  labels?: string;
  json: boolean;
  confusion?: string;
}

export async function mergeHandler(argv: MergeArgs): Promise<void> {
  const { mergeOutputs } = await import('../score/merge.js');
  const { buildReport, renderReport } = await import('../score/report.js');
  const { readLabels } = await import('../labels.js');
  const classLabels = (numClasses: number, file: string | null) => {
    if (argv.labels) return readLabels(argv.labels);
    if (file && existsSync(file)) return readLabels(file);
    if (numClasses === 1000) return readLabels();
    return Array.from({ length: numClasses }, (_, i) => ({ index: i, wnid: '', label: `class ${i}` }));
  };
  const result = mergeOutputs(argv.outputs, (header) => classLabels(header.numClasses, header.labels));
  for (const w of result.warnings) process.stderr.write(`alexnet-cli: warning: ${w}\n`);
  if (argv.confusion) writeFileSync(argv.confusion, result.accumulator.confusionCsv(classLabels(result.header.numClasses, result.header.labels)));
  const report = buildReport(result.header, result.metrics, {
    shards: result.shards, images: result.images, warnings: result.warnings, confusion: argv.confusion,
  });
  process.stdout.write(argv.json ? `${JSON.stringify(report)}\n` : renderReport(report));
}

export const mergeCommand: CommandModule<object, MergeArgs> = {
  command: 'merge <outputs..>',
  describe: 'Combine the --out files of "score --shard I/N" runs into the metrics of the whole dataset',
  builder: (y) => y
    .positional('outputs', { type: 'string', array: true, describe: 'score outputs (.jsonl or .csv), one per shard' })
    .option('labels', { type: 'string', describe: 'class names for the per-class table (default: the --labels the runs used)' })
    .option('confusion', { type: 'string', describe: 'write the confusion matrix (rows: true class, columns: predicted) as CSV' })
    .option('json', { type: 'boolean', default: false, describe: 'print one JSON object' }) as never,
  handler: mergeHandler,
};
