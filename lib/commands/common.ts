// The options and rules several sub-commands share. (The error type is lib/errors.ts, formatting lib/format.ts.)
import { statSync } from 'node:fs';
import type { Argv } from 'yargs';
import { usageError } from '../errors.js';

/**
 * The one rule for files a command writes (classify -o, convert, score --out, profile --trace/--html):
 * an existing non-empty file is kept unless --force says to replace it. `alternative` names another
 * way out (score: '--resume to continue that run').
 */
export function checkNewOutput(path: string, force: boolean | undefined, alternative?: string): void {
  if (force) return;
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return;
  }
  if (size === 0) return;
  throw usageError(`${path}: expected a new output file but it exists; pass --force to overwrite it${alternative ? `, ${alternative},` : ''} or remove the file`);
}

/**
 * What --weights takes, for every command's help: the registry's names are lib/weights/registry.ts WEIGHTS
 * (not imported here: --help should not load it)
 */
/** --name given as a number: an integer >= min (0 or 1), or a usage error */
export function checkInteger(value: number | undefined, name: string, min: number): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < min) {
    throw usageError(`Expected ${min === 0 ? 'a non-negative' : 'a positive'} integer for --${name} but received ${value}`);
  }
}

export const WEIGHTS_HELP = 'weights file (.safetensors, .pth, .onnx, .caffemodel, .h5, .keras, .npz), random[:SEED], '
  + 'or pretrained weights by name from the cache: torchvision (also IMAGENET1K_V1, DEFAULT) or bvlc';

export function withArchOption<T>(y: Argv<T>) {
  return y.option('arch', { type: 'string', choices: ['seed', 'caffe', 'torchvision'], describe: 'architecture (default: what the weights say, else seed)' });
}

export function withDeviceOption<T>(y: Argv<T>) {
  return y.option('device', { type: 'string', default: 'cpu', describe: 'where to run: cpu (cuda where built)' });
}

export function withThreadsOption<T>(y: Argv<T>) {
  return y.option('threads', { type: 'number', describe: 'CPU threads for the kernels (default: all cores)' });
}

/** --precision of the commands that run a model (classify, score, profile); bench takes a list (bench.ts) */
export function withPrecisionOption<T>(y: Argv<T>) {
  return y.option('precision', {
    type: 'string', choices: ['fp32', 'bf16', 'int8'],
    describe: 'arithmetic of the conv and linear layers on the CPU (default: int8 for a file written by quantize, else fp32; int8 without calibration quantizes activations per batch)',
  });
}
