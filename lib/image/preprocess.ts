// Decoded image -> the network's input tensor, following a Preprocess preset (lib/model/archs.ts).
// For the torchvision preset this is Resize(256) + CenterCrop(224) + ToTensor + Normalize, computed
// in the same float32 steps torchvision takes, so a PNG gives the identical tensor and a JPEG
// differs only by the JPEG decoder's rounding.
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import type { Preprocess } from '../model/layers.js';
import { decodeImage, imageError, type DecodeOptions, type RgbImage } from './decode.js';
import { centerCrop, resizeBilinear, resizedSize } from './resize.js';
import { parseNpy, type NpyArray } from '../weights/npy.js';

/** [height, width] of the tensor a preset produces */
export function inputSize(p: Preprocess): [number, number] {
  return p.crop ? [p.crop[0], p.crop[1]] : [p.resize[0], p.resize[1]];
}

/** the resized and cropped RGB image, before conversion to float (what torchvision hands ToTensor) */
export function resizeAndCrop(image: RgbImage, p: Preprocess): RgbImage {
  const [height, width] = p.resizeMode === 'shorter'
    ? resizedSize(image.height, image.width, p.resize[0])
    : [p.resize[0], p.resize[1]];
  const resized = resizeBilinear(image, width, height);
  return p.crop ? centerCrop(resized, p.crop[0], p.crop[1]) : resized;
}

/** float32 [3, H, W] from an already resized and cropped image: ToTensor and Normalize (and BGR) only */
export function toTensor(image: RgbImage, p: Preprocess): Float32Array {
  const { width, height, data } = image;
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  const f = Math.fround;
  for (let c = 0; c < 3; c++) {
    const source = p.bgr ? 2 - c : c;
    // torchvision: ToTensor is img.float().div(255), Normalize is tensor.sub_(mean).div_(std)
    // with mean and std as float32 tensors: every step rounds to float32
    const mean = f(p.mean[source]);
    const std = f(p.std[source]);
    for (let i = 0; i < plane; i++) {
      const v = data[i * 3 + source];
      const x = p.range === 1 ? f(v / 255) : v;
      out[c * plane + i] = f(x - mean) / std;
    }
  }
  return out;
}

/** float32 [3, H, W]: resize, crop, then (pixel / 255 or pixel) minus mean, divided by std, RGB or BGR */
export function preprocess(image: RgbImage, p: Preprocess): Float32Array {
  return toTensor(resizeAndCrop(image, p), p);
}

export interface InputItem {
  /** the file, or `file#i` for the i-th tensor of a batched .npy */
  name: string;
  data: Float32Array;
  shape: [number, number, number];
}

/**
 * Images (JPEG/PNG, preprocessed with `p`) and ready-made tensors (.npy float32 [3,H,W] or
 * [N,3,H,W], used as they are), in the order given.
 */
export async function loadInputs(paths: string[], p: Preprocess, options: DecodeOptions = {}): Promise<InputItem[]> {
  const [height, width] = inputSize(p);
  const results: InputItem[][] = new Array(paths.length);
  // decoding runs on the addon's worker threads when it has libjpeg: keep a few in flight
  const concurrency = Math.min(4, availableParallelism());
  let next = 0;
  async function worker(): Promise<void> {
    while (next < paths.length) {
      const index = next++;
      const path = paths[index];
      if (path.toLowerCase().endsWith('.npy')) {
        results[index] = await loadNpyInput(path);
      } else {
        const image = await decodeImage(path, options);
        results[index] = [{ name: path, data: preprocess(image, p), shape: [3, height, width] }];
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, paths.length) }, worker));
  return results.flat();
}

async function loadNpyInput(path: string): Promise<InputItem[]> {
  let array: NpyArray;
  try {
    array = parseNpy(await readFile(path), path);
  } catch (e) {
    throw imageError(path, (e as Error).message.replace(`${path}: `, ''));
  }
  const { shape, data, dtype } = array;
  if (dtype !== 'float32') throw imageError(path, `expected a float32 (<f4) .npy tensor but found ${dtype}`);
  // any height and width: the model's shape inference says whether it can take them
  const ok = (shape.length === 3 || shape.length === 4) && shape[shape.length - 3] === 3;
  if (!ok) throw imageError(path, `expected a float32 tensor of shape [3,H,W] or [N,3,H,W] but found [${shape.join(',')}]`);
  const [height, width] = shape.slice(-2);
  const itemShape: [number, number, number] = [3, height, width];
  if (shape.length === 3) return [{ name: path, data, shape: itemShape }];
  const size = 3 * height * width;
  return Array.from({ length: shape[0] }, (_, i) => ({
    name: `${path}#${i}`,
    data: data.subarray(i * size, (i + 1) * size),
    shape: itemShape,
  }));
}
