// From what a user passes (--weights FILE | random[:SEED], --arch, --num-classes) to a loaded Model
// and the preprocessing that goes with its weights.
import { usageError } from '../errors.js';
import { buildArchitecture, isArchName, ARCH_NAMES } from './archs.js';
import type { ArchName, Architecture, Preprocess } from './layers.js';
import { Model } from './model.js';
import { parseRandomSpec } from './random.js';
import type { WeightSet } from '../weights/types.js';
import { readWeights, detectArchitecture } from '../weights/index.js';
import { resolveDevice } from '../native.js';

export interface LoadOptions {
  /** architecture name or a full architecture; default: what the weights say, else 'seed' */
  arch?: ArchName | Architecture;
  /** a weights file, a WeightSet already read, or 'random' / 'random:SEED' */
  weights: string | WeightSet;
  /** classes of the head for random weights (files carry their own) */
  numClasses?: number;
  device?: string;
  /** CPU: Winograd-domain conv weights at load (Model PackOptions; default true) */
  winograd?: boolean;
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

function archFromMetadata(set: WeightSet): Architecture | undefined {
  const m = set.metadata;
  if (m.architecture) return JSON.parse(m.architecture) as Architecture;
  if (m.arch && isArchName(m.arch)) return buildArchitecture(m.arch, m.numClasses ? Number(m.numClasses) : 1000);
  return undefined;
}

export async function loadWeightsAndModel(options: LoadOptions): Promise<LoadedModel> {
  const device = resolveDevice(options.device ?? 'cpu');
  const requested = typeof options.arch === 'string' ? parseArchName(options.arch) : options.arch;
  if (typeof options.weights === 'string') {
    const seed = parseRandomSpec(options.weights);
    if (seed !== undefined) {
      const arch = typeof requested === 'object' ? requested : buildArchitecture(requested ?? 'seed', options.numClasses ?? 1000);
      return { model: await Model.random(arch, seed, device, { winograd: options.winograd }), preprocess: arch.preprocess, format: 'random' };
    }
  }
  const set = typeof options.weights === 'string' ? await readWeights(options.weights) : options.weights;
  let arch: Architecture;
  if (typeof requested === 'object') arch = requested;
  else if (requested) {
    const classes = set.tensors.get('fc8.bias')?.shape[0] ?? options.numClasses ?? 1000;
    arch = buildArchitecture(requested, classes);
  } else arch = set.arch ?? archFromMetadata(set) ?? detectArchitecture(set);
  let preprocess = set.preprocess ?? arch.preprocess;
  if (set.metadata.preprocess) preprocess = JSON.parse(set.metadata.preprocess) as Preprocess;
  const model = await Model.fromWeights(arch, set, device, { winograd: options.winograd });
  return { model, preprocess, format: set.format };
}
