// The pretrained weights used when --weights is not given: torchvision's, converted once into the cache.
import { convertWeights } from './convert.js';

export async function defaultWeightsPath(): Promise<string> {
  const { ensurePretrained } = await import('../weights/cache.js');
  return ensurePretrained('torchvision', { convert: async (src, dst) => { await convertWeights(src, dst); } });
}
