// What quantize reads: the fp32 parameters of a weights file (or random:SEED) and the calibration images.
import { AlexnetError, usageError } from '../errors.js';
import { expandInputs } from '../image/inputs.js';
import { inputSize, loadInputs } from '../image/preprocess.js';
import type { ArchName, Architecture, Preprocess } from '../model/layers.js';
import { loadWeightsAndModel } from '../model/load.js';
import { parseRandomSpec } from '../model/random.js';
import { readWeights } from '../weights/index.js';
import { resolveWeights } from '../weights/resolve.js';
import { tensorValues } from '../weights/safetensors.js';
import { checkFiniteValues } from './file.js';

export interface Fp32Source {
  arch: Architecture;
  preprocess: Preprocess;
  params: Map<string, Float32Array>;
  /** bytes of the fp32 parameters */
  bytes: number;
}

export async function readFp32Params(weights: string, options: { arch?: ArchName; numClasses?: number } = {}): Promise<Fp32Source> {
  const params = new Map<string, Float32Array>();
  let arch: Architecture;
  let preprocess: Preprocess;
  if (parseRandomSpec(weights) !== undefined) {
    const loaded = await loadWeightsAndModel({ weights, arch: options.arch, numClasses: options.numClasses, winograd: false });
    arch = loaded.model.arch;
    preprocess = loaded.preprocess;
    for (const [name, t] of loaded.model.parameters()) params.set(name, t.data);
    loaded.model.dispose();
  } else {
    const set = await readWeights(weights);
    ({ arch, preprocess } = resolveWeights(set, { arch: options.arch }));
    for (const spec of arch.layers) {
      for (const kind of ['weight', 'bias']) {
        const t = set.tensors.get(`${spec.name}.${kind}`);
        if (!t) continue;
        const values = tensorValues(t);
        // what loading these weights would refuse (a NaN weight would quantize to 0 without a word)
        checkFiniteValues(set.path, `${spec.name}.${kind}`, t.shape, values);
        params.set(`${spec.name}.${kind}`, values);
      }
    }
  }
  let bytes = 0;
  for (const p of params.values()) bytes += p.byteLength;
  return { arch, preprocess, params, bytes };
}

/**
 * The calibration images: a folder's images, a glob, image files or .npy tensors ([3,H,W] or [N,3,H,W]),
 * preprocessed as the model's. With `count`, that many taken evenly over the sorted list (a folder sorted by
 * class gives every class its share), not the first `count`.
 */
export async function loadCalibrationImages(source: string, preprocess: Preprocess, arch: Architecture, count?: number): Promise<{ images: Float32Array[]; available: number }> {
  const expanded = await expandInputs([source]);
  const failed = expanded.find((e) => e.error);
  if (failed) throw failed.error!;
  const items = await loadInputs(expanded.flatMap((e) => e.paths), preprocess);
  const [height, width] = inputSize(preprocess);
  const want = [arch.input[0], arch.input[1], arch.input[2]];
  for (const item of items) {
    if (item.shape.join() !== want.join()) {
      throw new AlexnetError(`${item.name}: expected a calibration input of shape [${want.join(',')}] for ${arch.name} but found [${item.shape.join(',')}] (preprocessed ${height}x${width})`, 'ERR_SHAPE');
    }
  }
  if (count !== undefined && (!Number.isInteger(count) || count < 1)) throw usageError(`Expected a positive integer for --images but received ${count}`);
  const n = Math.min(count ?? items.length, items.length);
  const images = Array.from({ length: n }, (_, i) => items[Math.floor(i * items.length / n)].data);
  return { images, available: items.length };
}
