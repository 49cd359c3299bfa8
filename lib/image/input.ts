// Reading an image input and the limits every decoder checks before it decodes.
//
// A path is opened without blocking and must be a regular file (a device such as /dev/zero, a FIFO, a
// socket or a directory is refused before anything is read), of at most MAX_IMAGE_FILE_BYTES. The
// pixel limit is checked from the file's header, before any pixel is decoded: by default Pillow's
// MAX_IMAGE_PIXELS (89,478,485 = 1 GiB / 4 / 3, about 9459x9459), the point where Pillow warns of a
// decompression bomb; ALEXNET_CLI_MAX_PIXELS or DecodeOptions.maxPixels change it. What is refused, and
// these limits, are listed in docs/safety.md (Images and .npy inputs).
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { AlexnetError } from '../errors.js';

/** Pillow's Image.MAX_IMAGE_PIXELS: int(1024 * 1024 * 1024 // 4 // 3) */
export const DEFAULT_MAX_PIXELS = 89_478_485;

/** the largest image file read (1 GiB): no image format this tool decodes needs more for the pixel limit */
export const MAX_IMAGE_FILE_BYTES = 2 ** 30;

/**
 * An image the library takes (model.classify, transforms): a file path, the bytes of an encoded image
 * (Buffer / Uint8Array), the same with a name for messages, or raw pixels with their size (8-bit,
 * interleaved, rows top to bottom; 1 channel grey, 3 RGB, 4 RGBA whose alpha is dropped).
 */
export type ImageInput = string | Uint8Array | EncodedImage | RawPixels;

export interface EncodedImage {
  data: Uint8Array;
  /** what messages and results call it (default `<buffer>`) */
  name?: string;
}

export interface RawPixels {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  /** samples per pixel: 1, 3 or 4 (default: data.length / (width * height)) */
  channels?: number;
  name?: string;
}

export const isRawPixels = (input: ImageInput): input is RawPixels =>
  typeof input === 'object' && !(input instanceof Uint8Array) && ('width' in input || 'height' in input);

/** the name an input goes by in results and messages: its path, its `name`, else `<buffer N>` (N its index) */
export function inputName(input: ImageInput, index?: number): string {
  if (typeof input === 'string') return input;
  const named = input instanceof Uint8Array ? undefined : input.name;
  return named ?? (index === undefined ? '<buffer>' : `<buffer ${index}>`);
}

/** raw pixels checked (a positive integer size within the pixel limit, 1, 3 or 4 channels, the length they make) */
export function rawPixelsToRgb(name: string, raw: RawPixels, maxPixels?: number): { width: number; height: number; data: Uint8Array } {
  const { width, height, data } = raw;
  for (const [key, value] of [['width', width], ['height', height]] as const) {
    if (!Number.isInteger(value) || value < 1) throw imageError(name, `expected a positive integer for ${key} but received ${value}`);
  }
  checkImageSize(name, width, height, maxPixels);
  if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray)) {
    throw imageError(name, `expected a Uint8Array of pixels for data but received ${Object.prototype.toString.call(data)}`);
  }
  const channels = raw.channels ?? data.length / (width * height);
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw imageError(name, `expected 1, 3 or 4 channels (grey, RGB, RGBA) but found ${raw.channels === undefined ? `${data.length} bytes for ${width}x${height}` : channels}`);
  }
  if (data.length !== width * height * channels) {
    throw imageError(name, `expected ${width * height * channels} bytes for ${width}x${height}x${channels} pixels but received ${data.length}`);
  }
  if (channels === 3) return { width, height, data: data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.length) };
  const out = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    const s = i * channels;
    out[3 * i] = data[s];
    out[3 * i + 1] = data[channels === 1 ? s : s + 1];
    out[3 * i + 2] = data[channels === 1 ? s : s + 2];
  }
  return { width, height, data: out };
}

/** How the CLI passes a lone `-` through yargs (bin/alexnet-cli.ts), which would drop it */
export const STDIN_ARG = '\0-';

/**
 * Standard input, whole (`classify -`): ERR_IMAGE when it is a terminal (nothing piped), empty, or
 * larger than maxBytes
 */
export async function readStdin(stream: NodeJS.ReadableStream & { isTTY?: boolean } = process.stdin, maxBytes = MAX_IMAGE_FILE_BYTES): Promise<Uint8Array> {
  if (stream.isTTY) throw imageError('-', 'expected an image piped to standard input but it is a terminal (alexnet-cli classify - < photo.jpg)');
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk as Buffer;
    total += bytes.length;
    if (total > maxBytes) throw imageError('-', `expected at most ${maxBytes} bytes on standard input but found more`);
    chunks.push(bytes);
  }
  if (total === 0) throw imageError('-', `expected ${IMAGE_KINDS} on standard input but it is empty`);
  return new Uint8Array(Buffer.concat(chunks, total));
}

/** what an image input may be, for messages */
export const IMAGE_KINDS = 'an image (JPEG, PNG, WebP, BMP, GIF or TIFF)';

export function imageError(name: string, message: string): AlexnetError {
  return new AlexnetError(`${name}: ${message}`, 'ERR_IMAGE');
}

/** the pixel limit in force: the option, else ALEXNET_CLI_MAX_PIXELS, else DEFAULT_MAX_PIXELS */
export function maxPixelsLimit(option?: number): number {
  if (option !== undefined) {
    if (!(option > 0)) throw new Error(`Expected a positive number for maxPixels but received ${option}`);
    return option;
  }
  const env = process.env.ALEXNET_CLI_MAX_PIXELS;
  if (env === undefined || env === '') return DEFAULT_MAX_PIXELS;
  const value = Number(env);
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`Expected a positive integer for ALEXNET_CLI_MAX_PIXELS but received ${env}`);
  }
  return value;
}

/** ERR_IMAGE unless width x height is a non-empty image within the pixel limit (from the header, before decoding) */
export function checkImageSize(name: string, width: number, height: number, maxPixels?: number): void {
  if (width === 0 || height === 0) {
    throw imageError(name, `expected an image with a non-zero size but found ${width}x${height}`);
  }
  const limit = maxPixelsLimit(maxPixels);
  if (width * height > limit) {
    throw imageError(name, `expected an image of at most ${limit} pixels (ALEXNET_CLI_MAX_PIXELS) but found ${width}x${height} = ${width * height}`);
  }
}

function describeFileType(stats: { isDirectory(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isFIFO(): boolean; isSocket(): boolean }): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * The bytes of a file, ERR_IMAGE naming it when it cannot be read, is not a regular file (checked on the
 * opened descriptor, before any read: a FIFO opens without blocking), is empty or larger than maxBytes.
 */
export async function readRegularFile(path: string, what = 'image file', maxBytes = MAX_IMAGE_FILE_BYTES): Promise<Uint8Array> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw imageError(path, `expected a readable ${what} but found ${code === 'ENOENT' ? 'no such file' : code ?? (e as Error).message}`);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw imageError(path, `expected a regular file (an ${what}) but found ${describeFileType(stats)}`);
    if (stats.size > maxBytes) throw imageError(path, `expected a file of at most ${maxBytes} bytes but found ${stats.size}`);
    if (stats.size === 0) throw imageError(path, `expected ${what === 'image file' ? IMAGE_KINDS : `an ${what}`} but the file is empty`);
    const data = new Uint8Array(stats.size);
    let filled = 0;
    while (filled < data.length) {
      const { bytesRead } = await handle.read(data, filled, data.length - filled, filled);
      if (bytesRead === 0) break;  // shrank while read
      filled += bytesRead;
    }
    return filled === data.length ? data : data.subarray(0, filled);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_IMAGE') throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw imageError(path, `expected a readable ${what} but found ${code ?? (e as Error).message}`);
  } finally {
    await handle.close();
  }
}
