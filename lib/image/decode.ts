// Image files (JPEG, PNG; WebP, BMP, GIF, TIFF through formats.ts) to 8-bit RGB, the way torchvision's loader sees them:
// `PIL.Image.open(f).convert('RGB')`, so alpha is dropped (not composited), grey is replicated,
// palettes are looked up, and 16-bit samples keep their high byte (for 16-bit grey Pillow 9.4
// instead clips at 255, turning most of the image white; we do not copy that).
// The format is sniffed from the magic bytes, never from the file name.
//
// JPEG: libjpeg-turbo through the native addon when it was built with it (the same library and
// defaults, ISLOW IDCT + fancy upsampling, as Debian's Pillow, so the pixels are identical), else
// jpeg-js (pure JS, several times slower). jpeg-js' chroma upsampling and colour conversion are
// redone as libjpeg does them (jpeg-color.ts), which leaves only its IDCT's rounding: about 0.15
// levels mean difference to libjpeg. ALEXNET_CLI_JPEG=js forces jpeg-js, =native requires the addon.
//
// EXIF orientation (JPEG APP1 only): applied by default, as PIL's ImageOps.exif_transpose does.
// torchvision's own loaders (datasets.folder.pil_loader, io.read_image in 0.14) do NOT apply it, so
// a phone photo stored sideways reaches the model sideways there; `{ exifOrientation: false }` does the same.
import jpeg from 'jpeg-js';
import { imageBinding } from './image-binding.js';
import {
  checkImageSize, IMAGE_KINDS, imageError, inputName, isRawPixels, maxPixelsLimit, rawPixelsToRgb, readRegularFile,
  type EncodedImage, type ImageInput,
} from './input.js';
import { canRedoColor, libjpegColor } from './jpeg-color.js';
import { isJpeg, scanJpeg, type JpegLayout } from './jpeg-markers.js';
import { decodeOtherFormat, sniffOtherFormat } from './formats.js';
import { decodePng, isPng } from './png.js';
import type { RgbImage } from './rgb-image.js';

export type { RgbImage } from './rgb-image.js';
export { imageError } from './input.js';
export type { EncodedImage, ImageInput, RawPixels } from './input.js';

export type JpegDecoder = 'auto' | 'native' | 'js';

export interface DecodeOptions {
  /** apply the EXIF Orientation tag of a JPEG like PIL's ImageOps.exif_transpose (default true) */
  exifOrientation?: boolean;
  /** which JPEG decoder (default: ALEXNET_CLI_JPEG, else 'auto' = native when available) */
  jpegDecoder?: JpegDecoder;
  /**
   * refuse images of more pixels than this, from the header before decoding (default: ALEXNET_CLI_MAX_PIXELS,
   * else Pillow's MAX_IMAGE_PIXELS, 89,478,485; lib/image/input.ts)
   */
  maxPixels?: number;
}

/** whether JPEGs will be decoded by libjpeg-turbo (for --verbose and benchmarks) */
export function hasNativeJpeg(): boolean {
  return imageBinding() !== null;
}

export function chooseJpegDecoder(name: string, requested: JpegDecoder | undefined): 'native' | 'js' {
  const env = process.env.ALEXNET_CLI_JPEG;
  const choice = requested ?? (env === 'js' || env === 'native' ? env : 'auto');
  if (choice === 'js') return 'js';
  if (imageBinding()) return 'native';
  if (choice === 'native') {
    throw imageError(name, 'expected the native JPEG decoder (ALEXNET_CLI_JPEG=native) but the addon was built without libjpeg');
  }
  return 'js';
}

/**
 * the bytes of an image file (or the buffer given) and the name errors use; ERR_IMAGE when unreadable, not a
 * regular file (a device or FIFO is never read), or empty
 */
export async function readImageInput(input: string | Uint8Array | EncodedImage, name = inputName(input)): Promise<{ name: string; data: Uint8Array }> {
  if (typeof input === 'string') return { name, data: await readRegularFile(input) };
  const data = input instanceof Uint8Array ? input : input.data;
  if (!(data instanceof Uint8Array)) throw imageError(name, `expected a Buffer or Uint8Array of an encoded image but received ${Object.prototype.toString.call(data)}`);
  if (data.length === 0) throw imageError(name, `expected ${IMAGE_KINDS} but the file is empty`);
  return { name, data };
}

/** Any ImageInput to RGB: a file or bytes decoded, raw pixels checked and converted (grey replicated, alpha dropped) */
export async function decodeImage(input: ImageInput, options: DecodeOptions = {}, name = inputName(input)): Promise<RgbImage> {
  if (isRawPixels(input)) return rawPixelsToRgb(name, input, options.maxPixels);
  const read = await readImageInput(input, name);
  return decodeImageData(read.name, read.data, options);
}

/** decodeImage of bytes already read (readImageInput), errors naming `name` */
export async function decodeImageData(name: string, data: Uint8Array, options: DecodeOptions = {}): Promise<RgbImage> {
  if (isJpeg(data)) return decodeJpeg(name, data, options);
  if (isPng(data)) return decodePng(name, data, options.maxPixels);
  const other = sniffOtherFormat(data);
  if (other) return decodeOtherFormat(name, data, other, options.maxPixels);
  throw imageError(name, `expected ${IMAGE_KINDS} but found ${describeMagic(data)}`);
}

/**
 * The JPEG's frame size and EXIF orientation from its markers, checked before any decoder runs:
 * corrupt markers, a truncated file, a zero size or more than maxPixels are ERR_IMAGE.
 */
export function checkedJpegLayout(name: string, data: Uint8Array, options: DecodeOptions): JpegLayout {
  let layout;
  try {
    layout = scanJpeg(data);
  } catch (e) {
    throw imageError(name, `expected valid JPEG data but found corrupt data (${(e as Error).message})`);
  }
  if (!layout.complete) {
    throw imageError(name, 'expected a complete JPEG but the data ends before the end-of-image marker (truncated file)');
  }
  checkImageSize(name, layout.width, layout.height, options.maxPixels);
  return layout;
}

/** the message of a JPEG the decoder rejected (native or jpeg-js), as ERR_IMAGE */
export function corruptJpegError(name: string, e: Error): Error {
  return imageError(name, `expected valid JPEG data but found corrupt data (${e.message})`);
}

async function decodeJpeg(name: string, data: Uint8Array, options: DecodeOptions): Promise<RgbImage> {
  const layout = checkedJpegLayout(name, data, options);
  let image: RgbImage;
  if (chooseJpegDecoder(name, options.jpegDecoder) === 'native') {
    try {
      image = await imageBinding()!.decodeJpeg(data);
    } catch (e) {
      throw corruptJpegError(name, e as Error);
    }
  } else {
    const redoColor = canRedoColor(layout);
    try {
      const decoded = jpeg.decode(data, {
        useTArray: true,
        formatAsRGBA: false,
        colorTransform: redoColor ? false : undefined,
        // the size limit is checked above from the frame header; this only bounds jpeg-js' own buffers
        maxResolutionInMP: Math.ceil(maxPixelsLimit(options.maxPixels) / 1e6),
        maxMemoryUsageInMB: 4096,
      });
      image = redoColor
        ? libjpegColor(decoded.data, decoded.width, decoded.height, layout)
        : { width: decoded.width, height: decoded.height, data: decoded.data };
    } catch (e) {
      throw imageError(name, `expected valid JPEG data but found corrupt data (${(e as Error).message})`);
    }
  }
  const apply = options.exifOrientation ?? true;
  return apply ? orient(image, layout.orientation) : image;
}

function describeMagic(data: Uint8Array): string {
  const ascii = (n: number) => String.fromCharCode(...data.subarray(0, n));
  if (ascii(3) === 'GIF') return 'a GIF signature of an unknown version';
  if (ascii(6) === '\x93NUMPY') return 'a .npy array (name it *.npy to pass a tensor)';
  if (data[0] === 0xff && data[1] === SOI_BYTE) return 'a JPEG start marker without a following segment';
  const head = Array.from(data.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return `bytes ${head}`;
}
const SOI_BYTE = 0xd8;

/**
 * EXIF Orientation applied as PIL's ImageOps.exif_transpose: 2 FLIP_LEFT_RIGHT, 3 ROTATE_180,
 * 4 FLIP_TOP_BOTTOM, 5 TRANSPOSE, 6 ROTATE_270 (90 clockwise), 7 TRANSVERSE, 8 ROTATE_90.
 */
export function orient(image: RgbImage, orientation: number): RgbImage {
  if (orientation < 2 || orientation > 8) return image;
  const { width: w, height: h, data } = image;
  const swap = orientation >= 5;
  const outWidth = swap ? h : w;
  const outHeight = swap ? w : h;
  const out = new Uint8Array(data.length);
  // for each displayed pixel (x, y), the stored pixel it comes from
  const source: (x: number, y: number) => number = {
    2: (x: number, y: number) => y * w + (w - 1 - x),
    3: (x: number, y: number) => (h - 1 - y) * w + (w - 1 - x),
    4: (x: number, y: number) => (h - 1 - y) * w + x,
    5: (x: number, y: number) => x * w + y,
    6: (x: number, y: number) => (h - 1 - x) * w + y,
    7: (x: number, y: number) => (h - 1 - x) * w + (w - 1 - y),
    8: (x: number, y: number) => x * w + (w - 1 - y),
  }[orientation]!;
  let o = 0;
  for (let y = 0; y < outHeight; y++) {
    for (let x = 0; x < outWidth; x++) {
      const s = source(x, y) * 3;
      out[o++] = data[s];
      out[o++] = data[s + 1];
      out[o++] = data[s + 2];
    }
  }
  return { width: outWidth, height: outHeight, data: out };
}
