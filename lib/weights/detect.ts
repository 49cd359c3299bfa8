// Which architecture a set of canonical tensors belongs to, and whether they fit an architecture.
import { buildArchitecture, ARCH_NAMES } from '../model/archs.js';
import type { ArchName, Architecture } from '../model/layers.js';
import { checkWeights, parameterShapes } from '../model/shapes.js';
import type { WeightSet } from './types.js';
import { weightsError } from './types.js';

export { checkWeights, parameterShapes };

/** The tensor shapes that tell the three architectures apart (lib/model/archs.ts) */
export const ARCH_SIGNATURES: Record<ArchName, Record<string, number[]>> = {
  seed: { 'conv1.weight': [96, 3, 11, 11], 'conv2.weight': [256, 96, 5, 5] },
  caffe: { 'conv1.weight': [96, 3, 11, 11], 'conv2.weight': [256, 48, 5, 5] },
  torchvision: { 'conv1.weight': [64, 3, 11, 11], 'conv2.weight': [192, 64, 5, 5] },
};

import { sameShape, shapeText } from '../model/shapes.js';

/** Classes of the head: rows of fc8 */
export function numClassesOf(set: WeightSet): number | undefined {
  return set.tensors.get('fc8.weight')?.shape[0] ?? set.tensors.get('fc8.bias')?.shape[0];
}

/** The architecture the tensors belong to: the file's own (ONNX), else the one whose signature they match */
export function detectArchitecture(set: WeightSet): Architecture {
  if (set.arch) return set.arch;
  const found = (name: string) => set.tensors.get(name)?.shape;
  for (const name of ARCH_NAMES) {
    const signature = ARCH_SIGNATURES[name];
    if (Object.entries(signature).every(([tensor, shape]) => sameShape(found(tensor), shape))) {
      const arch = buildArchitecture(name, numClassesOf(set) ?? 1000);
      checkWeights(arch, set);
      return arch;
    }
  }
  const expected = ARCH_NAMES.map((name) => `${name} (${Object.entries(ARCH_SIGNATURES[name]).map(([t, s]) => `${t} ${shapeText(s)}`).join(', ')})`).join('; ');
  throw weightsError(set.path, `expected the tensors of one of ${expected} but found conv1.weight ${shapeText(found('conv1.weight'))}, conv2.weight ${shapeText(found('conv2.weight'))}`);
}
