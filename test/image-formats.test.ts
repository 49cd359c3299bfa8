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

test('bytes that are none of the formats say what they are', async () => {
  await assert.rejects(decodeImage(new TextEncoder().encode('hello world, not an image')), {
    code: 'ERR_IMAGE',
    message: '<buffer>: expected an image (JPEG, PNG, WebP, BMP, GIF or TIFF) but found bytes 68 65 6c 6c',
  });
});
