// The pretrained weights used when --weights is not given: torchvision's, converted once into the cache.
export async function defaultWeightsPath(): Promise<string> {
  const { ensurePretrained } = await import('../weights/cache.js');
  const { readWeights } = await import('../weights/index.js');
  const { writeSafetensors, tensorValues } = await import('../weights/safetensors.js');
  const { detectArchitecture } = await import('../weights/index.js');
  return ensurePretrained('torchvision', {
    convert: async (src: string, dst: string) => {
      const set = await readWeights(src);
      const arch = set.arch ?? detectArchitecture(set);
      const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
      for (const [name, t] of set.tensors) tensors.set(name, { shape: t.shape, data: tensorValues(t) });
      writeSafetensors(dst, tensors, {
        arch: arch.name, numClasses: String(arch.numClasses), preprocess: JSON.stringify(set.preprocess ?? arch.preprocess), source: set.format,
      });
    },
  });
}
