// From what a user passes (--weights FILE | random[:SEED], --arch, --num-classes) to a loaded Model
// and the preprocessing that goes with its weights.
import { usageError } from '../errors.js';
import { buildArchitecture, isArchName, ARCH_NAMES } from './archs.js';
import type { ArchName, Architecture, Preprocess } from './layers.js';
import { Model } from './model.js';
import { parseRandomSpec } from './random.js';
import type { WeightSet } from '../weights/types.js';
import { readWeights } from '../weights/index.js';
import { resolveWeights } from '../weights/resolve.js';
import { PRECISIONS, resolveDevice, type Precision } from '../native.js';
import { META_PRECISION } from '../weights/safetensors.js';

export interface LoadOptions {
  /** architecture name or a full architecture; default: what the weights say, else 'seed' */
  arch?: ArchName | Architecture;
  /** a weights file, a WeightSet already read, or 'random' / 'random:SEED' */
  weights: string | WeightSet;
  /** classes of the head for random weights (files carry their own: fc8's rows) */
  numClasses?: number;
  device?: string;
  /** CPU: Winograd-domain conv weights at load (Model PackOptions; default true) */
  winograd?: boolean;
  /**
   * CPU: arithmetic of the conv and linear layers (Model PackOptions): default 'int8' for a quantized file
   * (`alexnet-cli quantize`: static, calibrated activation scales), else 'fp32'
   */
  precision?: Precision;
  /** CPU: bf16 / int8 convolutions too (Model PackOptions.lowpConvs; default: where the kernel set has the instructions) */
  lowpConvs?: boolean;
  /** forward passes that may run at once, each in its own activation arena (Model ModelCreateOptions; default 2) */
  concurrency?: number;
  /** CPU int8 with static scales: u8 activations between int8 layers (Model ModelCreateOptions.int8Chain; default true) */
  int8Chain?: boolean;
}

export interface LoadedModel {
  model: Model;
  /** the preprocessing stored with the weights, else the architecture's preset */
  preprocess: Preprocess;
  /** the source format ('random' for random weights) */
  format: string;
}

export function parseArchName(name: string): ArchName {
  if (!isArchName(name)) throw usageError(`Expected one of ${ARCH_NAMES.join(', ')} for --arch but received ${name}`);
  return name;
}

export async function loadWeightsAndModel(options: LoadOptions): Promise<LoadedModel> {
  if (options.precision !== undefined && !PRECISIONS.includes(options.precision)) {
    throw usageError(`Expected one of ${PRECISIONS.join(', ')} for precision but received ${options.precision}`);
  }
  const device = resolveDevice(options.device ?? 'cpu');
  const requested = typeof options.arch === 'string' ? parseArchName(options.arch) : options.arch;
  const modelOptions = {
    winograd: options.winograd, concurrency: options.concurrency, precision: options.precision, lowpConvs: options.lowpConvs,
    int8Chain: options.int8Chain,
  };
  if (typeof options.weights === 'string') {
    const seed = parseRandomSpec(options.weights);
    if (seed !== undefined) {
      const arch = typeof requested === 'object' ? requested : buildArchitecture(requested ?? 'seed', options.numClasses ?? 1000);
      return { model: await Model.random(arch, seed, device, modelOptions), preprocess: arch.preprocess, format: 'random' };
    }
  }
  const set = typeof options.weights === 'string' ? await readWeights(options.weights) : options.weights;
  const { arch, preprocess } = resolveWeights(set, { arch: requested });
  const precision = options.precision ?? (set.metadata[META_PRECISION] === 'int8' ? 'int8' : 'fp32');
  const model = await Model.fromWeights(arch, set, device, { ...modelOptions, precision });
  return { model, preprocess, format: set.format };
}
