// Caffe, Keras, npy/npz readers, format detection and architecture detection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PREPROCESS, buildArchitecture } from '../lib/model/archs.js';
import { readCaffe } from '../lib/weights/caffe.js';
import { checkWeights, detectArchitecture, detectFormat, parameterShapes, readWeights } from '../lib/weights/index.js';
import { readKeras } from '../lib/weights/keras.js';
import { encodeNpy, readNpy, writeNpy } from '../lib/weights/npy.js';
import type { WeightSet } from '../lib/weights/types.js';
import { SMALL_ARCHS, assertMatchesManifest, fixture } from './weights-fixtures.js';
import { archive } from './zip-archive.js';

const scratch = mkdtempSync(join(tmpdir(), 'weights-formats-'));

test('caffemodel with V1 layers (num/channels/height/width, fc as 1x1xOUTxIN) and with new layers (BlobShape)', async () => {
  for (const file of ['caffe_small_v1.caffemodel', 'caffe_small.caffemodel']) {
    const set = await readCaffe(fixture(file));
    assertMatchesManifest(set, file);
    assert.deepEqual(set.preprocess, PREPROCESS.caffe);
    assert.equal(set.metadata.name, 'CaffeNet');
    checkWeights(SMALL_ARCHS['caffe-small'], set);
  }
});

test('Keras 2 model.save and save_weights .h5, Keras 3 .keras: HWIO -> OIHW, Dense transposed, fc6 rows H,W,C -> C,H,W', async () => {
  for (const file of ['seed_small.h5', 'seed_small_weights.h5', 'seed_small.keras']) {
    const set = await readKeras(fixture(file));
    assertMatchesManifest(set, file);
    assert.deepEqual(set.preprocess, PREPROCESS.seed);
    checkWeights(SMALL_ARCHS['seed-small'], set);
  }
  assert.equal((await readKeras(fixture('seed_small.h5'))).metadata.keras_version, '2.11.0');
  assert.equal((await readKeras(fixture('seed_small.keras'))).metadata.keras_version, '3.3.3');
});

test('npz: member arrays as tensors', async () => {
  assertMatchesManifest(await readWeights(fixture('tv_small.npz')), 'tv_small.npz');
});

test('npy: read, write round trip, clear errors for other dtypes, fortran order and truncation', () => {
  const input = readNpy(fixture('input.npy'));
  assert.deepEqual(input.shape, [2, 3, 99, 99]);
  const path = join(scratch, 'x.npy');
  const data = Float32Array.from([1, 2, 3, 4, 5, 6]);
  writeNpy(path, [2, 3], data);
  assert.deepEqual(readNpy(path), { shape: [2, 3], dtype: 'float32', data });
  assert.equal(encodeNpy([6], data).indexOf(Buffer.from('(6,)')) > 0, true);
  assert.equal((encodeNpy([2, 3], data).length - 6 * 4) % 64, 0, 'data starts 64-byte aligned');
  assert.throws(() => readNpy(fixture('int_array.npy')), {
    code: 'ERR_WEIGHTS', message: `${fixture('int_array.npy')}: expected a float32, float16 or float64 (little-endian) array but found dtype '<i8'`,
  });
  assert.throws(() => readNpy(fixture('fortran.npy')), {
    message: `${fixture('fortran.npy')}: expected a C-order array but found fortran_order True (save it with np.ascontiguousarray)`,
  });
  writeFileSync(path, readFileSync(fixture('input.npy')).subarray(0, 1000));
  assert.throws(() => readNpy(path), { message: `${path}: expected 235224 bytes of data for shape (2, 3, 99, 99) but the file has 872 (truncated?)` });
});

test('format detection by magic bytes, then extension', () => {
  assert.equal(detectFormat(fixture('tv_small.pth')), 'pytorch');
  assert.equal(detectFormat(fixture('tv_small_legacy.pth')), 'pytorch');
  assert.equal(detectFormat(fixture('seed_small.h5')), 'keras-h5');
  assert.equal(detectFormat(fixture('seed_small.keras')), 'keras-v3');
  assert.equal(detectFormat(fixture('tv_small.npz')), 'npz');
  assert.equal(detectFormat(fixture('bvlc_small.onnx')), 'onnx');
  assert.equal(detectFormat(fixture('caffe_small.caffemodel')), 'caffe');
  const unknown = join(scratch, 'weights.bin');
  writeFileSync(unknown, 'hello world, not weights');
  assert.throws(() => detectFormat(unknown), {
    message: `${unknown}: expected safetensors, PyTorch (.pth), ONNX (.onnx), Caffe (.caffemodel), Keras (.h5/.keras) or .npz but the format is not recognised`,
  });
});

/** A WeightSet with the shapes of an architecture (values are not needed to detect) */
function shapesOnly(shapes: Map<string, number[]>): WeightSet {
  return { format: 'test', path: 'w.bin', metadata: {}, tensors: new Map([...shapes].map(([k, shape]) => [k, { shape, data: new Float32Array(0) }])) };
}

test('detectArchitecture: seed, caffe and torchvision from conv1/conv2 shapes, classes from fc8', () => {
  for (const name of ['seed', 'caffe', 'torchvision'] as const) {
    const arch = detectArchitecture(shapesOnly(parameterShapes(buildArchitecture(name, 37))));
    assert.equal(arch.name, name);
    assert.equal(arch.numClasses, 37);
  }
});

test('detectArchitecture and checkWeights: errors list what was expected and found', () => {
  const small = shapesOnly(parameterShapes(SMALL_ARCHS['seed-small']));
  assert.throws(() => detectArchitecture(small), {
    message: 'w.bin: expected the tensors of one of seed (conv1.weight [96,3,11,11], conv2.weight [256,96,5,5]); caffe (conv1.weight [96,3,11,11], conv2.weight [256,48,5,5]); torchvision (conv1.weight [64,3,11,11], conv2.weight [192,64,5,5]) but found conv1.weight [8,3,11,11], conv2.weight [12,8,5,5]',
  });
  const shapes = parameterShapes(buildArchitecture('caffe'));
  shapes.set('fc7.weight', [4096, 4095]);
  shapes.delete('fc8.bias');
  assert.throws(() => detectArchitecture(shapesOnly(shapes)), {
    message: 'w.bin: expected the tensors of architecture caffe: fc7.weight [4096,4096] but found [4096,4095]; fc8.bias [1000] but found missing',
  });
});

test('a damaged .h5 in process: the one-line message carries HDF5\'s own deepest diagnosis', async () => {
  const bytes = readFileSync(fixture('seed_small.h5'));
  const dir = mkdtempSync(join(tmpdir(), 'alexnet-h5-damaged-'));
  // [file, bytes, what HDF5 itself says at the deepest level of its first error]
  const cases: [string, Buffer, string][] = [
    ['truncated.h5', bytes.subarray(0, 2762), 'File has been truncated'],
    ['half.h5', bytes.subarray(0, bytes.length >> 1), 'File has been truncated'],
    // a bit flipped in the superblock's size fields
    ['flipped.h5', Buffer.concat([bytes.subarray(0, 12), Buffer.from([bytes[12] ^ 0x20]), bytes.subarray(13)]), 'Bad value'],
  ];
  for (const [name, data, diagnosis] of cases) {
    const path = join(dir, name);
    writeFileSync(path, data);
    await assert.rejects(readKeras(path), {
      code: 'ERR_WEIGHTS',
      message: `${path}: expected a Keras .h5 file but HDF5 cannot read it (an object the file refers to is unreadable) (HDF5: ${diagnosis}); damaged or truncated?`,
    }, name);
  }
});

test('keras_version: from the file\'s root, else from model_weights (save_weights files have no model_weights group)', async () => {
  const h5wasm = (await import('h5wasm/node')).default;
  await h5wasm.ready;
  // save_weights: the version on the root, layer_names there too, no model_weights group
  assert.equal((await readKeras(fixture('seed_small_weights.h5'))).metadata.keras_version, '2.11.0');
  const dir = mkdtempSync(join(tmpdir(), 'alexnet-keras-version-'));
  // model.save, the root's copy of the version removed: model_weights' is read
  const onlyInner = join(dir, 'only_model_weights.h5');
  writeFileSync(onlyInner, readFileSync(fixture('seed_small.h5')));
  let f = new h5wasm.File(onlyInner, 'a');
  f.delete_attribute('keras_version');
  f.close();
  assert.equal((await readKeras(onlyInner)).metadata.keras_version, '2.11.0');
  // both, and they differ: the root's wins
  const both = join(dir, 'both.h5');
  writeFileSync(both, readFileSync(fixture('seed_small.h5')));
  f = new h5wasm.File(both, 'a');
  const group = f.get('model_weights') as InstanceType<typeof h5wasm.Group>;
  group.delete_attribute('keras_version');
  group.create_attribute('keras_version', '2.99.0');
  f.close();
  assert.equal((await readKeras(both)).metadata.keras_version, '2.11.0');
  // neither: no version
  const neither = join(dir, 'neither.h5');
  writeFileSync(neither, readFileSync(both));
  f = new h5wasm.File(neither, 'a');
  f.delete_attribute('keras_version');
  (f.get('model_weights') as InstanceType<typeof h5wasm.Group>).delete_attribute('keras_version');
  f.close();
  assert.equal((await readKeras(neither)).metadata.keras_version, undefined);
});

/** a stored (method 0) member of a zip archive, by its local header (APPNOTE.TXT 4.3.7) */
function storedMember(zip: Buffer, name: string): Buffer {
  for (let p = zip.indexOf('PK\x03\x04'); p >= 0; p = zip.indexOf('PK\x03\x04', p + 4)) {
    const nameLength = zip.readUInt16LE(p + 26);
    if (zip.toString('utf8', p + 30, p + 30 + nameLength) !== name) continue;
    assert.equal(zip.readUInt16LE(p + 8), 0, `${name} is stored`);
    const start = p + 30 + nameLength + zip.readUInt16LE(p + 28);
    return zip.subarray(start, start + zip.readUInt32LE(p + 18));
  }
  throw new Error(`no member ${name}`);
}

test('.keras: a config.json whose layers have no names reads the weights in their names\' natural order, as without a config', async () => {
  const keras = readFileSync(fixture('seed_small.keras'));
  const layer = (className: string) => ({ class_name: className, config: {} });
  const config = { class_name: 'Sequential', config: { layers: ['Conv2D', 'MaxPooling2D', 'Conv2D', 'MaxPooling2D', 'Conv2D', 'Conv2D', 'Conv2D', 'MaxPooling2D', 'Flatten', 'Dense', 'Dropout', 'Dense', 'Dropout', 'Dense'].map(layer) } };
  const path = join(scratch, 'unnamed_layers.keras');
  writeFileSync(path, archive([
    { name: 'metadata.json', data: storedMember(keras, 'metadata.json') },
    { name: 'config.json', data: Buffer.from(JSON.stringify(config)) },
    { name: 'model.weights.h5', data: storedMember(keras, 'model.weights.h5') },
  ]));
  const set = await readKeras(path);
  assertMatchesManifest(set, 'seed_small.keras');
  assert.equal(set.metadata.keras_version, '3.3.3');
});
