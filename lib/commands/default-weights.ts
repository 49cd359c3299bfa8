// The pretrained weights used when --weights is not given: torchvision's, converted once into the cache.
import type { Preprocess } from '../model/layers.js';

/** Any readable weights file -> native safetensors with architecture and preprocessing in __metadata__ */
export async function convertToSafetensors(src: string, dst: string, archName?: string): Promise<void> {
  const { readWeights, detectArchitecture } = await import('../weights/index.js');
  const { writeSafetensors, tensorValues } = await import('../weights/safetensors.js');
  const { buildArchitecture, isArchName } = await import('../model/archs.js');
  const set = await readWeights(src);
  const arch = set.arch ?? (archName && isArchName(archName)
    ? buildArchitecture(archName, set.tensors.get('fc8.bias')?.shape[0] ?? 1000)
    : detectArchitecture(set));
  const preprocess: Preprocess = set.preprocess ?? arch.preprocess;
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, t] of set.tensors) tensors.set(name, { shape: t.shape, data: tensorValues(t) });
  const metadata: Record<string, string> = {
    arch: arch.name, numClasses: String(arch.numClasses), preprocess: JSON.stringify(preprocess), source: set.format,
  };
  // a graph that is not one of the three named architectures travels whole
  if (!isArchName(arch.name)) metadata.architecture = JSON.stringify(arch);
  writeSafetensors(dst, tensors, metadata);
}

export async function defaultWeightsPath(): Promise<string> {
  const { ensurePretrained } = await import('../weights/cache.js');
  return ensurePretrained('torchvision', { convert: (src, dst) => convertToSafetensors(src, dst) });
}
