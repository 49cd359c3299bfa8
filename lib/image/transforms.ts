// A weight set's preprocessing as one function, as torchvision's `weights.transforms()` gives it:
// any image input (a path, encoded bytes, raw pixels) to the float32 [3, H, W] tensor the network takes.
import type { Preprocess } from '../model/layers.js';
import type { DecodeOptions } from './decode.js';
import type { ImageInput } from './input.js';
import { inputSize, loadImageTensor } from './preprocess.js';

export interface ImageTransforms {
  /** the tensor of one image: float32, [3, H, W] = outputShape, channels-first */
  (input: ImageInput): Promise<Float32Array>;
  /** the steps: resize, crop, range, mean, std, channel order */
  readonly preprocess: Preprocess;
  readonly outputShape: [number, number, number];
}

export function imageTransforms(preprocess: Preprocess, options: DecodeOptions = {}): ImageTransforms {
  const transform = (input: ImageInput) => loadImageTensor(input, preprocess, options);
  return Object.assign(transform, { preprocess, outputShape: [3, ...inputSize(preprocess)] as [number, number, number] });
}
