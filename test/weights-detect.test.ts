// lib/weights/index.ts detectFormat at its edges: what is not a regular file (folder, FIFO, device),
// an empty file, a zip that is none of the three archive kinds, a lone .npy, the safetensors header
// test (a '{' at byte 8 and a plausible length), a pickle's 0x80 against the .onnx/.caffemodel
// extensions; and the 1000-class default of detectArchitecture when fc8 is missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildArchitecture, PREPROCESS } from '../lib/model/archs.js';
import { parameterShapes } from '../lib/model/shapes.js';
import { detectArchitecture, detectFormat, HDF5_MAGIC, readWeights } from '../lib/weights/index.js';
import { recogniseGraph, resolveWeights, sourcePreprocess } from '../lib/weights/resolve.js';
import type { WeightSet } from '../lib/weights/types.js';

const scratch = mkdtempSync(join(tmpdir(), 'weights-detect-'));
const torchCases = fileURLToPath(new URL('../../test/fixtures/weights/torch-cases/', import.meta.url));

function file(name: string, bytes: Uint8Array | string): string {
  const path = join(scratch, name);
  writeFileSync(path, bytes);
  return path;
}
const refused = (path: string, message: string) => assert.throws(() => detectFormat(path), { code: 'ERR_WEIGHTS', message: `${path}: ${message}` });

test('detectFormat: what is not a regular file, or is empty, or a zip of something else, is refused by name', () => {
  const folder = join(scratch, 'folder.pth');
  mkdirSync(folder);
  refused(folder, 'expected a weights file but it is a folder');
  refused('/dev/null', 'expected a weights file but it is a device or other special file');
  const missing = join(scratch, 'missing.pth');
  assert.throws(() => detectFormat(missing), { code: 'ERR_WEIGHTS', message: `${missing}: cannot open: ENOENT: no such file or directory, stat '${missing}'` });
  refused(file('empty.pth', ''), 'expected a weights file but it is empty');
  refused(file('short.bin', 'abc'), 'expected safetensors, PyTorch (.pth), ONNX (.onnx), Caffe (.caffemodel), Keras (.h5/.keras) or .npz but the format is not recognised');
  // a zip with neither data.pkl, model.weights.h5 nor .npy members (torch-cases/no_data_pkl.pth: data.pkl taken out)
  refused(`${torchCases}no_data_pkl.pth`, 'expected a PyTorch (data.pkl), Keras 3 (model.weights.h5) or .npz archive but the zip holds wrap_net/data/0, wrap_net/data/1, wrap_net/version');
  const npy = Buffer.concat([Buffer.from('\x93NUMPY\x01\x00', 'latin1'), Buffer.from([0x10, 0x00]), Buffer.from("{'descr': '<f4'}")]);
  refused(file('one.npy', npy), 'expected a weights file but found a single .npy array (use .npz for named tensors)');
});

test('detectFormat: a FIFO is refused before it is opened (opening one would block)', { skip: existsSync('/usr/bin/mkfifo') ? false : 'mkfifo (coreutils) is not installed' }, () => {
  const fifo = join(scratch, 'pipe.pth');
  assert.equal(spawnSync('/usr/bin/mkfifo', [fifo]).status, 0);
  refused(fifo, 'expected a weights file but it is a FIFO');
});

test('detectFormat: magic bytes first, the extension only for formats without one', () => {
  const u64 = (n: number) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(n)); return b; };
  // safetensors: a header length below 100 MiB, then '{'
  assert.equal(detectFormat(file('a.bin', Buffer.concat([u64(2), Buffer.from('{}')]))), 'safetensors');
  assert.equal(detectFormat(file('b.pth', Buffer.concat([u64(100 * 1024 * 1024 - 1), Buffer.from('{')]))), 'safetensors');
  // a header length of 100 MiB or more is no safetensors file; neither is one without the '{'
  refused(file('c.bin', Buffer.concat([u64(100 * 1024 * 1024), Buffer.from('{')])), 'expected safetensors, PyTorch (.pth), ONNX (.onnx), Caffe (.caffemodel), Keras (.h5/.keras) or .npz but the format is not recognised');
  refused(file('d.bin', Buffer.concat([u64(2), Buffer.from('[]')])), 'expected safetensors, PyTorch (.pth), ONNX (.onnx), Caffe (.caffemodel), Keras (.h5/.keras) or .npz but the format is not recognised');
  // 8 bytes only: too short to hold the '{'
  refused(file('e.bin', u64(2)), 'expected safetensors, PyTorch (.pth), ONNX (.onnx), Caffe (.caffemodel), Keras (.h5/.keras) or .npz but the format is not recognised');
  // a header length of 128 starts with 0x80 like a pickle: the '{' decides
  assert.equal(detectFormat(file('f.pth', Buffer.concat([u64(128), Buffer.from('{')]))), 'safetensors');
  // 0x80 (a pickle's PROTO) is PyTorch unless the extension says ONNX or Caffe (protobuf can start with any byte)
  assert.equal(detectFormat(file('g.pth', Buffer.from([0x80, 0x02, 0x8a]))), 'pytorch');
  assert.equal(detectFormat(file('g.bin', Buffer.from([0x80]))), 'pytorch');
  assert.equal(detectFormat(file('h.ONNX', Buffer.from([0x80, 0x02]))), 'onnx');
  assert.equal(detectFormat(file('i.caffemodel', Buffer.from([0x80, 0x02]))), 'caffe');
  assert.equal(detectFormat(file('j.onnx', '')), 'onnx');
  assert.equal(detectFormat(file('k.CaffeModel', 'x')), 'caffe');
  assert.equal(detectFormat(file('l.weights', HDF5_MAGIC)), 'keras-h5');
  refused(file('m.h5', HDF5_MAGIC.subarray(0, 7)), 'expected safetensors, PyTorch (.pth), ONNX (.onnx), Caffe (.caffemodel), Keras (.h5/.keras) or .npz but the format is not recognised');
  assert.deepEqual([...HDF5_MAGIC], [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]); // "\x89HDF\r\n\x1a\n", the HDF5 format signature
});

test('readWeights: --arch is checked against the tensors and attached; detectArchitecture defaults to 1000 classes without fc8', async () => {
  const shapes = parameterShapes(buildArchitecture('torchvision', 1000));
  const noHead = new Map([...shapes].filter(([k]) => !k.startsWith('fc8')).map(([k, shape]) => [k, { shape, data: new Float32Array(0) }]));
  const set: WeightSet = { format: 'test', path: 'w.bin', metadata: {}, tensors: noHead };
  assert.throws(() => detectArchitecture(set), { message: 'w.bin: expected the tensors of architecture torchvision: fc8.weight [1000,4096] but found missing; fc8.bias [1000] but found missing' });
  // fc8.bias alone says the classes
  const biasOnly = new Map(noHead);
  biasOnly.set('fc8.bias', { shape: [7], data: new Float32Array(0) });
  assert.throws(() => detectArchitecture({ ...set, tensors: biasOnly }), { message: 'w.bin: expected the tensors of architecture torchvision: fc8.weight [7,4096] but found missing' });
  const tiny = fileURLToPath(new URL('../../test/fixtures/weights/tv_small.pth', import.meta.url));
  await assert.rejects(readWeights(tiny, { arch: 'caffe' }), { code: 'ERR_WEIGHTS' });
});

const shapesOnly = (arch: ReturnType<typeof buildArchitecture>, extra: Partial<WeightSet> = {}): WeightSet => ({
  format: 'test', path: 'w.bin', metadata: {}, ...extra,
  tensors: new Map([...parameterShapes(arch)].map(([k, shape]) => [k, { shape, data: new Float32Array(0) }])),
});

test('resolveWeights: --arch by name (classes from fc8), convert\'s metadata, refusals', () => {
  assert.throws(() => resolveWeights(shapesOnly(buildArchitecture('caffe', 7)), { arch: 'vgg' }), { code: 'ERR_USAGE', message: 'Expected one of seed, caffe, torchvision for --arch but received vgg' });
  const r = resolveWeights(shapesOnly(buildArchitecture('caffe', 7)), { arch: 'caffe' });
  assert.deepEqual([r.arch.name, r.arch.numClasses], ['caffe', 7]);
  assert.deepEqual(r.preprocess, PREPROCESS.caffe);
  // the set's own preprocessing wins over the architecture's preset
  const withPre = resolveWeights(shapesOnly(buildArchitecture('torchvision', 3), { preprocess: PREPROCESS.seed }), { arch: 'torchvision' });
  assert.deepEqual(withPre.preprocess, PREPROCESS.seed);
  // convert's metadata: the architecture whole, or its name and classes
  const tiny = buildArchitecture('seed', 4);
  const fromJson = resolveWeights(shapesOnly(tiny, { metadata: { architecture: JSON.stringify({ ...tiny, name: 'my-seed' }) } }));
  assert.equal(fromJson.arch.name, 'my-seed');
  const byName = resolveWeights(shapesOnly(buildArchitecture('seed', 5), { metadata: { arch: 'seed', numClasses: '5' } }));
  assert.deepEqual([byName.arch.name, byName.arch.numClasses], ['seed', 5]);
  assert.throws(() => resolveWeights(shapesOnly(buildArchitecture('seed', 5), { metadata: { arch: 'seed' } })), { code: 'ERR_WEIGHTS', message: /^w\.bin: expected the tensors of architecture seed: fc8\.weight \[1000,4096\] but found \[5,4096\]/ });
  // an unknown name in the metadata: recognised from the shapes instead
  assert.equal(resolveWeights(shapesOnly(buildArchitecture('caffe', 2), { metadata: { arch: 'vgg' } })).arch.name, 'caffe');
  const pre = { ...PREPROCESS.caffe, mean: [1, 2, 3] as [number, number, number] };
  assert.deepEqual(resolveWeights(shapesOnly(buildArchitecture('caffe', 2), { metadata: { preprocess: JSON.stringify(pre) } })).preprocess, pre);
});

test('recogniseGraph and sourcePreprocess: a graph that computes a named architecture, its preprocessing fitted to the graph\'s input', () => {
  // torchvision with half the channels, under another name, with a separate ReLU after conv1: still torchvision's computation
  const tv = buildArchitecture('torchvision', 10);
  const narrow = tv.layers.map((l) => (l.type === 'conv2d' ? { ...l, outChannels: l.outChannels / 2 } : l.type === 'linear' && l.name !== 'fc8' ? { ...l, outFeatures: 100 } : l));
  const conv1 = narrow[0] as Extract<typeof narrow[0], { type: 'conv2d' }>;
  const graph = { ...tv, name: 'torch_jit', layers: [{ ...conv1, relu: false }, { type: 'relu' as const, name: 'r' }, ...narrow.slice(1)] };
  const found = recogniseGraph(graph)!;
  assert.equal(found.name, 'torchvision');
  assert.deepEqual(found.layers.filter((l) => l.type === 'conv2d').map((l) => (l as { outChannels: number }).outChannels), [32, 96, 192, 128, 128]);
  assert.deepEqual(found.layers.filter((l) => l.type === 'linear').map((l) => (l as { outFeatures: number }).outFeatures), [100, 100, 10]);
  // another input size, another stride, or shapes that do not infer: not recognised
  assert.equal(recogniseGraph({ ...graph, input: [3, 227, 227] }), undefined);
  assert.equal(recogniseGraph({ ...graph, layers: [{ ...conv1, stride: [2, 2] }, ...narrow.slice(1)] }), undefined);
  assert.equal(recogniseGraph({ ...graph, input: [3, 20, 20] }), undefined);
  // two ReLUs in a row: the second is not fused
  assert.equal(recogniseGraph({ ...graph, layers: [conv1, { type: 'relu', name: 'r' }, ...narrow.slice(1)] }), undefined);
  // preprocessing of a graph: the preset's crop made the graph's input size (resize at least that), or kept when it is already
  const set = (input: [number, number, number], preprocess: typeof PREPROCESS.seed): WeightSet => ({ format: 'onnx', path: 'g.onnx', metadata: {}, tensors: new Map(), arch: { ...tv, input }, preprocess });
  assert.equal(sourcePreprocess(set([3, 224, 224], PREPROCESS.torchvision)), PREPROCESS.torchvision);
  assert.deepEqual(sourcePreprocess(set([3, 300, 200], PREPROCESS.torchvision)), { ...PREPROCESS.torchvision, resize: [300, 256], crop: [300, 200] });
  assert.deepEqual(sourcePreprocess(set([3, 100, 120], PREPROCESS['bvlc-zoo'])), { ...PREPROCESS['bvlc-zoo'], resize: [100, 120] });
  assert.equal(sourcePreprocess(set([3, 224, 224], PREPROCESS['bvlc-zoo'])), PREPROCESS['bvlc-zoo']);
  const shorter = { ...PREPROCESS.seed, crop: null };
  assert.equal(sourcePreprocess(set([3, 100, 100], shorter)), shorter);
  // not from a graph: the set's preprocessing as it is
  assert.equal(sourcePreprocess(set([3, 300, 200], PREPROCESS.torchvision), false), PREPROCESS.torchvision);
});
