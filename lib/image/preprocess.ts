// Decoded image -> the network's input tensor, following a Preprocess preset (lib/model/archs.ts).
// For the torchvision preset this is Resize(256) + CenterCrop(224) + ToTensor + Normalize, computed
// in the same float32 steps torchvision takes, so a PNG gives the identical tensor and a JPEG
// differs only by the JPEG decoder's rounding.
//
// Two implementations of resize + crop, bit-identical (test/image-native.test.ts):
//   native: the addon's resizeCropRgb / decodePreprocessJpeg (native/image/preprocess.cc), which
//           compute only the rows and columns the centre crop keeps; decodePreprocessJpeg does
//           decode + orientation + resize + crop + ToTensor on a libuv worker thread in one go;
//   js:     resize.ts, the reference twin.
// Native when the addon has them (it does when it was built with libjpeg); ALEXNET_CLI_PREPROCESS=js
// forces JavaScript, =native requires the addon.
import { availableParallelism } from 'node:os';
import type { Preprocess } from '../model/layers.js';
import { MAX_PREPROCESS_PIXELS, preprocessProblem } from '../model/preprocess.js';
import type { NativeTensor } from '../native.js';
import { imageBinding } from './image-binding.js';
import {
  checkedJpegLayout, chooseJpegDecoder, corruptJpegError, decodeImage, decodeImageData, imageError, readImageInput,
  type DecodeOptions,
} from './decode.js';
import type { RgbImage } from './rgb-image.js';
import { inputName, isRawPixels, readRegularFile, type ImageInput } from './input.js';
import { isJpeg } from './jpeg-markers.js';
import { centerCrop, resizeBilinear, resizedSize } from './resize.js';
import { parseNpy, type NpyArray } from '../weights/npy.js';

/** [height, width] of the tensor a preset produces */
export function inputSize(p: Preprocess): [number, number] {
  return p.crop ? [p.crop[0], p.crop[1]] : [p.resize[0], p.resize[1]];
}

/** which resize + crop runs now: ALEXNET_CLI_PREPROCESS=js|native, else native when the addon has it */
export function preprocessBackend(): 'native' | 'js' {
  const env = process.env.ALEXNET_CLI_PREPROCESS;
  if (env === 'js') return 'js';
  if (imageBinding()) return 'native';
  if (env === 'native') {
    throw new Error('Expected the native preprocessing (ALEXNET_CLI_PREPROCESS=native) but the addon was built without libjpeg');
  }
  return 'js';
}

// the most pixels a resize or crop may produce, and the check of a preprocessing's fields: lib/model/preprocess.ts
export { MAX_PREPROCESS_PIXELS } from '../model/preprocess.js';

function preprocessError(message: string): Error {
  const err = new Error(message);
  (err as NodeJS.ErrnoException).code = 'ERR_PREPROCESS';
  return err;
}

/** preprocessProblem as an ERR_PREPROCESS error: a caller's preprocessing (options, --resize/--crop), checked before use */
export function checkPreprocess(p: Preprocess): void {
  const problem = preprocessProblem(p);
  if (problem) throw preprocessError(`Expected ${problem} (from the weights' stored preprocessing or --resize/--crop/--mean/--std)`);
}

/** Python 3's round(): halves go to the even neighbour */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Where resize + crop go for an image of width x height, as the native side takes it:
 * [inWidth, inHeight, resizedWidth, resizedHeight, cropTop, cropLeft, outHeight, outWidth].
 * The crop offsets are resize.ts centerCrop's: round-half-even of the margin, or minus the left/top
 * zero padding when the crop is larger than the image on that axis.
 */
export function resizeCropGeometry(width: number, height: number, p: Preprocess): number[] {
  const [resizedHeight, resizedWidth] = p.resizeMode === 'shorter'
    ? resizedSize(height, width, p.resize[0])
    : [p.resize[0], p.resize[1]];
  if (!(Number.isInteger(resizedWidth) && Number.isInteger(resizedHeight) && resizedWidth > 0 && resizedHeight > 0)) {
    throw preprocessError(`Expected a positive integer size for resize but received ${resizedWidth}x${resizedHeight}`);
  }
  const [outHeight, outWidth] = p.crop ?? [resizedHeight, resizedWidth];
  // the preprocessing comes from the weights' metadata or flags: an absurd size is its fault, not the image's
  const resizedPixels = resizedWidth * resizedHeight;
  if (!(Number.isInteger(outHeight) && Number.isInteger(outWidth) && outHeight > 0 && outWidth > 0) ||
      resizedPixels > MAX_PREPROCESS_PIXELS || outHeight * outWidth > MAX_PREPROCESS_PIXELS) {
    const what = resizedPixels > MAX_PREPROCESS_PIXELS ? `resize to ${resizedWidth}x${resizedHeight}` : `crop ${outHeight}x${outWidth}`;
    throw preprocessError(`Expected a preprocessing resize and crop of at most ${MAX_PREPROCESS_PIXELS} pixels but received ${what} (from the weights' stored preprocessing or --resize/--crop)`);
  }
  const offset = (size: number, crop: number) =>
    crop > size ? 0 - Math.floor((crop - size) / 2) : roundHalfEven((size - crop) / 2.0);
  return [width, height, resizedWidth, resizedHeight, offset(resizedHeight, outHeight), offset(resizedWidth, outWidth), outHeight, outWidth];
}

/** the resized and cropped RGB image, before conversion to float (what torchvision hands ToTensor) */
export function resizeAndCrop(image: RgbImage, p: Preprocess): RgbImage {
  const geometry = resizeCropGeometry(image.width, image.height, p);
  const [, , resizedWidth, resizedHeight, , , outHeight, outWidth] = geometry;
  if (preprocessBackend() === 'native') {
    const data = imageBinding()!.resizeCropRgb(image.data, Int32Array.from(geometry));
    return { width: outWidth, height: outHeight, data };
  }
  const resized = resizeBilinear(image, resizedWidth, resizedHeight);
  return p.crop ? centerCrop(resized, p.crop[0], p.crop[1]) : resized;
}

const tables = new WeakMap<Preprocess, Float32Array>();

/**
 * ToTensor + Normalize (+ BGR) as a table: [3 output channels][256 levels] -> float32. torchvision's
 * steps, each rounded to float32 as torch does: ToTensor is img.float().div(255), Normalize is
 * tensor.sub_(mean).div_(std) with mean and std as float32 tensors. Output channel c reads source
 * channel bgr ? 2 - c : c, whose mean and std it uses.
 */
export function normalizeTable(p: Preprocess): Float32Array {
  let table = tables.get(p);
  if (!table) {
    table = new Float32Array(3 * 256);
    const f = Math.fround;
    for (let c = 0; c < 3; c++) {
      const source = p.bgr ? 2 - c : c;
      const mean = f(p.mean[source]);
      const std = f(p.std[source]);
      for (let v = 0; v < 256; v++) {
        const x = p.range === 1 ? f(v / 255) : v;
        table[c * 256 + v] = f(x - mean) / std;
      }
    }
    tables.set(p, table);
  }
  return table;
}

/** float32 [3, H, W] from an already resized and cropped image: ToTensor and Normalize (and BGR) only */
export function toTensor(image: RgbImage, p: Preprocess): Float32Array {
  const { width, height, data } = image;
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  const table = normalizeTable(p);
  for (let c = 0; c < 3; c++) {
    const source = p.bgr ? 2 - c : c;
    const row = table.subarray(c * 256, c * 256 + 256);
    for (let i = 0; i < plane; i++) out[c * plane + i] = row[data[i * 3 + source]];
  }
  return out;
}

/** float32 [3, H, W]: resize, crop, then (pixel / 255 or pixel) minus mean, divided by std, RGB or BGR */
export function preprocess(image: RgbImage, p: Preprocess): Float32Array {
  return toTensor(resizeAndCrop(image, p), p);
}

/**
 * A file (or its bytes) to the float32 [3, H, W] tensor: preprocess(await decodeImage(input)), the
 * same values; a JPEG with the native decoder and native preprocessing goes through the addon's fused
 * decodePreprocessJpeg, entirely off the JS thread, without the decoded image crossing into JS.
 */
export async function loadImageTensor(input: ImageInput, p: Preprocess, options: DecodeOptions = {}, inputLabel = inputName(input)): Promise<Float32Array> {
  if (isRawPixels(input)) return preprocess(await decodeImage(input, options, inputLabel), p);
  const { name, data } = await readImageInput(input, inputLabel);
  const geometry = fusedJpegGeometry(name, data, p, options);
  if (geometry) {
    const out = new Float32Array(3 * geometry[6] * geometry[7]);
    await decodePreprocessInto(name, data, geometry, p, out, 0);
    return out;
  }
  return preprocess(await decodeImageData(name, data, options), p);
}

/**
 * loadImageTensor written into `out` at element `offset` (a NativeTensor such as a model's batch input, or
 * a Float32Array): a JPEG on the fused native path is decoded and preprocessed straight there, with no
 * Float32Array in between; other images are preprocessed in JS and written once. `length`: the values the
 * caller made room for (3 x H x W of inputSize(p)); another size is an ERR_PREPROCESS error.
 */
export async function loadImageInto(input: ImageInput, p: Preprocess, out: NativeTensor | Float32Array, offset: number,
  length: number, options: DecodeOptions = {}, inputLabel = inputName(input)): Promise<void> {
  const sizeError = (values: number) => preprocessError(`${inputLabel}: expected preprocessing to give ${length} values but it gave ${values}`);
  let tensor: Float32Array;
  if (isRawPixels(input)) tensor = preprocess(await decodeImage(input, options, inputLabel), p);
  else {
    const { name, data } = await readImageInput(input, inputLabel);
    const geometry = fusedJpegGeometry(name, data, p, options);
    if (geometry) {
      if (3 * geometry[6] * geometry[7] !== length) throw sizeError(3 * geometry[6] * geometry[7]);
      await decodePreprocessInto(name, data, geometry, p, out, offset);
      return;
    }
    tensor = preprocess(await decodeImageData(name, data, options), p);
  }
  if (tensor.length !== length) throw sizeError(tensor.length);
  if (out instanceof Float32Array) out.set(tensor, offset);
  else out.write(tensor, offset);
}

/** decodePreprocessJpeg's geometry where a JPEG takes the fused native path, else undefined */
function fusedJpegGeometry(name: string, data: Uint8Array, p: Preprocess, options: DecodeOptions): Int32Array | undefined {
  if (!(isJpeg(data) && preprocessBackend() === 'native' && chooseJpegDecoder(name, options.jpegDecoder) === 'native')) return undefined;
  const layout = checkedJpegLayout(name, data, options);
  const orientation = (options.exifOrientation ?? true) ? layout.orientation : 1;
  const swap = orientation >= 5 && orientation <= 8;
  const [width, height] = swap ? [layout.height, layout.width] : [layout.width, layout.height];
  return Int32Array.from([...resizeCropGeometry(width, height, p), orientation, p.bgr ? 1 : 0]);
}

async function decodePreprocessInto(name: string, data: Uint8Array, geometry: Int32Array, p: Preprocess,
  out: NativeTensor | Float32Array, offset: number): Promise<void> {
  try {
    await imageBinding()!.decodePreprocessJpeg(data, geometry, normalizeTable(p), out, offset);
  } catch (e) {
    throw corruptJpegError(name, e as Error);
  }
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
/** One input's items, or the error that stopped it (a file that cannot be read or decoded) */
export interface SettledInput {
  input: string;
  items?: InputItem[];
  error?: Error;
}

/**
 * Load every input, each on its own: a file that cannot be read or decoded gives its error and does not
 * stop the others (what `classify a.jpg truncated.jpg b.jpg` needs to classify a.jpg and b.jpg).
 */
export async function loadInputsSettled(paths: ImageInput[], p: Preprocess, options: DecodeOptions = {}): Promise<SettledInput[]> {
  const [height, width] = inputSize(p);
  const results: SettledInput[] = new Array(paths.length);
  // decoding runs on the addon's worker threads when it has libjpeg: keep a few in flight
  const concurrency = Math.min(4, availableParallelism());
  let next = 0;
  async function worker(): Promise<void> {
    while (next < paths.length) {
      const index = next++;
      const input = paths[index];
      // buffers without a name are told apart by their place in the list
      const name = inputName(input, index);
      try {
        const items: InputItem[] = typeof input === 'string' && input.toLowerCase().endsWith('.npy')
          ? await loadNpyInput(input)
          : [{ name, data: await loadImageTensor(input, p, options, name), shape: [3, height, width] }];
        results[index] = { input: name, items };
      } catch (error) {
        results[index] = { input: name, error: error as Error };
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, paths.length) }, worker));
  return results;
}

/** Load every input; the first one (in input order) that fails is thrown */
export async function loadInputs(paths: ImageInput[], p: Preprocess, options: DecodeOptions = {}): Promise<InputItem[]> {
  const settled = await loadInputsSettled(paths, p, options);
  const failed = settled.find((s) => s.error);
  if (failed) throw failed.error;
  return settled.flatMap((s) => s.items!);
}

async function loadNpyInput(path: string): Promise<InputItem[]> {
  let array: NpyArray;
  try {
    array = parseNpy(Buffer.from(await readRegularFile(path, '.npy file')), path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_IMAGE') throw e;
    throw imageError(path, (e as Error).message.replace(`${path}: `, ''));
  }
  const { shape, data, dtype } = array;
  if (dtype !== 'float32') throw imageError(path, `expected a float32 (<f4) .npy tensor but found ${dtype}`);
  // any height and width: the model's shape inference says whether it can take them
  const ok = (shape.length === 3 || shape.length === 4) && shape[shape.length - 3] === 3 && shape.every((d) => d >= 1);
  if (!ok) {
    const empty = shape.length === 4 && shape[0] < 1;
    throw imageError(path, `expected a float32 tensor of shape [3,H,W] or [N,3,H,W]${empty ? ' with N >= 1' : ''} but found [${shape.join(',')}]`);
  }
  // NaN or infinity would come out as a confident-looking prediction: refused, counted
  let nonFinite = 0;
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) nonFinite++;
  if (nonFinite > 0) throw imageError(path, `expected finite values in the tensor but found ${nonFinite} of ${data.length} NaN or infinite`);
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
