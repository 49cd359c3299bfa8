// lib/image against PIL 9.4 / torchvision 0.14 outputs made by test/fixtures/make_image_fixtures.py.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeImage, hasNativeJpeg, orient, type RgbImage } from '../lib/image/decode.js';
import { centerCrop, resizeBilinear, resizedSize } from '../lib/image/resize.js';
import { loadInputs, preprocess, toTensor } from '../lib/image/preprocess.js';
import { parseNpy } from '../lib/weights/npy.js';
import { PREPROCESS } from '../lib/model/archs.js';
import type { Preprocess } from '../lib/model/layers.js';

// dist/test/image.test.js -> <root>/test/fixtures/images
const IMAGES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'fixtures', 'images');
const fixture = (name: string) => join(IMAGES, name);

/** uint8 .npy [H, W, 3] (what numpy saves for np.asarray(pil_image)) */
function readNpyRgb(name: string): RgbImage {
  const file = readFileSync(fixture(name));
  const headerLength = file.readUInt16LE(8);
  const header = file.toString('latin1', 10, 10 + headerLength);
  assert.match(header, /'descr': '\|u1'/);
  const [height, width, channels] = /'shape': \((\d+), (\d+), (\d+)\)/.exec(header)!.slice(1).map(Number);
  assert.equal(channels, 3);
  return { width, height, data: new Uint8Array(file.subarray(10 + headerLength)) };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

function meanAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}

const nativeSkip = hasNativeJpeg() ? false : 'addon built without libjpeg';

// ---- resize ------------------------------------------------------------------------------------

test('resizeBilinear equals PIL Image.resize(BILINEAR) exactly on a synthetic image', async () => {
  const image = await decodeImage(fixture('synthetic.png'));
  assert.deepEqual([image.width, image.height], [37, 23]);
  for (const [w, h] of [[16, 9], [50, 31], [37, 11], [12, 23], [5, 4], [90, 7], [1, 1]]) {
    const expected = readNpyRgb(`synthetic.resize-${w}x${h}.npy`);
    const ours = resizeBilinear(image, w, h);
    assert.deepEqual([ours.width, ours.height], [expected.width, expected.height]);
    assert.equal(maxAbsDiff(ours.data, expected.data), 0, `${w}x${h}`);
  }
});

test('resizeBilinear to the same size copies', () => {
  const image: RgbImage = { width: 2, height: 1, data: new Uint8Array([1, 2, 3, 4, 5, 6]) };
  const same = resizeBilinear(image, 2, 1);
  assert.deepEqual(same.data, image.data);
  assert.notEqual(same.data, image.data);
  assert.throws(() => resizeBilinear(image, 0, 3), { message: 'Expected a positive integer size for resize but received 0x3' });
});

test('resizedSize truncates the longer side as torchvision 0.14 does', () => {
  assert.deepEqual(resizedSize(375, 500, 256), [256, 341]); // 341.33
  assert.deepEqual(resizedSize(213, 320, 256), [256, 384]); // 384.60: truncated, not rounded
  assert.deepEqual(resizedSize(500, 375, 256), [341, 256]);
  assert.deepEqual(resizedSize(300, 300, 256), [256, 256]);
});

test('centerCrop rounds half to even like Python and zero-pads small images', () => {
  const row = (w: number, h: number): RgbImage => {
    const data = new Uint8Array(w * h * 3);
    for (let i = 0; i < w * h; i++) data[i * 3] = i;
    return { width: w, height: h, data };
  };
  // (7 - 4) / 2 = 1.5 -> 2; (5 - 4) / 2 = 0.5 -> 0
  assert.equal(centerCrop(row(7, 1), 1, 4).data[0], 2);
  assert.equal(centerCrop(row(5, 1), 1, 4).data[0], 0);
  // 2x1 into 5x3: pad left (5-2)//2 = 1, right 2, top 1, bottom 1
  const padded = centerCrop(row(2, 1), 3, 5);
  assert.deepEqual([padded.width, padded.height], [5, 3]);
  assert.deepEqual(Array.from(padded.data.filter((_, i) => i % 3 === 0)), [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
});

// ---- ToTensor + Normalize ----------------------------------------------------------------------

test('preprocess equals torchvision Resize/CenterCrop/ToTensor/Normalize in float32', async () => {
  const tiny: Preprocess = { ...PREPROCESS.torchvision, resize: [10, 10], crop: [8, 8] };
  const image = await decodeImage(fixture('normalize-tiny.png'));
  const expected = parseNpy(readFileSync(fixture('normalize-tiny.npy')), 'normalize-tiny.npy');
  assert.deepEqual(expected.shape, [3, 8, 8]);
  // every step rounds to float32 as torch does: measured 0 (bit-identical)
  assert.equal(maxAbsDiff(preprocess(image, tiny), expected.data), 0);
});

test('caffe preset: BGR, 0..255, minus the BVLC means', () => {
  const image: RgbImage = { width: 1, height: 1, data: new Uint8Array([200, 100, 50]) };
  const p: Preprocess = { ...PREPROCESS.caffe, resize: [1, 1], crop: null };
  const f = Math.fround;
  assert.deepEqual(Array.from(toTensor(image, p)), [f(50 - f(104.007)), f(100 - f(116.669)), f(200 - f(122.679))]);
});

// ---- decoding ----------------------------------------------------------------------------------

test('PNG variants equal PIL convert("RGB")', async () => {
  // palette, grey+alpha, 16-bit RGB (high byte), RGB with a tRNS colour (kept, not zeroed);
  // gray16: high byte, where Pillow 9.4 would clip at 255 (see make_image_fixtures.py)
  for (const name of ['palette', 'la', 'rgb16', 'gray16', 'rgba-trns']) {
    const ours = await decodeImage(fixture(`${name}.png`));
    const expected = readNpyRgb(`${name}.rgb.npy`);
    assert.deepEqual([ours.width, ours.height], [expected.width, expected.height], name);
    assert.equal(maxAbsDiff(ours.data, expected.data), 0, name);
  }
});

const expectedJpegs = JSON.parse(readFileSync(fixture('expected.json'), 'utf8')) as
  Record<string, { width: number; height: number; sha256: string; mean: number }>;

test('native JPEG decoding (libjpeg-turbo) is bit-identical to PIL', { skip: nativeSkip }, async () => {
  for (const [name, expected] of Object.entries(expectedJpegs)) {
    const image = await decodeImage(fixture(name), { jpegDecoder: 'native', exifOrientation: false });
    assert.deepEqual([image.width, image.height], [expected.width, expected.height], name);
    assert.equal(createHash('sha256').update(image.data).digest('hex'), expected.sha256, name);
  }
});

test('jpeg-js decodes baseline and progressive JPEGs close to libjpeg', async (t) => {
  for (const [name, expected] of Object.entries(expectedJpegs)) {
    if (name === 'cmyk.jpg') continue; // jpeg-js converts CMYK its own way
    const js = await decodeImage(fixture(name), { jpegDecoder: 'js', exifOrientation: false });
    assert.deepEqual([js.width, js.height], [expected.width, expected.height], name);
    let mean = 0;
    for (const v of js.data) mean += v;
    mean /= js.data.length;
    // different IDCT and chroma upsampling: the mean level agrees to well under one level
    assert.ok(Math.abs(mean - expected.mean) < 0.5, `${name}: mean ${mean} vs PIL ${expected.mean}`);
    if (!nativeSkip) {
      const lib = await decodeImage(fixture(name), { jpegDecoder: 'native', exifOrientation: false });
      const diff = meanAbsDiff(js.data, lib.data);
      t.diagnostic(`${name}: jpeg-js vs libjpeg-turbo mean abs pixel difference ${diff.toFixed(3)} levels`);
      // measured 0.144 (coffee-baseline), 0.139 (chelsea-progressive), 0.152 (chelsea-exif6) levels,
      // at most 3 levels on any pixel; plain jpeg-js output was 1.17 / 0.75 / 0.81, up to 33
      assert.ok(diff < 0.3, `${name}: ${diff}`);
    }
  }
});

test('EXIF orientation 6 is applied like ImageOps.exif_transpose, or not on request', async () => {
  const upright = await decodeImage(fixture('chelsea-exif6.jpg'));
  const stored = await decodeImage(fixture('chelsea-exif6.jpg'), { exifOrientation: false });
  assert.deepEqual([upright.width, upright.height], [240, 180]);
  assert.deepEqual([stored.width, stored.height], [180, 240]);
  assert.deepEqual(orient(stored, 6).data, upright.data);
});

test('orient: the eight EXIF orientations on a 3x2 image', () => {
  // stored pixels 0..5 (row-major 3 wide); each case lists the displayed pixels, row-major
  const image: RgbImage = { width: 3, height: 2, data: new Uint8Array([0, 1, 2, 3, 4, 5].flatMap((v) => [v, v, v])) };
  const shown = (o: number) => {
    const r = orient(image, o);
    return [r.width, r.height, ...Array.from(r.data.filter((_, i) => i % 3 === 0))];
  };
  assert.deepEqual(shown(1), [3, 2, 0, 1, 2, 3, 4, 5]);
  assert.deepEqual(shown(2), [3, 2, 2, 1, 0, 5, 4, 3]);
  assert.deepEqual(shown(3), [3, 2, 5, 4, 3, 2, 1, 0]);
  assert.deepEqual(shown(4), [3, 2, 3, 4, 5, 0, 1, 2]);
  assert.deepEqual(shown(5), [2, 3, 0, 3, 1, 4, 2, 5]);
  assert.deepEqual(shown(6), [2, 3, 3, 0, 4, 1, 5, 2]);
  assert.deepEqual(shown(7), [2, 3, 5, 2, 4, 1, 3, 0]);
  assert.deepEqual(shown(8), [2, 3, 2, 5, 1, 4, 0, 3]);
});

// ---- whole preprocessing against torchvision ---------------------------------------------------

const PHOTOS = ['coffee-baseline.jpg', 'chelsea-progressive.jpg', 'astronaut.png', 'rocket-rgba.png', 'camera-gray.png', 'chelsea-exif6.jpg'];

for (const decoder of ['js', 'native'] as const) {
  test(`photos preprocessed as torchvision does (${decoder === 'js' ? 'jpeg-js' : 'libjpeg-turbo'})`,
    { skip: decoder === 'native' ? nativeSkip : false }, async (t) => {
      for (const photo of PHOTOS) {
        const image = await decodeImage(fixture(photo), { jpegDecoder: decoder });
        const stem = photo.replace(/\.(jpg|png)$/, '');
        for (const preset of ['torchvision', 'caffe'] as const) {
          const p = PREPROCESS[preset];
          // the reference is the uint8 image torchvision hands to ToTensor; ToTensor/Normalize
          // themselves are checked bit-exact above
          const reference = toTensor(await decodeImage(fixture(`${stem}.${preset}.png`)), p);
          const ours = preprocess(image, p);
          const diff = meanAbsDiff(ours, reference);
          // normalised units: 1 level is 1/255/0.225 = 0.017 for torchvision, 1 for caffe
          const levels = preset === 'torchvision' ? diff * 255 * 0.226 : diff;
          t.diagnostic(`${photo} ${preset}: mean abs difference ${diff.toFixed(5)} (~${levels.toFixed(3)} levels)`);
          if (photo.endsWith('.png') || decoder === 'native') {
            assert.equal(diff, 0, `${photo} ${preset}`);
          } else {
            // jpeg-js vs libjpeg; measured 0.0024-0.0025 (torchvision) and 0.14-0.15 levels (caffe)
            // (0.0118 on coffee-baseline before jpeg-color.ts redid the upsampling and colour steps)
            assert.ok(levels < 0.3, `${photo} ${preset}: ${diff}`);
            if (preset === 'torchvision') assert.ok(diff <= 0.01, `${photo}: ${diff}`);
          }
        }
      }
    });
}

// ---- loadInputs --------------------------------------------------------------------------------

function writeNpy(path: string, shape: number[], values: Float32Array): void {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head.writeUInt16LE(header.length, 8);
  writeFileSync(path, Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(values.buffer)]));
}

test('loadInputs: images and .npy tensors, batched .npy split into path#i', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'alexnet-image-'));
  const batch = join(dir, 'batch.npy');
  const values = Float32Array.from({ length: 2 * 3 * 4 * 5 }, (_, i) => i / 7);
  writeNpy(batch, [2, 3, 4, 5], values);
  const items = await loadInputs([fixture('astronaut.png'), batch], PREPROCESS.torchvision);
  assert.deepEqual(items.map((i) => i.name), [fixture('astronaut.png'), `${batch}#0`, `${batch}#1`]);
  assert.deepEqual(items.map((i) => i.shape), [[3, 224, 224], [3, 4, 5], [3, 4, 5]]);
  assert.deepEqual(items[2].data, values.subarray(60));

  const bad = join(dir, 'bad.npy');
  writeNpy(bad, [4, 5], new Float32Array(20));
  await assert.rejects(loadInputs([bad], PREPROCESS.torchvision), {
    code: 'ERR_IMAGE',
    message: `${bad}: expected a float32 tensor of shape [3,H,W] or [N,3,H,W] but found [4,5]`,
  });
});

// ---- errors ------------------------------------------------------------------------------------

test('errors name the file and say what was expected and found', async () => {
  const cases: [string, string][] = [
    ['empty.jpg', 'expected an image (JPEG, PNG, WebP, BMP, GIF or TIFF) but the file is empty'],
    ['not-an-image.jpg', 'expected valid GIF data but found blocks omggif cannot parse (Unknown gif block: 0x73)'],
    ['truncated.jpg', 'expected a complete JPEG but the data ends before the end-of-image marker (truncated file)'],
    ['corrupt.jpg', 'expected valid JPEG data but found corrupt data (no marker at byte 27549: 0x11)'],
    ['missing.png', 'expected a readable image file but found no such file'],
  ];
  for (const [name, message] of cases) {
    for (const jpegDecoder of ['js', 'auto'] as const) {
      await assert.rejects(decodeImage(fixture(name), { jpegDecoder }), { code: 'ERR_IMAGE', message: `${fixture(name)}: ${message}` });
    }
  }
  const png = readFileSync(fixture('astronaut.png'));
  await assert.rejects(decodeImage(png.subarray(0, 1000)), {
    code: 'ERR_IMAGE',
    message: "<buffer>: expected the PNG chunk 'iCCP' at byte 33 to fit in the file but it declares 2609 bytes and the file ends 955 bytes later (truncated or corrupt)",
  });
  await assert.rejects(decodeImage(fixture('coffee-baseline.jpg'), { maxPixels: 100000 }), {
    code: 'ERR_IMAGE',
    message: `${fixture('coffee-baseline.jpg')}: expected an image of at most 100000 pixels (ALEXNET_CLI_MAX_PIXELS) but found 500x375 = 187500`,
  });
});

test('corrupt scan data is an error with libjpeg-turbo', { skip: nativeSkip }, async () => {
  // a marker inside the entropy-coded data of an otherwise well-formed file: only the decoder sees it
  const data = new Uint8Array(readFileSync(fixture('coffee-baseline.jpg')));
  const scanByte = 30000;
  data.set([0xff, 0xd3], scanByte); // RST3 where none is expected
  await assert.rejects(decodeImage(data, { jpegDecoder: 'native' }), {
    code: 'ERR_IMAGE',
    message: /^<buffer>: expected valid JPEG data but found corrupt data \(Corrupt JPEG data: /,
  });
});
