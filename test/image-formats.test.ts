// WebP, BMP, GIF and TIFF (lib/image/formats.ts) against Pillow's decode of the same files, and the
// hostile variants refused with one line. Fixtures: test/fixtures/make_format_fixtures.py.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeImage } from '../lib/image/decode.js';

const FORMATS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'fixtures', 'images', 'formats');
const fixture = (name: string) => join(FORMATS, name);

/** uint8 .npy [H, W, 3], as numpy saves np.asarray(pil_image) */
function readNpyRgb(name: string): { width: number; height: number; data: Uint8Array } {
  const file = readFileSync(fixture(name));
  const headerLength = file.readUInt16LE(8);
  const header = file.toString('latin1', 10, 10 + headerLength);
  const [height, width] = /'shape': \((\d+), (\d+), 3\)/.exec(header)!.slice(1).map(Number);
  return { width, height, data: new Uint8Array(file.subarray(10 + headerLength)) };
}

const decoded = ['lossy.webp', 'lossless-alpha.webp', 'rgb24.bmp', 'palette8.bmp', 'animated.gif', 'lzw.tif', 'rgba-deflate.tif'];

for (const name of decoded) {
  test(`${name} decodes to Pillow's convert('RGB') exactly`, async () => {
    const ours = await decodeImage(fixture(name));
    const expected = readNpyRgb(name.replace(/\.\w+$/, '.rgb.npy'));
    assert.deepEqual([ours.width, ours.height], [expected.width, expected.height]);
    let differing = 0;
    for (let i = 0; i < ours.data.length; i++) if (ours.data[i] !== expected.data[i]) differing++;
    assert.equal(differing, 0, `${differing} of ${ours.data.length} samples differ`);
  });
}

test('decodes from a buffer too (the format comes from the bytes, not the name)', async () => {
  const ours = await decodeImage(new Uint8Array(readFileSync(fixture('lzw.tif'))));
  assert.deepEqual([ours.width, ours.height], [64, 48]);
});

test('headers declaring more pixels than the limit are refused before decoding', async () => {
  for (const ext of ['webp', 'bmp', 'gif', 'tif']) {
    await assert.rejects(decodeImage(fixture(`bomb.${ext}`)), {
      code: 'ERR_IMAGE',
      message: `${fixture(`bomb.${ext}`)}: expected an image of at most 89478485 pixels (ALEXNET_CLI_MAX_PIXELS) but found 30000x30000 = 900000000`,
    });
  }
  await assert.rejects(decodeImage(fixture('lossy.webp'), { maxPixels: 1000 }), {
    message: `${fixture('lossy.webp')}: expected an image of at most 1000 pixels (ALEXNET_CLI_MAX_PIXELS) but found 64x48 = 3072`,
  });
});

test('truncated files are refused with one line naming the file', async () => {
  const expected: Record<string, RegExp> = {
    webp: /: expected 656 bytes of WebP data but the file has 328 \(truncated file\)$/,
    bmp: /: expected 9270 bytes of BMP data but the file has 4635 \(truncated file\)$/,
    gif: /: expected valid GIF data but found blocks omggif cannot parse \(.+\)$/,
    tif: /: expected \d+ bytes of TIFF data but the file has 6492 \(truncated file\)$/,
  };
  for (const [ext, message] of Object.entries(expected)) {
    const path = fixture(`truncated.${ext}`);
    const error = await decodeImage(path).then(() => undefined, (e: Error & { code?: string }) => e);
    assert.ok(error, `truncated.${ext} decoded`);
    assert.equal(error.code, 'ERR_IMAGE');
    assert.ok(error.message.startsWith(`${path}: `), error.message);
    assert.match(error.message, message);
    assert.doesNotMatch(error.message, /\n/);
  }
});

/** a GIF89a of width x height, two colours (black, white), one frame whose LZW data (code size 2) is `lzw` */
function gif(width: number, height: number, lzw: number[]): Uint8Array {
  const u16 = (v: number) => [v & 0xff, v >> 8];
  return Uint8Array.from([
    ...'GIF89a'.split('').map((c) => c.charCodeAt(0)), ...u16(width), ...u16(height), 0x80, 0, 0, 0, 0, 0, 255, 255, 255,
    0x2c, 0, 0, 0, 0, ...u16(width), ...u16(height), 0, 2, lzw.length, ...lzw, 0, 0x3b,
  ]);
}

test('a GIF whose pixel data ends early is refused in one line; one that runs long keeps its frame; nothing on stdout', async () => {
  const printed: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => { printed.push(args.join(' ')); };
  try {
    // LZW codes of 3 bits, packed from the least significant bit: clear (4), white (1), end (5) =
    // 001 100 101 (bit order) -> bytes 0x4c 0x01: one pixel, where a 4x4 frame needs 16
    await assert.rejects(decodeImage(gif(4, 4, [0x4c, 0x01])), {
      code: 'ERR_IMAGE', message: '<buffer>: expected valid GIF data but found a first frame whose pixel data ends before its last pixel (4x4)',
    });
    // the same codes fill a 1x1 frame exactly
    assert.deepEqual([...(await decodeImage(gif(1, 1, [0x4c, 0x01]))).data], [255, 255, 255]);
    // clear, white, white, white, end (001 100 100 100 101 -> 0x4c 0x52): codes past the last pixel, the
    // frame kept
    const long = await decodeImage(gif(1, 1, [0x4c, 0x52]));
    assert.deepEqual([long.width, long.height, [...long.data]], [1, 1, [255, 255, 255]]);
  } finally {
    console.log = log;
  }
  assert.deepEqual(printed, []);
});

/** a little-endian TIFF: one directory at offset 8 with `entries` [tag, type, count, value], then `next` */
function tiff(entries: number[][], next = 0): Uint8Array {
  const out = Buffer.alloc(8 + 2 + 12 * entries.length + 4 + 64);
  out.write('II', 0, 'latin1');
  out.writeUInt16LE(42, 2);
  out.writeUInt32LE(8, 4);
  out.writeUInt16LE(entries.length, 8);
  entries.forEach(([tag, type, count, value], i) => {
    out.writeUInt16LE(tag, 10 + 12 * i);
    out.writeUInt16LE(type, 12 + 12 * i);
    out.writeUInt32LE(count, 14 + 12 * i);
    out.writeUInt32LE(value, 18 + 12 * i);
  });
  out.writeUInt32LE(next, 10 + 12 * entries.length);
  return new Uint8Array(out);
}

test('TIFF directories that loop or whose counts lie are refused before UTIF reads them', async () => {
  const size = [[256, 3, 1, 4], [257, 3, 1, 4]];
  const length = tiff(size).length;
  // the next-directory pointer back to the same directory (UTIF.decode would loop for ever)
  await assert.rejects(decodeImage(tiff(size, 8)), {
    code: 'ERR_IMAGE', message: '<buffer>: expected valid TIFF data but found a directory at offset 8 reached twice (a loop)',
  });
  // a SubIFDs entry pointing at its own directory
  await assert.rejects(decodeImage(tiff([...size, [330, 4, 1, 8]])), {
    code: 'ERR_IMAGE', message: '<buffer>: expected valid TIFF data but found a directory at offset 8 reached twice (a loop)',
  });
  // 2^32 - 1 shorts of strip offsets at offset 40 (UTIF would push them one by one)
  await assert.rejects(decodeImage(tiff([...size, [273, 3, 0xffffffff, 40]])), {
    code: 'ERR_IMAGE', message: `<buffer>: expected ${40 + 2 * 0xffffffff} bytes of TIFF data but the file has ${length + 12} (truncated file)`,
  });
  // a next directory past the end
  await assert.rejects(decodeImage(tiff(size, 5000)), {
    code: 'ERR_IMAGE', message: `<buffer>: expected 5002 bytes of TIFF data but the file has ${length} (truncated file)`,
  });
});

test('a GIF\'s transparent pixels get their palette colour, as Pillow\'s convert(\'RGB\') gives them', async () => {
  // 2x1, palette (10,20,30) (200,100,50), a graphic control extension making index 0 transparent, pixels
  // 0 and 1: LZW codes clear, 0, 1, end = 001 000 100 101 -> 0x44 0x0a. Pillow 9.4: [(10,20,30), (200,100,50)]
  const bytes = Uint8Array.from([
    ...'GIF89a'.split('').map((c) => c.charCodeAt(0)), 2, 0, 1, 0, 0x80, 0, 0, 10, 20, 30, 200, 100, 50,
    0x21, 0xf9, 4, 0x01, 0, 0, 0, 0,
    0x2c, 0, 0, 0, 0, 2, 0, 1, 0, 0, 2, 2, 0x44, 0x0a, 0, 0x3b,
  ]);
  const image = await decodeImage(bytes);
  assert.deepEqual([...image.data], [10, 20, 30, 200, 100, 50]);
});

test('bytes that are none of the formats say what they are', async () => {
  await assert.rejects(decodeImage(new TextEncoder().encode('hello world, not an image')), {
    code: 'ERR_IMAGE',
    message: '<buffer>: expected an image (JPEG, PNG, WebP, BMP, GIF or TIFF) but found bytes 68 65 6c 6c',
  });
});
