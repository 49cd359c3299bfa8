// WebP, BMP, GIF (first frame) and TIFF to 8-bit RGB, as Pillow's `Image.open(f).convert('RGB')`
// gives them (alpha dropped, palettes looked up), through decoders from the registry, each loaded on
// first use so that JPEG/PNG runs never load them:
//   WebP  @jsquash/webp  libwebp compiled to WebAssembly (Apache-2.0): the library Pillow links, so
//                        lossy files decode to the same pixels
//   BMP   bmp-ts         pure TypeScript (MIT), uncompressed and bit-field BMPs (its RLE path and its
//                        `toRGBA` option for palette images misplace bytes: refused / not used)
//   GIF   omggif         pure JavaScript (MIT); the first frame on the logical screen
//   TIFF  utif2          photopea's UTIF.js, pure JavaScript (MIT); the first image of the file
// The decoders trust their input, so what they would allocate or read is checked here first, from the
// header: the pixel limit (input.ts, ALEXNET_CLI_MAX_PIXELS) and, where the layout says where the pixel
// data lies, that the file holds it (a truncated file is refused, not decoded to black rows).
// A GIF's transparent pixels get the palette colour stored under the transparent index, as Pillow's
// convert('RGB') gives them (omggif would leave them unpainted: black).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { checkImageSize, imageError } from './input.js';
import type { RgbImage } from './rgb-image.js';

export type OtherFormat = 'webp' | 'bmp' | 'gif' | 'tiff';

const FORMAT_NAMES: Record<OtherFormat, string> = { webp: 'WebP', bmp: 'BMP', gif: 'GIF', tiff: 'TIFF' };

const ascii = (data: Uint8Array, start: number, end: number): string => String.fromCharCode(...data.subarray(start, end));

/** The format of `data` from its magic bytes, among those this file decodes */
export function sniffOtherFormat(data: Uint8Array): OtherFormat | undefined {
  if (ascii(data, 0, 4) === 'RIFF' && ascii(data, 8, 12) === 'WEBP') return 'webp';
  if (ascii(data, 0, 2) === 'BM') return 'bmp';
  if (ascii(data, 0, 6) === 'GIF87a' || ascii(data, 0, 6) === 'GIF89a') return 'gif';
  if (ascii(data, 0, 4) === 'II*\0' || ascii(data, 0, 4) === 'MM\0*') return 'tiff';
  return undefined;
}

function corrupt(name: string, format: OtherFormat, why: string): Error {
  return imageError(name, `expected valid ${FORMAT_NAMES[format]} data but found ${why}`);
}

function truncated(name: string, format: OtherFormat, needed: number, found: number): Error {
  return imageError(name, `expected ${needed} bytes of ${FORMAT_NAMES[format]} data but the file has ${found} (truncated file)`);
}

/** RGBA or RGB pixels, `channels` per pixel, to RGB (alpha dropped, as Pillow's convert('RGB')) */
export function toRgb(pixels: ArrayLike<number>, width: number, height: number, channels: number): Uint8Array {
  const count = width * height;
  const out = new Uint8Array(count * 3);
  if (channels === 1) {
    for (let i = 0; i < count; i++) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = pixels[i];
    return out;
  }
  for (let i = 0; i < count; i++) {
    out[3 * i] = pixels[channels * i];
    out[3 * i + 1] = pixels[channels * i + 1];
    out[3 * i + 2] = pixels[channels * i + 2];
  }
  return out;
}

export async function decodeOtherFormat(name: string, data: Uint8Array, format: OtherFormat, maxPixels?: number): Promise<RgbImage> {
  switch (format) {
    case 'webp': return decodeWebp(name, data, maxPixels);
    case 'bmp': return decodeBmp(name, data, maxPixels);
    case 'gif': return decodeGif(name, data, maxPixels);
    case 'tiff': return decodeTiff(name, data, maxPixels);
  }
}

// ---- WebP ------------------------------------------------------------------------------------------

/** Width and height from the first chunk (WebP container spec: 'VP8 ', 'VP8L' or 'VP8X') */
export function webpSize(data: Uint8Array): { width: number; height: number } | undefined {
  if (data.length < 30) return undefined;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const chunk = ascii(data, 12, 16);
  if (chunk === 'VP8 ') {
    // RFC 6386 9.1: 3-byte frame tag, start code 9d 01 2a, then 14-bit width and height (2 bits of scale)
    return { width: view.getUint16(26, true) & 0x3fff, height: view.getUint16(28, true) & 0x3fff };
  }
  if (chunk === 'VP8L') {
    // lossless bitstream: signature 0x2f, then width-1 and height-1 in 14 bits each
    const bits = view.getUint32(21, true);
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (chunk === 'VP8X') {
    // extended: canvas width-1 and height-1 in 24 bits each
    const u24 = (at: number) => data[at] | (data[at + 1] << 8) | (data[at + 2] << 16);
    return { width: u24(24) + 1, height: u24(27) + 1 };
  }
  return undefined;
}

interface WebpDecoder {
  (buffer: ArrayBuffer): Promise<{ width: number; height: number; data: Uint8ClampedArray }>;
}

let webpDecoder: Promise<WebpDecoder> | undefined;

function loadWebpDecoder(): Promise<WebpDecoder> {
  webpDecoder ??= (async () => {
    const mod = await import('@jsquash/webp/decode.js');
    // the wasm next to the glue code, compiled here: the glue would otherwise fetch() it by URL
    const wasmPath = createRequire(import.meta.url).resolve('@jsquash/webp/codec/dec/webp_dec.wasm');
    const wasm = await WebAssembly.compile(readFileSync(wasmPath));
    await (mod.init as unknown as (module: WebAssembly.Module) => Promise<void>)(wasm);
    return mod.default as unknown as WebpDecoder;
  })();
  return webpDecoder;
}

async function decodeWebp(name: string, data: Uint8Array, maxPixels?: number): Promise<RgbImage> {
  const riffSize = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(4, true) + 8;
  if (data.length < riffSize) throw truncated(name, 'webp', riffSize, data.length);
  const size = webpSize(data);
  if (!size) throw corrupt(name, 'webp', `no VP8, VP8L or VP8X chunk header at byte 12 (${JSON.stringify(ascii(data, 12, 16))})`);
  checkImageSize(name, size.width, size.height, maxPixels);
  const decode = await loadWebpDecoder();
  let decoded;
  try {
    decoded = await decode(data.slice().buffer);
  } catch (e) {
    throw corrupt(name, 'webp', `data libwebp cannot decode (${(e as Error).message})`);
  }
  return { width: decoded.width, height: decoded.height, data: toRgb(decoded.data, decoded.width, decoded.height, 4) };
}

// ---- BMP -------------------------------------------------------------------------------------------

async function decodeBmp(name: string, data: Uint8Array, maxPixels?: number): Promise<RgbImage> {
  if (data.length < 30) throw truncated(name, 'bmp', 30, data.length);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const pixelOffset = view.getUint32(10, true);
  const headerSize = view.getUint32(14, true);
  if (headerSize < 40) throw corrupt(name, 'bmp', `a ${headerSize}-byte DIB header (OS/2 bitmaps are not read; expected 40 or more)`);
  if (data.length < 14 + headerSize) throw truncated(name, 'bmp', 14 + headerSize, data.length);
  const width = view.getInt32(18, true);
  const height = Math.abs(view.getInt32(22, true));
  const bitsPerPixel = view.getUint16(28, true);
  const compression = view.getUint32(30, true);
  if (width < 0) throw corrupt(name, 'bmp', `a negative width (${width})`);
  if (compression !== 0 && compression !== 3) {
    throw corrupt(name, 'bmp', `compression ${compression} (${BMP_COMPRESSION[compression] ?? 'unknown'}); only uncompressed and bit-field BMPs are read`);
  }
  checkImageSize(name, width, height, maxPixels);
  // rows are padded to 4 bytes: the file must hold all of them
  const rowBytes = Math.floor((bitsPerPixel * width + 31) / 32) * 4;
  const needed = pixelOffset + rowBytes * height;
  if (data.length < needed) throw truncated(name, 'bmp', needed, data.length);
  const { decode } = await import('bmp-ts');
  let decoded;
  try {
    // ABGR, the layout every one of its pixel paths writes
    decoded = decode(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  } catch (e) {
    throw corrupt(name, 'bmp', `data bmp-ts cannot decode (${(e as Error).message})`);
  }
  const rgb = new Uint8Array(decoded.width * decoded.height * 3);
  for (let i = 0, o = 0; o < rgb.length; i += 4) {
    rgb[o++] = decoded.data[i + 3];
    rgb[o++] = decoded.data[i + 2];
    rgb[o++] = decoded.data[i + 1];
  }
  return { width: decoded.width, height: decoded.height, data: rgb };
}

/** BITMAPINFOHEADER biCompression values */
const BMP_COMPRESSION: Record<number, string> = { 1: 'RLE8', 2: 'RLE4', 4: 'JPEG', 5: 'PNG', 6: 'alpha bit fields' };

// ---- GIF -------------------------------------------------------------------------------------------

interface GifReader {
  width: number;
  height: number;
  numFrames(): number;
  decodeAndBlitFrameRGBA(frame: number, pixels: Uint8Array): void;
  frameInfo(frame: number): object;
}

async function decodeGif(name: string, data: Uint8Array, maxPixels?: number): Promise<RgbImage> {
  const { GifReader } = createRequire(import.meta.url)('omggif') as { GifReader: new (data: Uint8Array) => GifReader };
  if (data.length < 13) throw truncated(name, 'gif', 13, data.length);
  let reader: GifReader;
  try {
    // parses every block, allocating nothing by the declared sizes; reading past the end is a truncated
    // or corrupt file
    reader = new GifReader(data);
  } catch (e) {
    throw corrupt(name, 'gif', `blocks omggif cannot parse (${(e as Error).message})`);
  }
  if (reader.numFrames() === 0) throw corrupt(name, 'gif', 'no image in the file');
  // the logical screen, which the first frame is painted on (GIF89a spec, section 18)
  checkImageSize(name, reader.width, reader.height, maxPixels);
  const pixels = new Uint8Array(reader.width * reader.height * 4);
  // omggif reports an LZW stream that ends early or runs long with console.log, which would land in the
  // middle of our stdout (classify --json): the decode is synchronous, so console.log is swapped for it
  // alone. Ending early leaves pixels unpainted: refused, as Pillow refuses a truncated image; running long
  // (codes past the frame's last pixel) leaves a whole frame, which is kept.
  // the transparent index painted like any other (Pillow's P -> RGB ignores transparency): omggif skips it,
  // so the frame's record (this reader's own) forgets it
  (reader.frameInfo(0) as { transparent_index: number | null }).transparent_index = null;
  const warnings: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => { warnings.push(args.map(String).join(' ')); };
  try {
    reader.decodeAndBlitFrameRGBA(0, pixels);
  } catch (e) {
    throw corrupt(name, 'gif', `a first frame omggif cannot decode (${(e as Error).message})`);
  } finally {
    console.log = log;
  }
  if (warnings.some((w) => /shorter than expected/.test(w))) {
    throw corrupt(name, 'gif', `a first frame whose pixel data ends before its last pixel (${reader.width}x${reader.height})`);
  }
  return { width: reader.width, height: reader.height, data: toRgb(pixels, reader.width, reader.height, 4) };
}

// ---- TIFF ------------------------------------------------------------------------------------------

interface TiffIfd {
  [tag: string]: unknown;
  width: number;
  height: number;
}

interface Utif {
  decode(buffer: ArrayBuffer, options?: { parseMN: boolean; debug: boolean }): TiffIfd[];
  decodeImage(buffer: ArrayBuffer, ifd: TiffIfd): void;
  toRGBA8(ifd: TiffIfd): Uint8Array;
}

const tagNumbers = (ifd: TiffIfd, tag: number): number[] | undefined => ifd[`t${tag}`] as number[] | undefined;

/** bytes per value of each TIFF field type (TIFF 6.0 section 2; 13 = IFD, TIFF/EP); 0: a type UTIF skips */
const TIFF_TYPE_BYTES = [0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4];
/** tags whose values UTIF follows as offsets of further directories: SubIFDs, Exif, GPS, and 61440 */
const TIFF_SUB_IFD_TAGS = new Set([330, 34665, 34853, 61440]);
const TIFF_MAX_DEPTH = 4;
const TIFF_MAX_DIRECTORIES = 256;

/**
 * Walks the directories UTIF.decode would read (the chain from the header, and the sub-directories it
 * follows) and refuses, before UTIF allocates anything, what would make it loop or read by lying counts:
 * a value array that does not fit in the file (UTIF pushes `count` values one by one: 2^32 of them for a
 * count of 0xffffffff), a directory chain that comes back to itself (UTIF.decode's loop has no end), nesting
 * deeper than TIFF_MAX_DEPTH, more than TIFF_MAX_DIRECTORIES directories.
 */
function checkTiffDirectories(name: string, data: Uint8Array): void {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const little = data[0] === 0x49;
  const u16 = (at: number) => view.getUint16(at, little);
  const u32 = (at: number) => view.getUint32(at, little);
  const seen = new Set<number>();
  const walk = (first: number, depth: number): void => {
    if (depth > TIFF_MAX_DEPTH) throw corrupt(name, 'tiff', `directories nested deeper than ${TIFF_MAX_DEPTH}`);
    for (let offset = first; offset !== 0;) {
      if (seen.has(offset)) throw corrupt(name, 'tiff', `a directory at offset ${offset} reached twice (a loop)`);
      seen.add(offset);
      if (seen.size > TIFF_MAX_DIRECTORIES) throw corrupt(name, 'tiff', `more than ${TIFF_MAX_DIRECTORIES} directories`);
      if (offset + 2 > data.length) throw truncated(name, 'tiff', offset + 2, data.length);
      const count = u16(offset);
      const end = offset + 2 + count * 12 + 4;
      if (end > data.length) throw truncated(name, 'tiff', end, data.length);
      // UTIF.decode stops the chain at a directory whose first entry has a type outside 1-13
      if (depth === 0 && count !== 0 && (u16(offset + 4) < 1 || u16(offset + 4) > 13)) return;
      for (let i = 0; i < count; i++) {
        const entry = offset + 2 + 12 * i;
        const tag = u16(entry), type = u16(entry + 2), values = u32(entry + 4);
        const bytes = values * (TIFF_TYPE_BYTES[type] ?? 0);
        const at = bytes > 4 ? u32(entry + 8) : entry + 8;
        if (at + bytes > data.length) throw truncated(name, 'tiff', at + bytes, data.length);
        if (TIFF_SUB_IFD_TAGS.has(tag)) {
          // UTIF follows whatever numbers the entry holds (bytes, shorts or longs)
          const size = TIFF_TYPE_BYTES[type] ?? 0;
          const read = size === 1 ? (j: number) => data[at + j] : size === 2 ? (j: number) => u16(at + 2 * j) : (j: number) => u32(at + 4 * j);
          if (size === 1 || size === 2 || (size === 4 && type !== 11)) for (let j = 0; j < values; j++) walk(read(j), depth + 1);
        }
        // 50740 (DNG private data): UTIF reads a directory at the offset in its first 4 bytes
        if (tag === 50740 && bytes >= 4) {
          const sub = u32(at);
          if (sub + 2 > data.length) throw truncated(name, 'tiff', sub + 2, data.length);
          if (u16(sub) < 300) walk(sub, depth + 1);
        }
      }
      if (depth > 0) return;  // UTIF follows the next-directory chain of the top level only
      offset = u32(end - 4);
    }
  };
  walk(u32(4), 0);
}

async function decodeTiff(name: string, data: Uint8Array, maxPixels?: number): Promise<RgbImage> {
  const UTIF = createRequire(import.meta.url)('utif2') as Utif;
  if (data.length < 8) throw truncated(name, 'tiff', 8, data.length);
  // the first directory (TIFF 6.0 section 2: its offset follows the byte order and 42)
  const ifdOffset = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(4, data[0] === 0x49);
  if (ifdOffset + 2 > data.length) throw truncated(name, 'tiff', ifdOffset + 2, data.length);
  checkTiffDirectories(name, data);
  const buffer = data.slice().buffer;
  let ifds: TiffIfd[];
  try {
    // the directories only: tags, no pixel data; maker notes (vendor directories inside Exif) are not read
    ifds = UTIF.decode(buffer, { parseMN: false, debug: false });
  } catch (e) {
    throw corrupt(name, 'tiff', `directories UTIF cannot parse (${(e as Error).message})`);
  }
  const ifd = ifds.find((d) => tagNumbers(d, 256) && tagNumbers(d, 257));
  if (!ifd) throw corrupt(name, 'tiff', 'no image directory with a width and height');
  const width = tagNumbers(ifd, 256)![0];
  const height = tagNumbers(ifd, 257)![0];
  checkImageSize(name, width, height, maxPixels);
  // strips (273 StripOffsets, 279 StripByteCounts) or tiles (324, 325) must lie inside the file
  for (const [offsetsTag, countsTag] of [[273, 279], [324, 325]]) {
    const offsets = tagNumbers(ifd, offsetsTag) ?? [];
    const counts = tagNumbers(ifd, countsTag) ?? [];
    for (let i = 0; i < offsets.length; i++) {
      const end = offsets[i] + (counts[i] ?? 0);
      if (end > data.length) throw truncated(name, 'tiff', end, data.length);
    }
  }
  let rgba: Uint8Array;
  try {
    UTIF.decodeImage(buffer, ifd);
    rgba = UTIF.toRGBA8(ifd);
  } catch (e) {
    throw corrupt(name, 'tiff', `pixel data UTIF cannot decode (${(e as Error).message})`);
  }
  if (rgba.length < width * height * 4) throw corrupt(name, 'tiff', `${rgba.length} bytes of pixels for ${width}x${height}`);
  return { width, height, data: toRgb(rgba, width, height, 4) };
}
