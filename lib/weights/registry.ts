// Named pretrained weights, as torchvision's weights enums (AlexNet_Weights.IMAGENET1K_V1): each entry's
// source file (URL, SHA-256, size: cache.ts PRETRAINED, the one owner of those), its preprocessing as
// `.transforms()`, and `.meta` with the categories and the accuracy its publisher reports. Also what
// `--weights NAME` means everywhere a weights file is accepted: the converted file in the cache.
import { existsSync } from 'node:fs';
import { AlexnetError } from '../errors.js';
import { imageTransforms, type ImageTransforms } from '../image/transforms.js';
import { defaultLabels } from '../labels.js';
import { PREPROCESS } from '../model/archs.js';
import type { Preprocess } from '../model/layers.js';
import { parseRandomSpec } from '../model/random.js';
import { DEFAULT_PRETRAINED, PRETRAINED, ensurePretrained, type EnsureOptions, type PretrainedWeights } from './cache.js';

export interface WeightsMeta {
  /** class names in output order (ImageNet-1k, data/imagenet-classes.tsv) */
  categories: string[];
  /** parameters of the network */
  numParams: number;
  /** the accuracy the publisher reports on ImageNet-1k validation, single centre crop, in percent */
  metrics: { 'ImageNet-1K': { 'acc@1': number; 'acc@5': number } };
  /** where that number comes from */
  metricsSource: string;
  /** the smallest input the network takes (height, width) */
  minSize: [number, number];
}

export interface WeightsEntry extends PretrainedWeights {
  /** other names for the entry (torchvision's enum member names) */
  aliases: string[];
  preprocess: Preprocess;
  meta: WeightsMeta;
  /** the preprocessing as one function: image -> float32 [3, H, W] */
  transforms(): ImageTransforms;
}

function entry(weights: PretrainedWeights, rest: { aliases: string[]; preprocess: Preprocess; meta: Omit<WeightsMeta, 'categories'> }): WeightsEntry {
  const categories = defaultLabels(1000).map((l) => l.label);
  return { ...weights, ...rest, meta: { ...rest.meta, categories }, transforms: () => imageTransforms(rest.preprocess) };
}

export const WEIGHTS: Readonly<Record<string, WeightsEntry>> = Object.freeze({
  torchvision: entry(PRETRAINED.torchvision, {
    // torchvision's own names: AlexNet_Weights.IMAGENET1K_V1, and DEFAULT which points to it
    aliases: ['IMAGENET1K_V1', 'DEFAULT', 'AlexNet_Weights.IMAGENET1K_V1', 'AlexNet_Weights.DEFAULT'],
    preprocess: PREPROCESS.torchvision,
    meta: {
      // torchvision 0.14 models/alexnet.py, AlexNet_Weights.IMAGENET1K_V1.meta
      numParams: 61_100_840,
      metrics: { 'ImageNet-1K': { 'acc@1': 56.522, 'acc@5': 79.066 } },
      metricsSource: 'torchvision AlexNet_Weights.IMAGENET1K_V1.meta["_metrics"]',
      minSize: [63, 63],
    },
  }),
  bvlc: entry(PRETRAINED.bvlc, {
    aliases: [],
    preprocess: PREPROCESS['bvlc-zoo'],
    meta: {
      // BVLC caffe models/bvlc_alexnet/readme.md (the model the ONNX zoo converted): iteration 360,000 snapshot
      numParams: 60_965_224,
      metrics: { 'ImageNet-1K': { 'acc@1': 57.1, 'acc@5': 80.2 } },
      metricsSource: 'BVLC models/bvlc_alexnet/readme.md, centre crop',
      minSize: [224, 224],
    },
  }),
});

/** every name --weights takes for pretrained weights, entries then their aliases */
export function weightsNames(): string[] {
  return Object.values(WEIGHTS).flatMap((w) => [w.name, ...w.aliases]);
}

/** the entry `name` (an entry's name or alias, case as written), or undefined */
export function findWeights(name: string): WeightsEntry | undefined {
  return Object.values(WEIGHTS).find((w) => w.name === name || w.aliases.includes(name));
}

/** the entry `name`, or ERR_INVALID_ARG_VALUE listing the valid names */
export function getWeights(name: string): WeightsEntry {
  const found = findWeights(name);
  if (!found) throw new AlexnetError(`Expected one of ${weightsNames().join(', ')} for pretrained weights but received ${name}`, 'ERR_INVALID_ARG_VALUE');
  return found;
}

/** what a bare word looks like when it is meant as a name, not a file: no path separator, no extension */
const looksLikeName = (arg: string): boolean => /^[A-Za-z][\w.-]*$/.test(arg) && !/\.\w{2,}$/.test(arg.replace(/^AlexNet_Weights\./, ''));

/**
 * What `--weights ARG` (or the library's `weights`) refers to: a registry name or alias -> the converted
 * file in the cache (downloaded, verified and converted on first use); undefined -> the default
 * (torchvision); a file path or random[:SEED] as it is. A word that is neither a name nor an existing
 * file is an error listing the names.
 */
export async function resolveWeightsArg(arg: string | undefined, options: EnsureOptions = {}): Promise<string> {
  if (arg === undefined) return ensurePretrained(DEFAULT_PRETRAINED, options);
  const named = findWeights(arg);
  if (named) return ensurePretrained(named.name, options);
  if (parseRandomSpec(arg) === undefined && looksLikeName(arg) && !existsSync(arg)) {
    throw new AlexnetError(`Expected a weights file, random[:SEED] or one of ${weightsNames().join(', ')} for --weights but received ${arg} (no such file or name)`, 'ERR_INVALID_ARG_VALUE');
  }
  return arg;
}
