// Malformed and hostile image inputs, built here: each is one ERR_IMAGE line naming the input, nothing is
// decoded into a blank picture, and no device or FIFO is read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync, crc32 } from 'node:zlib';
import { decodeImage } from '../lib/image/decode.js';
import { DEFAULT_MAX_PIXELS } from '../lib/image/input.js';
import { loadInputs, resizeCropGeometry } from '../lib/image/preprocess.js';
import { PREPROCESS } from '../lib/model/archs.js';

function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}
const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
function ihdr(width: number, height: number, depth = 8, colourType = 2): Buffer {
  const d = Buffer.alloc(13);
  d.writeUInt32BE(width, 0);
  d.writeUInt32BE(height, 4);
  d[8] = depth;
  d[9] = colourType;
  return chunk('IHDR', d);
}
/** 4x4 RGB, 8-bit, every row filter 0 */
const PIXELS = Buffer.alloc(4 * (1 + 4 * 3), 0x40);
for (let row = 0; row < 4; row++) PIXELS[row * 13] = 0;
const IEND = chunk('IEND', new Uint8Array(0));
const png = (...chunks: Buffer[]) => Buffer.concat([SIGNATURE, ...chunks]);
const GOOD = png(ihdr(4, 4), chunk('IDAT', deflateSync(PIXELS)), IEND);

test('a well-formed PNG built here decodes (the control for the cases below)', async () => {
  const image = await decodeImage(GOOD);
  assert.deepEqual([image.width, image.height, image.data[0]], [4, 4, 0x40]);
});

test('PNGs without image data, with garbage or too little of it, or lying lengths are refused with one line', async () => {
  const lying = Buffer.from(GOOD);
  lying.writeUInt32BE(1000, 33);  // the IDAT's length
  const cases: [string, Buffer, string][] = [
    ['no IDAT', png(ihdr(4, 4), IEND), 'expected PNG image data (an IDAT chunk) but found none'],
    ['garbage IDAT', png(ihdr(4, 4), chunk('IDAT', Buffer.from('not zlib at all')), IEND),
      'expected zlib-compressed PNG image data but found corrupt data (incorrect header check)'],
    ['short IDAT', png(ihdr(4, 4), chunk('IDAT', deflateSync(PIXELS.subarray(0, 20))), IEND),
      'expected 52 bytes of PNG image data for 4x4 but the IDAT data inflates to 20 (truncated or corrupt)'],
    ['IHDR not first', png(chunk('tEXt', Buffer.from('a\0b')), ihdr(4, 4), chunk('IDAT', deflateSync(PIXELS)), IEND),
      "expected the IHDR chunk (13 bytes) first in a PNG but found 'tEXt' of 3 bytes"],
    ['lying length', lying, "expected the PNG chunk 'IDAT' at byte 33 to fit in the file but it declares 1000 bytes and the file ends 26 bytes later (truncated or corrupt)"],
    ['no IEND', GOOD.subarray(0, GOOD.length - 12), 'expected a complete PNG but the data ends before the IEND chunk (truncated file)'],
    ['truncated in IHDR', GOOD.subarray(0, 20), 'expected a complete PNG but the data ends inside the IHDR chunk (truncated file)'],
    ['bad depth', png(ihdr(4, 4, 3, 2), chunk('IDAT', deflateSync(PIXELS)), IEND), 'expected a bit depth of 8, 16 for PNG colour type 2 but found 3'],
    ['palette without PLTE', png(ihdr(4, 4, 8, 3), chunk('IDAT', deflateSync(Buffer.alloc(20))), IEND), 'expected a PLTE chunk in a palette PNG but found none'],
    ['zero width', png(ihdr(0, 4), chunk('IDAT', deflateSync(PIXELS)), IEND), 'expected an image with a non-zero size but found 0x4'],
    ['huge 16-bit', png(ihdr(10000, 10000, 16, 2), chunk('IDAT', deflateSync(PIXELS)), IEND),
      `expected an image of at most ${DEFAULT_MAX_PIXELS} pixels (ALEXNET_CLI_MAX_PIXELS) but found 10000x10000 = 100000000`],
  ];
  for (const [what, data, message] of cases) {
    await assert.rejects(decodeImage(data), { code: 'ERR_IMAGE', message: `<buffer>: ${message}` }, what);
  }
});

test('the pixel limit is configurable (option and ALEXNET_CLI_MAX_PIXELS) and checked from the header', async () => {
  const big = png(ihdr(5000, 5000), chunk('IDAT', deflateSync(PIXELS)), IEND);
  await assert.rejects(decodeImage(GOOD, { maxPixels: 15 }), { message: '<buffer>: expected an image of at most 15 pixels (ALEXNET_CLI_MAX_PIXELS) but found 4x4 = 16' });
  process.env.ALEXNET_CLI_MAX_PIXELS = '10';
  try {
    await assert.rejects(decodeImage(GOOD), { message: /at most 10 pixels/ });
  } finally {
    delete process.env.ALEXNET_CLI_MAX_PIXELS;
  }
  // under the limit, the header's 25 megapixels need 75 MB of data: refused as short, not decoded
  await assert.rejects(decodeImage(big), { message: /expected 75005000 bytes of PNG image data for 5000x5000/ });
});

test('a device, a FIFO and a directory are refused as not regular files, without reading them', async () => {
  await assert.rejects(decodeImage('/dev/zero'), { code: 'ERR_IMAGE', message: '/dev/zero: expected a regular file (an image file) but found a character device' });
  const dir = mkdtempSync(join(tmpdir(), 'alexnet-hostile-'));
  const fifo = join(dir, 'pipe.jpg');
  execFileSync('mkfifo', [fifo]);
  // nothing ever writes to the FIFO: reading it would block forever
  await assert.rejects(decodeImage(fifo), { message: `${fifo}: expected a regular file (an image file) but found a FIFO` });
  await assert.rejects(decodeImage(dir), { message: `${dir}: expected a regular file (an image file) but found a directory` });
  await assert.rejects(loadInputs(['/dev/zero.npy'.replace('.npy', '')], PREPROCESS.seed), { message: /character device/ });
});

function npy(shape: number[], values: Float32Array): Buffer {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const head = Buffer.alloc(10);
  Buffer.from('\x93NUMPY', 'latin1').copy(head);
  head[6] = 1;
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(values.buffer)]);
}

test('.npy tensors: non-finite values and an empty or negative batch are refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'alexnet-npy-'));
  const write = (name: string, data: Buffer) => {
    const path = join(dir, name);
    writeFileSync(path, data);
    return path;
  };
  const nan = new Float32Array(3 * 4 * 4).fill(NaN);
  const oneInf = new Float32Array(3 * 4 * 4);
  oneInf[7] = Infinity;
  const cases: [string, Buffer, string][] = [
    ['nan.npy', npy([3, 4, 4], nan), 'expected finite values in the tensor but found 48 of 48 NaN or infinite'],
    ['inf.npy', npy([1, 3, 4, 4], oneInf), 'expected finite values in the tensor but found 1 of 48 NaN or infinite'],
    ['zero.npy', npy([0, 3, 4, 4], new Float32Array(0)), 'expected a float32 tensor of shape [3,H,W] or [N,3,H,W] with N >= 1 but found [0,3,4,4]'],
    // a negative dimension is no numpy shape at all: refused where the header is read
    ['negative.npy', npy([-1, 3, 4, 4], new Float32Array(0)), 'expected a shape of non-negative integers, as numpy writes it, but found (-1, 3, 4, 4)'],
  ];
  for (const [name, data, message] of cases) {
    const path = write(name, data);
    await assert.rejects(loadInputs([path], PREPROCESS.seed), { code: 'ERR_IMAGE', message: `${path}: ${message}` }, name);
  }
});

test('an absurd resize in the preprocessing is its own error, not the image\'s', () => {
  assert.throws(() => resizeCropGeometry(500, 375, { ...PREPROCESS.torchvision, resize: [1e6, 1e6] }), {
    code: 'ERR_PREPROCESS',
    message: /^Expected a preprocessing resize and crop of at most 67108864 pixels but received resize to 1333333x1000000/,
  });
});
