// The native preprocessing (native/image/preprocess.cc) against its JavaScript twin (resize.ts,
// preprocess.ts) and torchvision's fixtures: bit-identical everywhere, measured and required.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { decodeImage, type RgbImage } from '../lib/image/decode.js';
import { centerCrop, resizeBilinear } from '../lib/image/resize.js';
import { loadImageTensor, preprocess, preprocessBackend, resizeAndCrop, resizeCropGeometry, toTensor } from '../lib/image/preprocess.js';
import { PREPROCESS } from '../lib/model/archs.js';
import type { Preprocess } from '../lib/model/layers.js';

const here = dirname(fileURLToPath(import.meta.url));
// dist/test/image-native.test.js -> <root>/test/fixtures/images
const IMAGES = join(here, '..', '..', 'test', 'fixtures', 'images');
const fixture = (name: string) => join(IMAGES, name);

function nativeAvailable(): boolean {
  const previous = process.env.ALEXNET_CLI_PREPROCESS;
  delete process.env.ALEXNET_CLI_PREPROCESS;
  try {
    return preprocessBackend() === 'native';
  } finally {
    if (previous !== undefined) process.env.ALEXNET_CLI_PREPROCESS = previous;
  }
}
const skip = nativeAvailable() ? false : 'addon built without libjpeg (no native preprocessing)';

/** run `fn` with ALEXNET_CLI_PREPROCESS set to `backend` */
async function withBackend<T>(backend: 'js' | 'native', fn: () => T | Promise<T>): Promise<T> {
  const previous = process.env.ALEXNET_CLI_PREPROCESS;
  process.env.ALEXNET_CLI_PREPROCESS = backend;
  try {
    return await fn();
  } finally {
    if (previous === undefined) delete process.env.ALEXNET_CLI_PREPROCESS;
    else process.env.ALEXNET_CLI_PREPROCESS = previous;
  }
}

/** deterministic noise with some smooth structure, so both flat areas and edges are resampled */
function randomImage(width: number, height: number, seed: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  let state = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const pixel = Math.floor(i / 3);
    const smooth = ((pixel % width) * 7 + Math.floor(pixel / width) * 3) & 255;
    data[i] = i % 5 === 0 ? state >>> 24 : (smooth + (state >>> 29)) & 255;
  }
  return { width, height, data };
}

function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): string {
  assert.equal(a.length, b.length, 'lengths');
  let count = 0;
  let first = -1;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) {
      count++;
      if (first < 0) first = i;
      max = Math.max(max, Math.abs(a[i] - b[i]));
    }
  }
  return count === 0 ? 'identical' : `${count} differ, first at ${first} (${a[first]} vs ${b[first]}), max ${max}`;
}

const torchvision = PREPROCESS.torchvision;
const shorter = (size: number, crop: [number, number] | null): Preprocess => ({ ...torchvision, resize: [size, size], crop });
const exact = (h: number, w: number, crop: [number, number] | null): Preprocess =>
  ({ ...torchvision, resizeMode: 'exact', resize: [h, w], crop });

// [image width, image height, preset]: down- and upscales, odd sizes, 1xN and Nx1, extreme aspect
// ratios, crops larger than the resized image (zero padding on one or both axes), no crop, one axis
// unchanged (Resample.c skips that pass), and the real ImageNet case
const CASES: [number, number, Preprocess][] = [
  [500, 375, torchvision],
  [375, 500, torchvision],
  [333, 257, torchvision],
  [37, 23, shorter(256, [224, 224])],          // upscale x11
  [17, 400, shorter(31, [29, 13])],
  [1, 1, shorter(5, [3, 3])],
  [1, 97, exact(41, 7, null)],                 // 1xN
  [97, 1, exact(3, 50, [2, 49])],              // Nx1
  [1, 300, shorter(256, [224, 224])],          // extreme aspect: 256 x 76800, crop 224x224
  [2000, 3, shorter(8, [8, 8])],
  [640, 480, shorter(256, [300, 400])],        // crop wider and taller than... width only pads
  [50, 50, shorter(10, [13, 11])],             // pads both axes, odd padding
  [64, 48, exact(48, 100, [40, 90])],          // height unchanged: horizontal pass only
  [64, 48, exact(30, 64, [30, 61])],           // width unchanged: vertical pass only
  [64, 48, exact(48, 64, [47, 63])],           // no resampling at all, crop only
  [1023, 767, exact(227, 227, null)],          // caffe-like exact resize, no crop
];

test('native resize + crop is bit-identical to resize.ts on odd sizes', { skip }, async () => {
  for (const [i, [width, height, p]] of CASES.entries()) {
    const image = randomImage(width, height, i + 1);
    const js = await withBackend('js', () => resizeAndCrop(image, p));
    const ours = await withBackend('native', () => resizeAndCrop(image, p));
    const label = `${width}x${height} -> ${p.resizeMode} ${p.resize} crop ${p.crop}`;
    assert.deepEqual([ours.width, ours.height], [js.width, js.height], label);
    assert.equal(firstDifference(ours.data, js.data), 'identical', label);
  }
});

test('the JS path is the reference: resizeBilinear then centerCrop', async () => {
  const image = randomImage(333, 257, 7);
  const ours = await withBackend('js', () => resizeAndCrop(image, torchvision));
  const [, , rw, rh] = resizeCropGeometry(333, 257, torchvision);
  const expected = centerCrop(resizeBilinear(image, rw, rh), 224, 224);
  assert.equal(firstDifference(ours.data, expected.data), 'identical');
});

test('resizeCropGeometry: torchvision sizes and centre-crop offsets, negative for padding', () => {
  assert.deepEqual(resizeCropGeometry(500, 375, torchvision), [500, 375, 341, 256, 16, 58, 224, 224]);
  // 341 - 224 = 117 -> 58.5 -> round half to even 58 (left for landscape, top for portrait)
  assert.deepEqual(resizeCropGeometry(375, 500, torchvision), [375, 500, 256, 341, 58, 16, 224, 224]);
  assert.deepEqual(resizeCropGeometry(50, 50, shorter(10, [13, 11])), [50, 50, 10, 10, -1, 0, 13, 11]);
  assert.throws(() => resizeCropGeometry(10, 10, exact(0, 5, null)),
    { message: 'Expected a positive integer size for resize but received 5x0' });
});

const JPEGS = ['coffee-baseline.jpg', 'chelsea-progressive.jpg', 'chelsea-exif6.jpg', 'cmyk.jpg'];

test('fused decodePreprocessJpeg equals decode + preprocess in JavaScript, both presets', { skip }, async () => {
  for (const name of JPEGS) {
    for (const exifOrientation of [true, false]) {
      for (const preset of ['torchvision', 'caffe'] as const) {
        const p = PREPROCESS[preset];
        const image = await decodeImage(fixture(name), { jpegDecoder: 'native', exifOrientation });
        const js = await withBackend('js', () => preprocess(image, p));
        const fused = await withBackend('native', () => loadImageTensor(fixture(name), p, { exifOrientation }));
        assert.equal(firstDifference(fused, js), 'identical', `${name} ${preset} exif ${exifOrientation}`);
      }
    }
  }
});

/** coffee-baseline.jpg with an EXIF APP1 segment holding Orientation = orientation, right after SOI */
function withOrientation(jpeg: Uint8Array, orientation: number): Uint8Array {
  const app1 = Buffer.alloc(36);
  app1.writeUInt16BE(0xffe1, 0);
  app1.writeUInt16BE(34, 2);
  app1.write('Exif\0\0', 4, 'latin1');
  app1.write('MM', 10, 'latin1');
  app1.writeUInt16BE(42, 12);
  app1.writeUInt32BE(8, 14);         // IFD0 at TIFF offset 8
  app1.writeUInt16BE(1, 18);         // one entry
  app1.writeUInt16BE(0x0112, 20);    // Orientation
  app1.writeUInt16BE(3, 22);         // SHORT
  app1.writeUInt32BE(1, 24);
  app1.writeUInt16BE(orientation, 28);
  app1.writeUInt32BE(0, 32);         // no next IFD
  return Buffer.concat([jpeg.subarray(0, 2), app1, jpeg.subarray(2)]);
}

test('fused path applies all eight EXIF orientations like decodeImage + orient', { skip }, async () => {
  const coffee = readFileSync(fixture('coffee-baseline.jpg'));
  for (let orientation = 1; orientation <= 8; orientation++) {
    const data = withOrientation(coffee, orientation);
    const image = await decodeImage(data, { jpegDecoder: 'native' });
    assert.deepEqual([image.width, image.height], orientation >= 5 ? [375, 500] : [500, 375], `orientation ${orientation}`);
    const js = await withBackend('js', () => preprocess(image, torchvision));
    const fused = await withBackend('native', () => loadImageTensor(data, torchvision));
    assert.equal(firstDifference(fused, js), 'identical', `orientation ${orientation}`);
  }
});

const PHOTOS = ['coffee-baseline.jpg', 'chelsea-progressive.jpg', 'astronaut.png', 'rocket-rgba.png', 'camera-gray.png', 'chelsea-exif6.jpg'];

test('photos through the native path equal torchvision (mean abs difference 0)', { skip }, async () => {
  for (const photo of PHOTOS) {
    const stem = photo.replace(/\.(jpg|png)$/, '');
    for (const preset of ['torchvision', 'caffe'] as const) {
      const p = PREPROCESS[preset];
      // the reference is the uint8 image torchvision hands ToTensor (test/fixtures/make_image_fixtures.py)
      const reference = toTensor(await decodeImage(fixture(`${stem}.${preset}.png`)), p);
      const viaLoad = await withBackend('native', () => loadImageTensor(fixture(photo), p, { jpegDecoder: 'native' }));
      const viaResize = await withBackend('native', async () => preprocess(await decodeImage(fixture(photo), { jpegDecoder: 'native' }), p));
      assert.equal(firstDifference(viaLoad, reference), 'identical', `${photo} ${preset} (loadImageTensor)`);
      assert.equal(firstDifference(viaResize, reference), 'identical', `${photo} ${preset} (resizeAndCrop)`);
    }
  }
});

test('fused path errors are the decoder errors, naming the file', { skip }, async () => {
  await withBackend('native', async () => {
    await assert.rejects(loadImageTensor(fixture('corrupt.jpg'), torchvision), {
      code: 'ERR_IMAGE',
      message: `${fixture('corrupt.jpg')}: expected valid JPEG data but found corrupt data (no marker at byte 27549: 0x11)`,
    });
    await assert.rejects(loadImageTensor(fixture('truncated.jpg'), torchvision), {
      code: 'ERR_IMAGE',
      message: `${fixture('truncated.jpg')}: expected a complete JPEG but the data ends before the end-of-image marker (truncated file)`,
    });
    // a marker inside the entropy-coded data: only libjpeg sees it, on the worker thread
    const data = new Uint8Array(readFileSync(fixture('coffee-baseline.jpg')));
    data.set([0xff, 0xd3], 30000);
    await assert.rejects(loadImageTensor(data, torchvision), {
      code: 'ERR_IMAGE',
      message: /^<buffer>: expected valid JPEG data but found corrupt data \(Corrupt JPEG data: /,
    });
    await assert.rejects(loadImageTensor(fixture('missing.jpg'), torchvision), {
      code: 'ERR_IMAGE',
      message: `${fixture('missing.jpg')}: expected a readable image file but found no such file`,
    });
  });
});

test('native resizeCropRgb and decodePreprocessJpeg re-check buffer lengths and offsets', { skip }, async () => {
  const { imageBinding } = await import('../lib/image/image-binding.js');
  const { native } = await import('../lib/native.js');
  const binding = imageBinding()!;
  assert.throws(() => binding.resizeCropRgb(new Uint8Array(10), Int32Array.from([4, 4, 2, 2, 0, 0, 2, 2])), {
    code: 'ERR_SHAPE',
    message: 'Expected at least 48 bytes for rgb but received 10',
  });
  assert.throws(() => binding.resizeCropRgb(new Uint8Array(48), Int32Array.from([4, 4, 0, 2, 0, 0, 2, 2])), {
    code: 'ERR_ARG',
    message: 'Expected positive sizes for geometry but received 0',
  });
  // a destination one element short at the offset, a negative offset, a disposed tensor: refused before any write
  const jpeg = new Uint8Array(readFileSync(fixture('coffee-baseline.jpg')));
  const geometry = Int32Array.from([500, 375, 299, 224, 0, 37, 224, 224, 1, 0]);
  const lut = new Float32Array(768);
  const tensor = native().alloc('cpu', 2 * 3 * 224 * 224);
  assert.throws(() => binding.decodePreprocessJpeg(jpeg, geometry, lut, tensor, 3 * 224 * 224 + 1), {
    code: 'ERR_SHAPE',
    message: 'Expected room for 150528 elements at offset 150529 for out but received 301056 elements',
  });
  assert.throws(() => binding.decodePreprocessJpeg(jpeg, geometry, lut, new Float32Array(150527), 0), { code: 'ERR_SHAPE' });
  assert.throws(() => binding.decodePreprocessJpeg(jpeg, geometry, lut, tensor, -1), { code: 'ERR_ARG' });
  tensor.dispose();
  assert.throws(() => binding.decodePreprocessJpeg(jpeg, geometry, lut, tensor, 0), { code: 'ERR_DISPOSED' });
});

// The score command decodes in worker_threads: the addon must load and compute in each of them
// (NODE_API_MODULE registers a context-aware module) and give the main thread's results.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  const { loadImageTensor, preprocessBackend, resizeAndCrop } = await import(workerData.preprocessUrl);
  const { decodeImage } = await import(workerData.decodeUrl);
  const { PREPROCESS } = await import(workerData.archsUrl);
  const p = PREPROCESS.torchvision;
  const fused = await loadImageTensor(workerData.path, p);
  const image = await decodeImage(workerData.path);
  const cropped = resizeAndCrop(image, p);
  parentPort.postMessage({ backend: preprocessBackend(), fused, cropped: cropped.data });
})().catch((e) => parentPort.postMessage({ error: e.stack }));
`;

test('native preprocessing works inside worker threads, several at once', { skip }, async () => {
  const url = (path: string) => new URL(path, import.meta.url).href;
  const path = fixture('chelsea-exif6.jpg');
  const run = () => new Promise<{ backend: string; fused: Float32Array; cropped: Uint8Array; error?: string }>((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        path,
        preprocessUrl: url('../lib/image/preprocess.js'),
        decodeUrl: url('../lib/image/decode.js'),
        archsUrl: url('../lib/model/archs.js'),
      },
      env: { ...process.env, ALEXNET_CLI_PREPROCESS: 'native' },
    });
    worker.once('message', (m) => { resolve(m); void worker.terminate(); });
    worker.once('error', reject);
  });
  const results = await Promise.all([run(), run(), run()]);
  const expected = await withBackend('js', async () => preprocess(await decodeImage(path, { jpegDecoder: 'native' }), torchvision));
  const expectedCrop = await withBackend('js', async () => resizeAndCrop(await decodeImage(path, { jpegDecoder: 'native' }), torchvision));
  for (const r of results) {
    assert.equal(r.error, undefined);
    assert.equal(r.backend, 'native');
    assert.equal(firstDifference(r.fused, expected), 'identical');
    assert.equal(firstDifference(r.cropped, expectedCrop.data), 'identical');
  }
});
