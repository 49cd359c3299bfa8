// PNG to 8-bit RGB as PIL's `Image.open(f).convert('RGB')` gives it, through pngjs, after checking the
// file's structure ourselves: pngjs decodes a PNG without image data, or with garbage or too little of it,
// into a blank picture without a word, and reports a lying length with its stream internals. So before
// pngjs runs: the IHDR chunk first with valid fields, the pixel limit, every chunk inside the file, a
// palette for a palette image, at least one IDAT, IEND at the end, and the IDAT data inflating (zlib) to
// at least the bytes the header's size needs. Each failure is one ERR_IMAGE line naming the file.
import { constants as zlibConstants, inflateSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { checkImageSize, imageError } from './input.js';
import type { RgbImage } from './rgb-image.js';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function isPng(data: Uint8Array): boolean {
  return data.length >= 8 && PNG_SIGNATURE.every((b, i) => data[i] === b);
}

export interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  colourType: number;
  interlaced: boolean;
}

/** PNG spec 11.2.2: the bit depths each colour type allows, and its samples per pixel */
const COLOUR_TYPES: Record<number, { depths: number[]; channels: number }> = {
  0: { depths: [1, 2, 4, 8, 16], channels: 1 },
  2: { depths: [8, 16], channels: 3 },
  3: { depths: [1, 2, 4, 8], channels: 1 },
  4: { depths: [8, 16], channels: 2 },
  6: { depths: [8, 16], channels: 4 },
};

function chunkName(buffer: Buffer, at: number): string {
  const bytes = buffer.subarray(at, at + 4);
  const printable = bytes.length === 4 && bytes.every((b) => (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a));
  return printable ? `'${bytes.toString('latin1')}'` : `bytes ${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ')}`;
}

/** bytes of filtered scanlines the image needs: rows of (1 filter byte + packed samples), per Adam7 pass when interlaced */
function imageDataBytes(h: PngHeader): number {
  const bitsPerPixel = COLOUR_TYPES[h.colourType].channels * h.bitDepth;
  const rows = (width: number, height: number) => (width > 0 && height > 0 ? height * (1 + Math.ceil((width * bitsPerPixel) / 8)) : 0);
  if (!h.interlaced) return rows(h.width, h.height);
  // Adam7 passes: [x start, y start, x step, y step]
  const passes = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];
  let total = 0;
  for (const [x0, y0, dx, dy] of passes) total += rows(Math.ceil((h.width - x0) / dx), Math.ceil((h.height - y0) / dy));
  return total;
}

/**
 * The PNG's header, after checking its structure and that its image data inflates to the size the header
 * needs (see the top of this file). ERR_IMAGE naming `name` otherwise.
 */
export function checkPng(name: string, buffer: Buffer, maxPixels?: number): PngHeader {
  if (buffer.length < 8 + 8 + 13 + 4) throw imageError(name, 'expected a complete PNG but the data ends inside the IHDR chunk (truncated file)');
  if (buffer.toString('latin1', 12, 16) !== 'IHDR' || buffer.readUInt32BE(8) !== 13) {
    throw imageError(name, `expected the IHDR chunk (13 bytes) first in a PNG but found ${chunkName(buffer, 12)} of ${buffer.readUInt32BE(8)} bytes`);
  }
  const header: PngHeader = {
    width: buffer.readUInt32BE(16),
    height: buffer.readUInt32BE(20),
    bitDepth: buffer[24],
    colourType: buffer[25],
    interlaced: buffer[28] === 1,
  };
  const type = COLOUR_TYPES[header.colourType];
  if (!type) throw imageError(name, `expected a PNG colour type of 0, 2, 3, 4 or 6 but found ${header.colourType}`);
  if (!type.depths.includes(header.bitDepth)) {
    throw imageError(name, `expected a bit depth of ${type.depths.join(', ')} for PNG colour type ${header.colourType} but found ${header.bitDepth}`);
  }
  if (buffer[26] !== 0 || buffer[27] !== 0 || buffer[28] > 1) {
    throw imageError(name, `expected PNG compression 0, filter 0 and interlace 0 or 1 but found ${buffer[26]}, ${buffer[27]}, ${buffer[28]}`);
  }
  if (header.width > 0x7fffffff || header.height > 0x7fffffff) {
    throw imageError(name, `expected PNG dimensions below 2^31 but found ${header.width}x${header.height}`);
  }
  checkImageSize(name, header.width, header.height, maxPixels);

  const idat: Buffer[] = [];
  let palette = false;
  let ended = false;
  for (let pos = 8; pos < buffer.length;) {
    if (pos + 8 > buffer.length) break;
    const length = buffer.readUInt32BE(pos);
    const end = pos + 12 + length;
    if (length > 0x7fffffff || end > buffer.length) {
      throw imageError(name, `expected the PNG chunk ${chunkName(buffer, pos + 4)} at byte ${pos} to fit in the file but it declares ${length} bytes and the file ends ${buffer.length - pos - 12} bytes later (truncated or corrupt)`);
    }
    const chunk = buffer.toString('latin1', pos + 4, pos + 8);
    if (chunk === 'IDAT') idat.push(buffer.subarray(pos + 8, pos + 8 + length));
    else if (chunk === 'PLTE') palette = true;
    else if (chunk === 'IEND') {
      ended = true;
      break;
    }
    pos = end;
  }
  if (idat.length === 0) throw imageError(name, 'expected PNG image data (an IDAT chunk) but found none');
  if (!ended) throw imageError(name, 'expected a complete PNG but the data ends before the IEND chunk (truncated file)');
  if (header.colourType === 3 && !palette) throw imageError(name, 'expected a PLTE chunk in a palette PNG but found none');

  const needed = imageDataBytes(header);
  let inflated: number;
  try {
    // a truncated stream inflates as far as it goes (SYNC_FLUSH) so that the size check below names it;
    // more data than needed stops the inflate at `needed` (PIL ignores the surplus too)
    inflated = inflateSync(Buffer.concat(idat), { finishFlush: zlibConstants.Z_SYNC_FLUSH, maxOutputLength: needed }).length;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') inflated = needed;
    else throw imageError(name, `expected zlib-compressed PNG image data but found corrupt data (${(e as Error).message})`);
  }
  if (inflated < needed) {
    throw imageError(name, `expected ${needed} bytes of PNG image data for ${header.width}x${header.height} but the IDAT data inflates to ${inflated} (truncated or corrupt)`);
  }
  return header;
}

export function decodePng(name: string, data: Uint8Array, maxPixels?: number): RgbImage {
  const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  checkPng(name, buffer, maxPixels);
  let png;
  try {
    // skipRescale: 16-bit samples come back as-is, so we can keep the high byte as PIL does
    // (pngjs would round v * 255 / 65535, which differs by one level now and then)
    png = PNG.sync.read(withoutTransparentColour(buffer), { skipRescale: true });
  } catch (e) {
    // the structure was checked above: what pngjs still refuses is a bad CRC or corrupt scanlines
    const crc = /crc/i.test((e as Error).message);
    const err = imageError(name, crc ? 'expected valid PNG chunks but found a CRC mismatch (corrupt file)'
      : 'expected valid PNG image data but found corrupt scanlines');
    (err as Error).cause = e;
    throw err;
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
