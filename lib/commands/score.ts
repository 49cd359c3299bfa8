// `alexnet-cli score`: accuracy of a network on a labelled dataset (ImageFolder or a flat folder with
// a ground-truth file), with per-image predictions streamed to a file that --resume continues and
// `merge` combines across --shard runs.
import { existsSync, rmSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { CommandModule } from 'yargs';
import { checkNewOutput, WEIGHTS_HELP, withArchOption, withDeviceOption, withPrecisionOption, withThreadsOption } from './common.js';
import { writeFileAtomic } from '../atomic-write.js';
import { usageError } from '../errors.js';
import { formatBytes } from '../format.js';
import { status } from '../status.js';

export interface ScoreArgs {
  dataset: string;
  precision?: 'fp32' | 'bf16' | 'int8';
  'ground-truth'?: string;
  labels?: string;
  weights?: string;
  arch?: string;
  'num-classes'?: number;
  batch: number;
  workers?: number;
  top: number;
  out?: string;
  limit?: number;
  shard?: string;
  resume: boolean;
  force: boolean;
  json: boolean;
  confusion?: string;
  'exif-orientation': boolean;
  progress?: boolean;
  device: string;
  threads?: number;
}

function positiveInteger(value: number | undefined, name: string): void {
  if (value !== undefined && (!Number.isInteger(value) || value < 1)) throw usageError(`Expected a positive integer for --${name} but received ${value}`);
}

export async function scoreHandler(argv: ScoreArgs): Promise<void> {
  positiveInteger(argv.batch, 'batch');
  positiveInteger(argv.workers, 'workers');
  positiveInteger(argv.top, 'top');
  positiveInteger(argv['num-classes'], 'num-classes');
  if (argv.limit !== undefined && (!Number.isInteger(argv.limit) || argv.limit < 0)) throw usageError(`Expected a non-negative integer for --limit but received ${argv.limit}`);
  const { readDataset, ClassResolver } = await import('../score/dataset.js');
  const { chooseShard, describeShardChoice, expandOutPath } = await import('../score/scheduler.js');
  const { outputFormatFor } = await import('../score/records.js');
  // --shard, else the scheduler's array task (Slurm, Kubernetes Indexed Job), else 0/1
  const shardChoice = chooseShard(argv.shard);
  const shard = shardChoice.shard;
  const shardFrom = { ...shardChoice, text: describeShardChoice(shardChoice) };
  const out = argv.out !== undefined ? expandOutPath(argv.out, shard) : undefined;
  if (out) outputFormatFor(out);
  if (argv.resume && !out) throw usageError('Expected --out FILE with --resume but received no --out');
  // before the model loads (seconds): the one overwrite rule (checkNewOutput), which runScore checks again
  if (argv.force && argv.resume) throw usageError('Expected --force (start over) or --resume (continue) but received both');
  if (out && !argv.resume) {
    checkNewOutput(out, argv.force, '--resume to continue that run');
    if (argv.force) {
      const { metadataPath } = await import('../score/records.js');
      rmSync(out, { force: true });
      rmSync(metadataPath(out), { force: true });
    }
  }
  // what it waits for before the progress bar (reading the weights takes seconds), where the bar is drawn
  const showProgress = (argv.progress ?? process.stderr.isTTY === true) && !argv.json;
  const say = (line: string) => { if (showProgress) status(`alexnet-cli: ${line}`); };

  const { readLabels } = await import('../labels.js');
  const { buildReport, progressLine, renderReport } = await import('../score/report.js');
  const weights = await (await import('../weights/registry.js')).resolveWeightsArg(argv.weights);
  // a random head takes its size from --labels unless --num-classes says otherwise
  const numClasses = argv['num-classes'] ?? (argv.labels && weights.startsWith('random') ? readLabels(argv.labels).length : undefined);

  // a resubmitted array: a task whose output is complete reports it and exits without loading the network
  if (argv.resume && out) {
    const { findCompleteOutput } = await import('../score/complete.js');
    const complete = await findCompleteOutput({
      dataset: argv.dataset, groundTruth: argv['ground-truth'], weights, labels: argv.labels, arch: argv.arch, numClasses,
      top: argv.top, limit: argv.limit, exifOrientation: argv['exif-orientation'], shard, out,
    });
    if (complete) {
      const { MetricsAccumulator } = await import('../score/metrics.js');
      const { headerLabels } = await import('../score/records.js');
      const labels = headerLabels(complete.header);
      const accumulator = new MetricsAccumulator(complete.header.numClasses, complete.header.top);
      for (const r of complete.records) accumulator.add(r);
      if (argv.confusion) writeFileAtomic(argv.confusion, accumulator.confusionCsv(labels));
      process.stderr.write(`alexnet-cli: ${out} already holds all ${complete.header.count} images of shard ${shard.index}/${shard.count}; nothing to score\n`);
      const report = buildReport(complete.header, accumulator.result(labels), {
        shards: [shard], shardFrom, images: complete.header.count, resumed: complete.records.length,
        warnings: complete.dataset.warnings, ignored: complete.dataset.ignored, output: out, confusion: argv.confusion,
      });
      process.stdout.write(argv.json ? `${JSON.stringify(report)}\n` : renderReport(report));
      return;
    }
  }

  const { loadModel } = await import('../index.js');
  const { native } = await import('../native.js');
  const { runScore } = await import('../score/run.js');
  if (argv.threads !== undefined) native().setThreads(argv.threads);
  say(`loading the weights ${weights}${existsSync(weights) ? ` (${formatBytes(statSync(weights).size)})` : ''}`);
  const classifier = await loadModel({ weights, arch: argv.arch as never, numClasses, labels: argv.labels, device: argv.device, precision: argv.precision });
  try {
    say(`reading the dataset ${argv.dataset}`);
    const resolver = new ClassResolver(classifier.labels);
    const dataset = readDataset(argv.dataset, argv['ground-truth'], resolver, argv.labels ?? 'the ImageNet class list');
    for (const w of dataset.warnings) process.stderr.write(`alexnet-cli: warning: ${w}\n`);
    if (dataset.ignored.length && dataset.layout === 'image-folder') {
      const { listSome } = await import('../score/dataset.js');
      process.stderr.write(`alexnet-cli: warning: ${dataset.ignored.length} file${dataset.ignored.length > 1 ? 's are' : ' is'} not an image by extension (not scored): ${listSome(dataset.ignored)}\n`);
    }

    const abort = new AbortController();
    const onSigint = () => {
      if (abort.signal.aborted) process.exit(130); // a second Ctrl-C: now
      abort.abort();
      if (showProgress) process.stderr.write('\n');
      process.stderr.write('alexnet-cli: interrupted, finishing the batch in flight (Ctrl-C again to quit now)\n');
    };
    process.on('SIGINT', onSigint);
    let lastDraw = 0;
    const result = await runScore(dataset, classifier, {
      batch: argv.batch, workers: argv.workers ?? availableParallelism(), top: argv.top, out, limit: argv.limit, shard,
      resume: argv.resume, exifOrientation: argv['exif-orientation'], weights, labels: argv.labels, confusion: argv.confusion,
      signal: abort.signal,
      onProgress: showProgress
        ? (p) => {
          const now = Date.now();
          if (now - lastDraw < 200 && p.done < p.total) return;
          lastDraw = now;
          process.stderr.write(`\r${progressLine(p, process.stderr.columns ?? 80)}\x1b[K`);
        }
        : undefined,
    }).finally(() => process.off('SIGINT', onSigint));
    if (showProgress && lastDraw) process.stderr.write('\n');
    if (result.droppedTornLine) process.stderr.write(`alexnet-cli: warning: ${out}: dropped a torn last line (the previous run was killed while writing it); that image is scored again\n`);

    if (result.interrupted) {
      const done = result.header.count - result.remaining;
      process.stderr.write(`alexnet-cli: interrupted after ${done} of ${result.header.count} images`
        + `${out ? `; the predictions are in ${out}, continue with --resume` : ''}\n`);
      process.exitCode = 130;
      return;
    }
    const report = buildReport(result.header, result.metrics, {
      shards: [result.header.shard], shardFrom, images: result.header.count, resumed: result.resumed, timing: result.timing,
      warnings: dataset.warnings, ignored: dataset.ignored, output: out, confusion: argv.confusion,
    });
    process.stdout.write(argv.json ? `${JSON.stringify(report)}\n` : renderReport(report));
  } finally {
    classifier.dispose();
  }
}

export const scoreCommand: CommandModule<object, ScoreArgs> = {
  command: 'score <dataset>',
  describe: 'Accuracy on a labelled dataset (ImageFolder, or a flat folder with --ground-truth): top-1, top-5, per class',
  builder: (y) => withPrecisionOption(withThreadsOption(withDeviceOption(withArchOption(y))))
    .positional('dataset', { type: 'string', describe: 'ImageFolder (one sub-folder per class: WNID, class index or a name from --labels) or a flat folder with --ground-truth' })
    .option('ground-truth', { type: 'string', describe: 'labels of a flat folder: Kaggle LOC_val_solution.csv, BVLC val.txt ("file index") or a CSV "path,label"' })
    .option('labels', { type: 'string', describe: 'class names of the head (one per line, or our TSV); a random head takes its size from it' })
    .option('weights', { type: 'string', describe: `${WEIGHTS_HELP}; default: torchvision` })
    .option('num-classes', { type: 'number', describe: 'classes of the head for random weights' })
    .option('batch', { alias: ['b', 'batch-size'], type: 'number', default: 32, describe: 'images per forward pass' })
    .option('workers', { type: 'number', describe: 'decode/preprocess worker threads (default: the number of cores)' })
    .option('top', { alias: 'topk', type: 'number', default: 5, describe: 'predictions kept per image (top-5 accuracy needs 5)' })
    .option('out', { alias: 'o', type: 'string', describe: 'per-image predictions, appended and fsync\'d a batch at a time: FILE.jsonl or FILE.csv; {shard} in the name is replaced by the shard index' })
    .option('limit', { type: 'number', describe: 'only the first N images of the sorted dataset (before sharding)' })
    .option('shard', {
      type: 'string',
      describe: 'I/N: score the images (in UTF-8 byte order) at positions I, I+N, ...; combine with "merge". Default: from the scheduler '
        + '(SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT, SLURM_PROCID/SLURM_NTASKS in an srun step, JOB_COMPLETION_INDEX/ALEXNET_CLI_SHARD_COUNT), else 0/1',
    })
    .option('force', { type: 'boolean', default: false, describe: 'overwrite an existing --out file (and its .meta.json): start over' })
    .option('resume', { type: 'boolean', default: false, describe: 'continue an interrupted run from its --out file: nothing scored twice, nothing lost' })
    .option('confusion', { type: 'string', describe: 'write the confusion matrix (rows: true class, columns: predicted) as CSV' })
    .option('exif-orientation', {
      type: 'boolean', default: false,
      describe: 'rotate JPEGs by their EXIF Orientation tag; off by default, as torchvision\'s ImageFolder/PIL loader (the reference evaluation) does not',
    })
    .option('progress', { type: 'boolean', describe: 'progress bar on stderr (default: when stderr is a terminal and not --json)' })
    .option('json', { type: 'boolean', default: false, describe: 'print one JSON object' })
    .epilogue('Exit codes: 0 done, 1 bad input, 2 bad usage, 130 interrupted (Ctrl-C; continue with --resume).') as never,
  handler: scoreHandler,
};
