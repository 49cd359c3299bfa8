// `alexnet-cli classify`: top-K ImageNet labels for images or preprocessed tensors.
import type { CommandModule } from 'yargs';
import type { Preprocess } from '../model/layers.js';
import { withArchOption, withDeviceOption, withThreadsOption } from './common.js';
import { usageError } from '../errors.js';

interface ClassifyArgs {
  inputs: string[];
  weights?: string;
  arch?: string;
  top: number;
  json: boolean;
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
    if (p.std.some((v) => v === 0)) throw usageError(`Expected non-zero values for --std but received ${argv.std}`);
  }
  if (argv.bgr !== undefined) p.bgr = argv.bgr;
  return p;
}

export const classifyCommand: CommandModule<object, ClassifyArgs> = {
  command: 'classify <inputs..>',
  describe: 'Classify images (JPEG, PNG) or preprocessed .npy tensors',
  builder: (y) => withThreadsOption(withDeviceOption(withArchOption(y)))
    .positional('inputs', { type: 'string', array: true, describe: 'image files or .npy float32 tensors [3,H,W] / [N,3,H,W]' })
    .option('weights', { type: 'string', describe: 'weights file (.safetensors, .pth, .onnx, .caffemodel, .h5, .keras, .npz) or random[:SEED]; default: pretrained torchvision weights from the cache' })
    .option('top', { alias: 'topk', type: 'number', default: 5, describe: 'how many classes to show' })
    .option('json', { type: 'boolean', default: false, describe: 'print one JSON array' })
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
    // heavy modules (the addon, decoders, weight readers) load only when a command needs them
    const { loadModel } = await import('../index.js');
    const { native } = await import('../native.js');
    if (argv.threads !== undefined) native().setThreads(argv.threads);
    const weights = argv.weights ?? await (await import('../weights/cache.js')).defaultWeightsPath();
    const { statSync } = await import('node:fs');
    const winograd = countImages(argv.inputs, (path) => statSync(path).size) >= WINOGRAD_MIN_IMAGES;
    const classifier = await loadModel({
      weights, arch: argv.arch as never, numClasses: argv['num-classes'], labels: argv.labels, device: argv.device, winograd,
    });
    const preprocess = overridePreprocess(classifier.preprocess, argv);
    const results = await classifier.classify(argv.inputs, { top: argv.top, preprocess, batch: argv.batch });
    if (argv.json) {
      process.stdout.write(`${JSON.stringify(results)}\n`);
      return;
    }
    const lines: string[] = [];
    for (const r of results) {
      lines.push(r.input);
      r.predictions.forEach((p, i) => {
        lines.push(`  ${String(i + 1).padStart(2)}. ${(100 * p.probability).toFixed(2).padStart(6)}%  ${p.label}${p.wnid ? ` (${p.wnid})` : ''}`);
      });
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  },
};
