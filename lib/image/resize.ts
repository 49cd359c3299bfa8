// Resizing and cropping exactly as torchvision does on PIL images:
//  - resizeBilinear = PIL Image.resize(size, BILINEAR) (Pillow src/libImaging/Resample.c,
//    ImagingResample): a triangle filter whose support grows with the downscale factor (so a
//    downscale averages every input pixel, "antialias"), applied as two separable passes,
//    horizontal then vertical, each rounding to uint8 through 22-bit fixed-point coefficients.
//  - resizedSize = torchvision 0.14 transforms.functional._compute_resized_output_size
//  - centerCrop = torchvision transforms.functional.center_crop (zero padding when the crop is larger)
import type { RgbImage } from './rgb-image.js';

/** Resample.c: 32 - 8 - 2 bits, "8 bits for result, two extra bits for overflow and int type" */
const PRECISION_BITS = 22;

interface Coefficients {
  /** kernel size: the most taps any output pixel uses */
  kernelSize: number;
  /** per output pixel: first input pixel and number of taps */
  bounds: Int32Array;
  /** per output pixel: kernelSize fixed-point weights */
  weights: Int32Array;
}

/** Resample.c precompute_coeffs + normalize_coeffs_8bpc for the bilinear (triangle, support 1) filter */
function bilinearCoefficients(inSize: number, outSize: number): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 1.0 * filterScale;
  const kernelSize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Int32Array(outSize * kernelSize);
  const taps = new Float64Array(kernelSize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const invFilterScale = 1.0 / filterScale;
    // C's (int) cast truncates toward zero
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let total = 0;
    for (let x = 0; x < xmax; x++) {
      const t = Math.abs((x + xmin - center + 0.5) * invFilterScale);
      const w = t < 1.0 ? 1.0 - t : 0.0;
      taps[x] = w;
      total += w;
    }
    for (let x = 0; x < xmax; x++) {
      const k = total !== 0 ? taps[x] / total : taps[x];
      const fixed = k * (1 << PRECISION_BITS);
      weights[xx * kernelSize + x] = Math.trunc(k < 0 ? fixed - 0.5 : fixed + 0.5);
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { kernelSize, bounds, weights };
}

/** Resample.c clip8: the 22-bit fixed-point sum back to 0..255 (arithmetic shift, then clamp) */
function clip8(sum: number): number {
  const v = sum >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

const HALF = 1 << (PRECISION_BITS - 1);

function resampleHorizontal(src: RgbImage, outWidth: number, c: Coefficients): RgbImage {
  const { width, height, data } = src;
  const out = new Uint8Array(outWidth * height * 3);
  for (let y = 0; y < height; y++) {
    const row = y * width * 3;
    for (let xx = 0; xx < outWidth; xx++) {
      const xmin = c.bounds[xx * 2];
      const taps = c.bounds[xx * 2 + 1];
      const k = xx * c.kernelSize;
      let r = HALF;
      let g = HALF;
      let b = HALF;
      for (let x = 0; x < taps; x++) {
        const w = c.weights[k + x];
        const s = row + (xmin + x) * 3;
        r += data[s] * w;
        g += data[s + 1] * w;
        b += data[s + 2] * w;
      }
      const o = (y * outWidth + xx) * 3;
      out[o] = clip8(r);
      out[o + 1] = clip8(g);
      out[o + 2] = clip8(b);
    }
  }
  return { width: outWidth, height, data: out };
}

function resampleVertical(src: RgbImage, outHeight: number, c: Coefficients): RgbImage {
  const { width, data } = src;
  const out = new Uint8Array(width * outHeight * 3);
  const stride = width * 3;
  for (let yy = 0; yy < outHeight; yy++) {
    const ymin = c.bounds[yy * 2];
    const taps = c.bounds[yy * 2 + 1];
    const k = yy * c.kernelSize;
    const o = yy * stride;
    for (let i = 0; i < stride; i++) {
      let sum = HALF;
      for (let y = 0; y < taps; y++) sum += data[(ymin + y) * stride + i] * c.weights[k + y];
      out[o + i] = clip8(sum);
    }
  }
  return { width, height: outHeight, data: out };
}

/** PIL Image.resize((outWidth, outHeight), Image.BILINEAR) on an RGB image, to the level */
export function resizeBilinear(image: RgbImage, outWidth: number, outHeight: number): RgbImage {
  if (!(Number.isInteger(outWidth) && Number.isInteger(outHeight) && outWidth > 0 && outHeight > 0)) {
    throw new Error(`Expected a positive integer size for resize but received ${outWidth}x${outHeight}`);
  }
  let result = image;
  // Resample.c ImagingResampleInner: each pass only when that axis changes
  if (outWidth !== image.width) result = resampleHorizontal(result, outWidth, bilinearCoefficients(image.width, outWidth));
  if (outHeight !== image.height) result = resampleVertical(result, outHeight, bilinearCoefficients(image.height, outHeight));
  return result === image ? { width: image.width, height: image.height, data: image.data.slice() } : result;
}

/**
 * torchvision 0.14 _compute_resized_output_size for Resize(size) with one int: the shorter side
 * becomes `size`, the longer int(size * long / short) (truncated, not rounded). Returns [height, width].
 */
export function resizedSize(height: number, width: number, size: number): [number, number] {
  const [short, long] = width <= height ? [width, height] : [height, width];
  const newLong = Math.trunc((size * long) / short);
  return width <= height ? [newLong, size] : [size, newLong];
}

/** Python 3's round(): halves go to the even neighbour */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * torchvision center_crop: top = int(round((height - cropHeight) / 2.0)), same for left; an image
 * smaller than the crop is first zero-padded, the odd pixel going to the bottom/right.
 */
export function centerCrop(image: RgbImage, cropHeight: number, cropWidth: number): RgbImage {
  let src = image;
  if (cropWidth > src.width || cropHeight > src.height) {
    const padLeft = cropWidth > src.width ? Math.floor((cropWidth - src.width) / 2) : 0;
    const padTop = cropHeight > src.height ? Math.floor((cropHeight - src.height) / 2) : 0;
    const padRight = cropWidth > src.width ? Math.floor((cropWidth - src.width + 1) / 2) : 0;
    const padBottom = cropHeight > src.height ? Math.floor((cropHeight - src.height + 1) / 2) : 0;
    const width = src.width + padLeft + padRight;
    const height = src.height + padTop + padBottom;
    const data = new Uint8Array(width * height * 3);
    for (let y = 0; y < src.height; y++) {
      data.set(src.data.subarray(y * src.width * 3, (y + 1) * src.width * 3), ((y + padTop) * width + padLeft) * 3);
    }
    src = { width, height, data };
    if (width === cropWidth && height === cropHeight) return src;
  }
  const top = roundHalfEven((src.height - cropHeight) / 2.0);
  const left = roundHalfEven((src.width - cropWidth) / 2.0);
  const out = new Uint8Array(cropWidth * cropHeight * 3);
  for (let y = 0; y < cropHeight; y++) {
    const s = ((top + y) * src.width + left) * 3;
    out.set(src.data.subarray(s, s + cropWidth * 3), y * cropWidth * 3);
  }
  return { width: cropWidth, height: cropHeight, data: out };
}
