// JPEG and PNG files to 8-bit RGB, the way torchvision's loader sees them:
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
import { AlexnetError } from '../errors.js';
import { readFile } from 'node:fs/promises';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { imageBinding } from './image-binding.js';
import { canRedoColor, libjpegColor } from './jpeg-color.js';
import { isJpeg, scanJpeg, type JpegLayout } from './jpeg-markers.js';
import type { RgbImage } from './rgb-image.js';

export type { RgbImage } from './rgb-image.js';

export type JpegDecoder = 'auto' | 'native' | 'js';

export interface DecodeOptions {
  /** apply the EXIF Orientation tag of a JPEG like PIL's ImageOps.exif_transpose (default true) */
  exifOrientation?: boolean;
  /** which JPEG decoder (default: ALEXNET_CLI_JPEG, else 'auto' = native when available) */
  jpegDecoder?: JpegDecoder;
  /** refuse images larger than this many pixels before decoding (default 100 megapixels, as jpeg-js) */
  maxPixels?: number;
}

const DEFAULT_MAX_PIXELS = 100e6;

export function imageError(name: string, message: string): AlexnetError {
  return new AlexnetError(`${name}: ${message}`, 'ERR_IMAGE');
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

/** the bytes of an image file (or the buffer given) and the name errors use; ERR_IMAGE when unreadable or empty */
export async function readImageInput(input: string | Uint8Array): Promise<{ name: string; data: Uint8Array }> {
  const name = typeof input === 'string' ? input : '<buffer>';
  let data: Uint8Array;
  if (typeof input === 'string') {
    try {
      data = await readFile(input);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw imageError(name, `expected a readable image file but found ${code === 'ENOENT' ? 'no such file' : code ?? (e as Error).message}`);
    }
  } else {
    data = input;
  }
  if (data.length === 0) throw imageError(name, 'expected a JPEG or PNG image but the file is empty');
  return { name, data };
}

export async function decodeImage(input: string | Uint8Array, options: DecodeOptions = {}): Promise<RgbImage> {
  const { name, data } = await readImageInput(input);
  return decodeImageData(name, data, options);
}

/** decodeImage of bytes already read (readImageInput), errors naming `name` */
export async function decodeImageData(name: string, data: Uint8Array, options: DecodeOptions = {}): Promise<RgbImage> {
  if (isJpeg(data)) return decodeJpeg(name, data, options);
  if (isPng(data)) return decodePng(name, data, options.maxPixels ?? DEFAULT_MAX_PIXELS);
  throw imageError(name, `expected a JPEG or PNG image but found ${describeMagic(data)}`);
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
  checkSize(name, layout.width, layout.height, options.maxPixels ?? DEFAULT_MAX_PIXELS);
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
        maxResolutionInMP: Math.ceil((options.maxPixels ?? DEFAULT_MAX_PIXELS) / 1e6),
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

function checkSize(name: string, width: number, height: number, maxPixels: number): void {
  if (width === 0 || height === 0) {
    throw imageError(name, `expected an image with a non-zero size but found ${width}x${height}`);
  }
  if (width * height > maxPixels) {
    throw imageError(name, `expected an image of at most ${maxPixels / 1e6} megapixels but found ${width}x${height}`);
  }
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function isPng(data: Uint8Array): boolean {
  return data.length >= 8 && PNG_SIGNATURE.every((b, i) => data[i] === b);
}

function describeMagic(data: Uint8Array): string {
  const ascii = (n: number) => String.fromCharCode(...data.subarray(0, n));
  if (ascii(3) === 'GIF') return 'a GIF image';
  if (ascii(2) === 'BM') return 'a BMP image';
  if (ascii(4) === 'RIFF' && data.length >= 12 && String.fromCharCode(...data.subarray(8, 12)) === 'WEBP') return 'a WebP image';
  if (ascii(4) === 'II*\0' || ascii(4) === 'MM\0*') return 'a TIFF image';
  if (ascii(6) === '\x93NUMPY') return 'a .npy array (name it *.npy to pass a tensor)';
  if (data[0] === 0xff && data[1] === SOI_BYTE) return 'a JPEG start marker without a following segment';
  const head = Array.from(data.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return `bytes ${head}`;
}
const SOI_BYTE = 0xd8;

function decodePng(name: string, data: Uint8Array, maxPixels: number): RgbImage {
  const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  // IHDR is always the first chunk: width, height, bit depth, colour type at fixed offsets
  if (buffer.length >= 26) checkSize(name, buffer.readUInt32BE(16), buffer.readUInt32BE(20), maxPixels);
  let png;
  try {
    // skipRescale: 16-bit samples come back as-is, so we can keep the high byte as PIL does
    // (pngjs would round v * 255 / 65535, which differs by one level now and then)
    png = PNG.sync.read(withoutTransparentColour(buffer), { skipRescale: true });
  } catch (e) {
    throw imageError(name, `expected a valid PNG but found ${(e as Error).message}`);
  }
  const { width, height, depth } = png;
  // @types/pngjs leaves out 3 (palette), which pngjs does report
  const colorType = png.colorType as number;
  const rgba = png.data as unknown as ArrayLike<number>;
  const out = new Uint8Array(width * height * 3);
  // palette images are looked up to 8-bit RGBA by pngjs whatever their index depth
  const maxSample = colorType === 3 ? 255 : (1 << depth) - 1;
  const n = width * height;
  if (maxSample === 255) {
    for (let i = 0; i < n; i++) {
      out[i * 3] = rgba[i * 4];
      out[i * 3 + 1] = rgba[i * 4 + 1];
      out[i * 3 + 2] = rgba[i * 4 + 2];
    }
  } else if (depth === 16) {
    for (let i = 0; i < n; i++) {
      out[i * 3] = rgba[i * 4] >> 8;
      out[i * 3 + 1] = rgba[i * 4 + 1] >> 8;
      out[i * 3 + 2] = rgba[i * 4 + 2] >> 8;
    }
  } else {
    // 1, 2, 4-bit grey: PIL's "1", "L;2", "L;4" unpackers scale to 0..255 (x255, x85, x17)
    const scale = 255 / maxSample;
    for (let i = 0; i < n; i++) {
      const v = rgba[i * 4] * scale;
      out[i * 3] = v;
      out[i * 3 + 1] = v;
      out[i * 3 + 2] = v;
    }
  }
  return { width, height, data: out };
}

/**
 * pngjs applies a tRNS transparent colour (grey or RGB images) by zeroing the whole pixel, RGB
 * included; PIL's convert('RGB') keeps the colour. Alpha is dropped anyway, so drop the chunk.
 */
function withoutTransparentColour(png: Buffer): Buffer {
  const colourType = png.length > 25 ? png[25] : -1;
  if (colourType !== 0 && colourType !== 2) return png;
  let pos = 8;
  while (pos + 12 <= png.length) {
    const length = png.readUInt32BE(pos);
    const type = png.toString('latin1', pos + 4, pos + 8);
    const next = pos + 12 + length;
    if (type === 'tRNS') return Buffer.concat([png.subarray(0, pos), png.subarray(next)]);
    if (type === 'IDAT' || type === 'IEND') return png;
    pos = next;
  }
  return png;
}

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
