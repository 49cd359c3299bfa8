// Reading an image input and the limits every decoder checks before it decodes.
//
// A path is opened without blocking and must be a regular file (a device such as /dev/zero, a FIFO, a
// socket or a directory is refused before anything is read), of at most MAX_IMAGE_FILE_BYTES. The
// pixel limit is checked from the file's header, before any pixel is decoded: by default Pillow's
// MAX_IMAGE_PIXELS (89,478,485 = 1 GiB / 4 / 3, about 9459x9459), the point where Pillow warns of a
// decompression bomb; ALEXNET_CLI_MAX_PIXELS or DecodeOptions.maxPixels change it. The peak memory of
// a decode at the limit is in docs/images.md.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { AlexnetError } from '../errors.js';

/** Pillow's Image.MAX_IMAGE_PIXELS: int(1024 * 1024 * 1024 // 4 // 3) */
export const DEFAULT_MAX_PIXELS = 89_478_485;

/** the largest image file read (1 GiB): no image format this tool decodes needs more for the pixel limit */
export const MAX_IMAGE_FILE_BYTES = 2 ** 30;

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
    if (stats.size === 0) throw imageError(path, `expected ${what === 'image file' ? 'a JPEG or PNG image' : `an ${what}`} but the file is empty`);
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
