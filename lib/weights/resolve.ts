// Which architecture, classes and preprocessing a weight set has: the one owner of that question, used by
// loading (model/load.ts), `info`, `convert` and the pretrained weights in the cache.
import { buildArchitecture, isArchName, ARCH_NAMES } from '../model/archs.js';
import type { Architecture } from '../model/layers.js';
import { usageError } from '../errors.js';
import { checkWeights, detectArchitecture } from './detect.js';
import type { WeightSet } from './types.js';

/** The architecture stored with the weights (safetensors metadata written by convert) */
function archFromMetadata(set: WeightSet): Architecture | undefined {
  const m = set.metadata;
  if (m.architecture) return JSON.parse(m.architecture) as Architecture;
  if (m.arch && isArchName(m.arch)) return buildArchitecture(m.arch, m.numClasses ? Number(m.numClasses) : 1000);
  return undefined;
}

/** The set's architecture: --arch, the file's own, its metadata, else detected from tensor shapes */
export function resolveArchitecture(set: WeightSet, archName?: string): Architecture {
  if (archName !== undefined) {
    if (!isArchName(archName)) throw usageError(`Expected one of ${ARCH_NAMES.join(', ')} for --arch but received ${archName}`);
    const arch = buildArchitecture(archName, set.tensors.get('fc8.weight')?.shape[0] ?? 1000);
    checkWeights(arch, set);
    return arch;
  }
  const arch = set.arch ?? archFromMetadata(set);
  if (arch) {
    checkWeights(arch, set);
    return arch;
  }
  return detectArchitecture(set);
}
