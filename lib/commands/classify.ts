// `alexnet-cli classify`: top-K ImageNet labels for images or preprocessed tensors.
import type { CommandModule } from 'yargs';
import type { Classification, ClassificationFailure } from '../classifier.js';
import type { Preprocess } from '../model/layers.js';
import { checkNewOutput, WEIGHTS_HELP, withArchOption, withDeviceOption, withPrecisionOption, withThreadsOption } from './common.js';
import { writeFileAtomic } from '../atomic-write.js';
import { usageError } from '../errors.js';

const RESULTS_FORMATS = ['text', 'json', 'csv'] as const;
type ResultsFormat = (typeof RESULTS_FORMATS)[number];
type Result = Classification | ClassificationFailure;

interface ClassifyArgs {
  inputs: string[];
  weights?: string;
  arch?: string;
  top: number;
  json: boolean;
  format?: ResultsFormat;
  output?: string;
  force: boolean;
  recursive: boolean;
  verbose?: boolean;
  labels?: string;
  resize?: string;
  crop?: string;
  mean?: string;
  std?: string;
  bgr?: boolean;
  'num-classes'?: number;
  device: string;
  threads?: number;
  batch: number;
  precision?: 'fp32' | 'bf16' | 'int8';
}

function parseNumbers(text: string, count: number, name: string): number[] {
  const values = text.split(',').map((s) => Number(s.trim()));
  if (values.length !== count || values.some((v) => !Number.isFinite(v))) {
    throw usageError(`Expected ${count} comma-separated numbers for --${name} but received ${text}`);
  }
  return values;
}

function parseSize(text: string, name: string): [number, number] {
  const parts = text.split(/[x,]/).map(Number);
  const ok = parts.every((v) => Number.isInteger(v) && v > 0);
  if (!ok || parts.length < 1 || parts.length > 2) throw usageError(`Expected N or HxW for --${name} but received ${text}`);
  return parts.length === 1 ? [parts[0], parts[0]] : [parts[0], parts[1]];
}

/**
 * Below this many images, classify keeps the convolutions' weights as they are instead of transforming
 * them into the Winograd domain at load: the transform costs about as much load time as it saves on ~8
 * forward passes at batch 1 (seed: +84 ms at load, -11 ms per image), and it takes ~56 MB (seed: peak RSS
 * classifying one image 290 MiB without it, 365 MiB with it). Measured with bench/rss.ts and docs/performance.md.
 */
export const WINOGRAD_MIN_IMAGES = 8;

/** Images the inputs hold: one per image file, N for an [N,3,H,W] .npy (from its size, at 224x224 or more) */
export function countImages(inputs: string[], statSize: (path: string) => number): number {
  let count = 0;
  for (const input of inputs) {
    if (!input.toLowerCase().endsWith('.npy')) count += 1;
    else {
      try {
        count += Math.max(1, Math.floor(statSize(input) / (4 * 3 * 224 * 224)));
      } catch {
        count += 1;  // the loader reports the unreadable file
      }
    }
  }
  return count;
}

/** The weights' preprocessing with each flag given overriding its part */
export function overridePreprocess(base: Preprocess, argv: Partial<ClassifyArgs>): Preprocess {
  const p: Preprocess = { ...base };
  if (argv.resize !== undefined) {
    // "256" keeps the mode (shorter side for torchvision/seed), "256x256" means an exact resize
    const exact = /[x,]/.test(argv.resize);
    p.resize = parseSize(argv.resize, 'resize');
    p.resizeMode = exact ? 'exact' : base.resizeMode;
  }
  if (argv.crop !== undefined) p.crop = argv.crop === 'none' ? null : parseSize(argv.crop, 'crop');
  if (argv.mean !== undefined) p.mean = parseNumbers(argv.mean, 3, 'mean') as [number, number, number];
  if (argv.std !== undefined) {
    p.std = parseNumbers(argv.std, 3, 'std') as [number, number, number];
    if (p.std.some((v) => !(v > 0))) throw usageError(`Expected values above 0 for --std but received ${argv.std}`);
  }
  if (argv.bgr !== undefined) p.bgr = argv.bgr;
  return p;
}

/** RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled */
function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * The results as text, JSON or CSV. CSV has one row per prediction (timm's inference.py writes
 * --results-format csv; a long table reads back with csv.DictReader / pandas without list cells), and
 * one row with `error` and `code` for an input that failed. Text leaves failures out: they go to stderr.
 */
export function formatResults(results: Result[], format: ResultsFormat): string {
  if (format === 'json') return `${JSON.stringify(results)}\n`;
  const lines: string[] = [];
  if (format === 'csv') {
    lines.push('input,rank,index,wnid,label,probability,error,code');
    for (const r of results) {
      if ('error' in r) lines.push([csvField(r.input), '', '', '', '', '', csvField(r.error), r.code].join(','));
      else {
        r.predictions.forEach((p, i) => lines.push([csvField(r.input), i + 1, p.index, p.wnid, csvField(p.label), p.probability, '', ''].join(',')));
      }
    }
  } else {
    for (const r of results) {
      if ('error' in r) continue;
      lines.push(r.input);
      r.predictions.forEach((p, i) => {
        lines.push(`  ${String(i + 1).padStart(2)}. ${(100 * p.probability).toFixed(2).padStart(6)}%  ${p.label}${p.wnid ? ` (${p.wnid})` : ''}`);
      });
    }
  }
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

/** --format, else --json, else the -o file's extension (.json, .csv), else text */
function resultsFormat(argv: ClassifyArgs): ResultsFormat {
  if (argv.format !== undefined) return argv.format;
  if (argv.json) return 'json';
  const ext = argv.output?.toLowerCase().match(/\.(json|csv)$/)?.[1];
  return (ext as ResultsFormat | undefined) ?? 'text';
}

export const classifyCommand: CommandModule<object, ClassifyArgs> = {
  command: 'classify <inputs..>',
  describe: 'Classify images (JPEG, PNG, WebP, BMP, GIF, TIFF), folders of them, quoted globs, - (standard input) or preprocessed .npy tensors',
  builder: (y) => withPrecisionOption(withThreadsOption(withDeviceOption(withArchOption(y))))
    .positional('inputs', { type: 'string', array: true, describe: 'image files, folders, quoted globs (\'photos/*.jpg\'), - for one image on standard input, or .npy float32 tensors [3,H,W] / [N,3,H,W]' })
    .option('weights', { type: 'string', describe: `${WEIGHTS_HELP}; default: torchvision` })
    .option('top', { alias: 'topk', type: 'number', default: 5, describe: 'how many classes to show' })
    .option('recursive', { alias: 'r', type: 'boolean', default: false, describe: 'take the images in sub-folders of folder inputs too' })
    .option('json', { type: 'boolean', default: false, describe: 'print one JSON array (--format json)' })
    .option('format', { alias: 'results-format', choices: RESULTS_FORMATS, describe: 'text, json or csv (default: from -o FILE\'s extension, else text)' })
    .option('output', { alias: 'o', type: 'string', describe: 'write the results to FILE instead of standard output' })
    .option('force', { type: 'boolean', default: false, describe: 'overwrite an existing -o FILE' })
    .option('labels', { type: 'string', describe: 'labels file for other heads' })
    .option('num-classes', { type: 'number', describe: 'classes of the head for random weights' })
    .option('resize', { type: 'string', describe: 'resize: N (shorter side) or HxW (exact)' })
    .option('crop', { type: 'string', describe: 'centre crop N or HxW, or none' })
    .option('mean', { type: 'string', describe: 'per-channel mean, R,G,B' })
    .option('std', { type: 'string', describe: 'per-channel std, R,G,B' })
    .option('bgr', { type: 'boolean', describe: 'feed channels in BGR order' })
    .option('batch', { alias: ['b', 'batch-size'], type: 'number', default: 32, describe: 'images per forward pass' }) as never,
  handler: async (argv) => {
    if (!Number.isInteger(argv.top) || argv.top < 1) throw usageError(`Expected a positive integer for --top but received ${argv.top}`);
    if (!Number.isInteger(argv.batch) || argv.batch < 1) throw usageError(`Expected a positive integer for --batch but received ${argv.batch}`);
    const format = resultsFormat(argv);
    if (argv.output !== undefined) checkNewOutput(argv.output, argv.force);
    const { expandInputs } = await import('../image/inputs.js');
    const { readStdin, STDIN_ARG } = await import('../image/input.js');
    const expanded = await expandInputs(argv.inputs.map((arg) => (arg === STDIN_ARG ? '-' : arg)), { recursive: argv.recursive });
    const paths = expanded.flatMap((e) => e.paths);
    if (paths.filter((path) => path === '-').length > 1) throw usageError('Expected - (standard input) once in the inputs but received it more than once');
    // `-` is one image read from standard input, whole, before the model loads (an empty or terminal stdin fails here)
    const stdin = paths.includes('-') ? await readStdin().then((data) => ({ name: '-', data }), (error: Error) => error) : undefined;
    // heavy modules (the addon, decoders, weight readers) load only when a command needs them
    const { loadModel } = await import('../index.js');
    const { native } = await import('../native.js');
    if (argv.threads !== undefined) native().setThreads(argv.threads);
    const weights = await (await import('../weights/registry.js')).resolveWeightsArg(argv.weights);
    const { statSync } = await import('node:fs');
    const winograd = countImages(paths, (path) => statSync(path).size) >= WINOGRAD_MIN_IMAGES;
    const classifier = await loadModel({
      weights, arch: argv.arch as never, numClasses: argv['num-classes'], labels: argv.labels, device: argv.device, winograd,
      precision: argv.precision,
    });
    const preprocess = overridePreprocess(classifier.preprocess, argv);
    const inputs = paths.map((path) => (path === '-' && stdin && !(stdin instanceof Error) ? stdin : path));
    let classified = paths.length > 0 ? await classifier.classifyEach(inputs, { top: argv.top, preprocess, batch: argv.batch }) : [];
    if (stdin instanceof Error) {
      classified = classified.map((r) => (r.input === '-' ? { input: '-', error: stdin.message, code: (stdin as NodeJS.ErrnoException).code ?? 'ERR_IMAGE' } : r));
    }
    // an argument that gave no files (an empty folder, a glob with no match) takes its place among the results
    let next = 0;
    const results: Result[] = expanded.flatMap((e): Result[] => {
      if (e.error) return [{ input: e.arg, error: e.error.message, code: e.error.code }];
      const mine: Result[] = [];
      for (const path of e.paths) {
        while (next < classified.length && (classified[next].input === path || classified[next].input.startsWith(`${path}#`))) mine.push(classified[next++]);
      }
      return mine;
    });
    const text = formatResults(results, format);
    if (argv.output !== undefined) writeFileAtomic(argv.output, text);
    else process.stdout.write(text);
    // the exit status says some failed; each failure is one line on stderr, as the one-input error would
    // be, unless it is in JSON or CSV on standard output already
    const failures = results.filter((r): r is ClassificationFailure => 'error' in r);
    if (format === 'text' || argv.output !== undefined) {
      for (const f of failures) {
        process.stderr.write(`alexnet-cli: ${f.error.replace(/\s*\n\s*/g, ' ')}\n`);
        if (argv.verbose && f.cause?.stack) process.stderr.write(`${f.cause.stack}\n`);
      }
    }
    if (failures.length > 0) process.exitCode = 1;
  },
};
