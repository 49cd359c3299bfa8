// The public API of alexnet-cli.
import { Classifier } from './classifier.js';
import { loadWeightsAndModel, type LoadOptions } from './model/load.js';
import { readLabels } from './labels.js';

export interface ModelOptions extends Partial<LoadOptions> {
  /** a labels file for other heads (one label per line, or our TSV) */
  labels?: string;
}

/**
 * Load a network: `loadModel({ weights: 'alexnet.safetensors' })`, `loadModel({ arch: 'seed', weights: 'random:1' })`;
 * without `weights`, torchvision's pretrained weights from the cache (downloaded and converted on first use).
 */
export async function loadModel(options: ModelOptions = {}): Promise<Classifier> {
  // a name (torchvision, IMAGENET1K_V1, DEFAULT, bvlc) or nothing: the pretrained file from the cache
  const weights = typeof options.weights === 'object' ? options.weights : await (await import('./weights/registry.js')).resolveWeightsArg(options.weights);
  const loaded = await loadWeightsAndModel({ ...options, weights });
  const labels = options.labels ? readLabels(options.labels) : undefined;
  return new Classifier(loaded.model, loaded.preprocess, labels, loaded.format);
}

export { Classifier, isFailure, softmaxRows, topK } from './classifier.js';
export type { Classification, ClassificationFailure, Prediction } from './classifier.js';
export { Model } from './model/model.js';
export type { ForwardOptions, LayerTiming } from './model/model.js';
export { buildArchitecture, PREPROCESS, ARCH_NAMES } from './model/archs.js';
export { inferShapes } from './model/shapes.js';
export type { Architecture, ArchName, LayerSpec, Preprocess } from './model/layers.js';
export { readLabels } from './labels.js';
export { decodeImage } from './image/decode.js';
export type { DecodeOptions } from './image/decode.js';
export type { EncodedImage, ImageInput, RawPixels } from './image/input.js';
export { imageTransforms } from './image/transforms.js';
export type { ImageTransforms } from './image/transforms.js';
export { WEIGHTS, getWeights } from './weights/registry.js';
export type { WeightsEntry, WeightsMeta } from './weights/registry.js';
export type { WeightSet, WeightTensor } from './weights/types.js';
