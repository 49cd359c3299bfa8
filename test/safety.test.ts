// Hostile files, built here byte by byte: ONNX external data that points out of the model's folder,
// a .pth tensor of 2^31 elements over one float, zip members that lie about (or blow up to) their size,
// pickles with huge LONGs, huge APPENDS and cycles, non-finite weights, corrupt HDF5. Each must give one
// line naming the file and what was expected, in bounded memory (docs/safety.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../lib/index.js';
import type { Architecture } from '../lib/model/layers.js';
import { inferShapes } from '../lib/model/shapes.js';
import { initParameter, Rng } from '../lib/model/random.js';
import { readWeights } from '../lib/weights/index.js';
import { MAX_PICKLE_BYTES, MAX_ZIP_MEMBER_BYTES } from '../lib/weights/limits.js';
import { onnxRoot } from '../lib/weights/onnx.js';
import { unpickle } from '../lib/weights/pickle.js';
import { writeSafetensors } from '../lib/weights/safetensors.js';
import { fixture } from './weights-fixtures.js';
import { archive } from './zip-archive.js';

const here = dirname(fileURLToPath(import.meta.url));
const CLI = join(here, '..', 'bin', 'alexnet-cli.js');
const scratch = mkdtempSync(join(tmpdir(), 'alexnet-safety-'));

/** The error `promise` rejects with: its message must be one line */
async function failure(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (e) {
    const err = e as Error & { code?: string };
    assert.ok(!err.message.includes('\n'), `one line: ${err.message}`);
    return err;
  }
  assert.fail('expected an error');
}

// ---------------------------------------------------------------------------------------------
// ONNX external data

/** bvlc_small_ext.onnx copied into `dir` with the external location of every initializer replaced */
function externalModel(dir: string, location: string, extra: Record<string, string> = {}): string {
  mkdirSync(dir, { recursive: true });
  const type = onnxRoot().lookupType('onnx.ModelProto');
  const model = type.decode(readFileSync(fixture('bvlc_small_ext.onnx'))) as unknown as {
    graph: { initializer: { data_location?: number; external_data?: { key: string; value: string }[] }[] };
  };
  for (const init of model.graph.initializer) {
    if (init.data_location !== 1) continue;
    const offset = init.external_data!.find((e) => e.key === 'offset');
    const length = init.external_data!.find((e) => e.key === 'length');
    init.external_data = [{ key: 'location', value: location }, ...(offset ? [offset] : []), ...(length ? [length] : [])]
      .map((e) => ({ ...e, value: extra[e.key] ?? e.value }));
  }
  const path = join(dir, 'model.onnx');
  writeFileSync(path, type.encode(model as never).finish());
  return path;
}

test('ONNX external data: refused outside the model folder (absolute, .., links out), on devices and FIFOs, past the file', async () => {
  const secretDir = join(scratch, 'secret');
  mkdirSync(secretDir);
  copyFileSync(fixture('bvlc_small_ext.onnx.data'), join(secretDir, 'weights.data'));
  const cases: [string, string, RegExp][] = [
    ['absolute', join(secretDir, 'weights.data'), /expected a path relative to the model's folder for the external data location ".*weights.data" of tensor \S+ but it is absolute/],
    ['dotdot', '../secret/weights.data', /expected the external data location "..\/secret\/weights.data" of tensor \S+ to stay inside the model's folder but it has a '..' component/],
    ['dotdot-inner', 'sub/../../secret/weights.data', /to stay inside the model's folder but it has a '..' component/],
  ];
  for (const [name, location, message] of cases) {
    const model = externalModel(join(scratch, `onnx-${name}`), location);
    const err = await failure(readWeights(model));
    assert.equal(err.code, 'ERR_WEIGHTS');
    assert.ok(err.message.startsWith(`${model}: `), err.message);
    assert.match(err.message, message);
  }
  // a link inside the folder that leads out of it
  const linkDir = join(scratch, 'onnx-link');
  const linked = externalModel(linkDir, 'weights.data');
  symlinkSync(join(secretDir, 'weights.data'), join(linkDir, 'weights.data'));
  assert.match((await failure(readWeights(linked))).message, /to stay inside the model's folder but it leads to .*secret\/weights.data \(a link leaving the folder\)/);
  // a link to a device (which reads forever) and a FIFO (which blocks), inside the folder
  const deviceDir = join(scratch, 'onnx-device');
  const device = externalModel(deviceDir, 'zero.data');
  symlinkSync('/dev/zero', join(deviceDir, 'zero.data'));
  assert.match((await failure(readWeights(device))).message, /leads to \/dev\/zero \(a link leaving the folder\)/);
  const fifoDir = join(scratch, 'onnx-fifo');
  const fifo = externalModel(fifoDir, 'pipe.data');
  const mkfifo = spawnSync('mkfifo', [join(fifoDir, 'pipe.data')]);
  if (mkfifo.status === 0) assert.match((await failure(readWeights(fifo))).message, /"pipe.data" of tensor \S+ to be a regular file but it is a FIFO/);
  // a length that the file does not hold, and one that is not a number
  const longDir = join(scratch, 'onnx-long');
  const long = externalModel(longDir, 'w.data', { length: '99999999999' });
  copyFileSync(fixture('bvlc_small_ext.onnx.data'), join(longDir, 'w.data'));
  assert.match((await failure(readWeights(long))).message, /expected 99999999999 bytes of tensor \S+ at offset \d+ of .*w.data but it has 182840 \(truncated\?\)/);
  const nanDir = join(scratch, 'onnx-nan');
  const nan = externalModel(nanDir, 'w.data', { offset: '-4' });
  copyFileSync(fixture('bvlc_small_ext.onnx.data'), join(nanDir, 'w.data'));
  assert.match((await failure(readWeights(nan))).message, /expected a non-negative integer offset for external tensor \S+ but found "-4"/);
  // and inside the folder, a subfolder is fine
  const okDir = join(scratch, 'onnx-ok');
  const ok = externalModel(okDir, 'sub/w.data');
  mkdirSync(join(okDir, 'sub'));
  copyFileSync(fixture('bvlc_small_ext.onnx.data'), join(okDir, 'sub', 'w.data'));
  assert.equal((await readWeights(ok)).format, 'onnx');
});

test('a weights path that is a FIFO or a device is refused before it is opened', async () => {
  assert.match((await failure(readWeights('/dev/zero'))).message, /^\/dev\/zero: expected a weights file but it is a device or other special file$/);
  const fifo = join(scratch, 'weights.pth');
  if (spawnSync('mkfifo', [fifo]).status === 0) {
    assert.match((await failure(readWeights(fifo))).message, /weights.pth: expected a weights file but it is a FIFO$/);
  }
});

// ---------------------------------------------------------------------------------------------
// Pickles and PyTorch checkpoints

/** Pickle opcodes, enough to write legacy checkpoints by hand */
const P = {
  proto: Buffer.from([0x80, 0x02]),
  str: (s: string) => Buffer.concat([Buffer.from([0x58]), u32(Buffer.byteLength(s)), Buffer.from(s)]),
  int: (n: number) => Buffer.concat([Buffer.from([0x4a]), i32(n)]),
  long1: (hex: string) => { const b = Buffer.from(hex, 'hex').reverse(); return Buffer.concat([Buffer.from([0x8a, b.length]), b]); },
  global: (module: string, name: string) => Buffer.from(`c${module}\n${name}\n`, 'latin1'),
  mark: Buffer.from('('), tuple: Buffer.from('t'), dict: Buffer.from('}'), setitems: Buffer.from('u'), reduce: Buffer.from('R'),
  binpersid: Buffer.from('Q'), emptyList: Buffer.from(']'), appends: Buffer.from('e'), append: Buffer.from('a'), dup: Buffer.from('2'),
  newFalse: Buffer.from([0x89]), stop: Buffer.from('.'),
};
function u32(n: number): Buffer { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; }
function i32(n: number): Buffer { const b = Buffer.alloc(4); b.writeInt32LE(n); return b; }

/** A legacy (non-zip) checkpoint: {name: tensor(size, stride)} over one float storage of `numel` floats */
function legacyCheckpoint(name: string, size: number[], stride: number[], numel: number): Buffer {
  const tuple = (...items: Buffer[]) => Buffer.concat([P.mark, ...items, P.tuple]);
  const object = Buffer.concat([
    P.proto, P.dict, P.mark, P.str(name),
    P.global('torch._utils', '_rebuild_tensor_v2'),
    P.mark,
    tuple(P.str('storage'), P.global('torch', 'FloatStorage'), P.str('0'), P.str('cpu'), P.int(numel)), P.binpersid,
    P.int(0), tuple(...size.map(P.int)), tuple(...stride.map(P.int)), P.newFalse, P.dict,
    P.tuple, P.reduce, P.setitems, P.stop]);
  const count = Buffer.alloc(8);
  count.writeBigInt64LE(BigInt(numel));
  return Buffer.concat([
    P.proto, P.long1('1950a86a20f9469cfc6c'), P.stop,
    P.proto, P.int(1001), P.stop,
    P.proto, P.dict, P.stop,
    object,
    P.proto, P.emptyList, P.str('0'), P.append, P.stop,
    count, Buffer.alloc(numel * 4)]);
}

test('a 300-byte .pth with a tensor of 2^31 elements over one float (stride 0) is refused before any allocation', async () => {
  const path = join(scratch, 'expanded.pth');
  writeFileSync(path, legacyCheckpoint('conv1.weight', [2 ** 15, 2 ** 16], [0, 0], 1));
  assert.ok(readFileSync(path).length < 400);
  const before = process.memoryUsage().rss;
  const err = await failure(readWeights(path));
  assert.equal(err.message, `${path}: expected tensor conv1.weight [32768,65536] to hold no more elements than its storage 0 (1) but it has 2147483648 (an expanded or overlapping view)`);
  assert.ok(process.memoryUsage().rss - before < 64 * 2 ** 20, 'no large allocation');
  // the same file with an honest view loads
  const fine = join(scratch, 'honest.pth');
  writeFileSync(fine, legacyCheckpoint('conv1.weight', [2, 3], [3, 1], 6));
  assert.deepEqual((await readWeights(fine)).tensors.get('conv1.weight')!.shape, [2, 3]);
  const negative = join(scratch, 'negative.pth');
  writeFileSync(negative, legacyCheckpoint('conv1.weight', [2, -3], [3, 1], 6));
  assert.match((await failure(readWeights(negative))).message, /expected tensor conv1.weight to have non-negative integer sizes, strides and offset but found size \[2,-3\]/);
});

test('pickles: a huge LONG4 is refused, LONG1 decodes in linear time, a million APPENDS do not overflow the stack', () => {
  const options = { path: 'x.pkl', persistentLoad: () => null };
  const long4 = Buffer.concat([P.proto, Buffer.from([0x8b]), u32(512 * 1024), Buffer.alloc(512 * 1024, 0x7f), P.stop]);
  assert.throws(() => unpickle(long4, 0, options), { message: 'x.pkl: expected an integer of at most 1024 bytes at offset 2 but LONG4 declares 524288' });
  // LONG1 of 255 bytes is decoded in linear time, exactly
  const long1 = Buffer.concat([P.proto, Buffer.from([0x8a, 3, 0x01, 0x02, 0x83]), P.stop]);
  assert.equal(unpickle(long1, 0, options).value, 0x830201 - 0x1000000);
  // the bound's edge: 1024 bytes decode (2^8191 - 1, all ones but the sign bit), 1025 do not
  const edge = Buffer.concat([P.proto, Buffer.from([0x8b]), u32(1024), Buffer.alloc(1023, 0xff), Buffer.from([0x7f]), P.stop]);
  assert.equal(unpickle(edge, 0, options).value, (1n << 8191n) - 1n);
  const over = Buffer.concat([P.proto, Buffer.from([0x8b]), u32(1025), Buffer.alloc(1025, 0), P.stop]);
  assert.throws(() => unpickle(over, 0, options), { message: 'x.pkl: expected an integer of at most 1024 bytes at offset 2 but LONG4 declares 1025' });
  // protocol 0's decimal LONG has the same bound in digits: 2467 digits (10^2466 < 2^8191) decode, 2469 do not
  const decimal = (digits: number) => Buffer.concat([Buffer.from(`L${'9'.repeat(digits)}L\n.`, 'latin1')]);
  assert.equal(unpickle(decimal(2466), 0, options).value, 10n ** 2466n - 1n);
  assert.throws(() => unpickle(decimal(2469), 0, options), /at most 2468 digits \(1024 bytes\) at offset 0 but LONG has 2470 characters/);
  const many = Buffer.concat([P.proto, P.emptyList, P.mark, Buffer.alloc(1_000_000, 0x4e), P.appends, P.stop]);
  assert.equal((unpickle(many, 0, options).value as unknown[]).length, 1_000_000);
});

test('a storage persistent id that nests or contains itself gets one line, not "Converting circular structure"', async () => {
  const path = join(scratch, 'cyclic.pth');
  const obj = Buffer.concat([P.proto, P.dict, P.mark, P.str('w'), P.emptyList, P.dup, P.append, P.binpersid, P.setitems, P.stop]);
  const head = Buffer.concat([P.proto, P.long1('1950a86a20f9469cfc6c'), P.stop, P.proto, P.int(1001), P.stop, P.proto, P.dict, P.stop]);
  writeFileSync(path, Buffer.concat([head, obj]));
  const err = await failure(readWeights(path));
  assert.match(err.message, /cyclic.pth: expected a \('storage', torch.\*Storage, key, location, numel\) persistent id but found \(\(\(\(\[\.\.\.\]\)\)\)\)/);
});

// ---------------------------------------------------------------------------------------------
// Zip members

const npyHeader = (shape: number[]) => {
  let h = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')},), }`;
  h += ' '.repeat((64 - ((10 + h.length + 1) % 64)) % 64) + '\n';
  const prefix = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0, 0]);
  prefix.writeUInt16LE(h.length, 8);
  return Buffer.concat([prefix, Buffer.from(h, 'latin1')]);
};

test('zip members: declared sizes checked against the limits and the compressed bytes before inflating', async () => {
  const write = (name: string, bytes: Buffer) => { const p = join(scratch, name); writeFileSync(p, bytes); return p; };
  // an .npz member of 1 GiB of zeros (deflate: about 1 MB) is refused on its declared size alone
  const huge = write('huge.npz', archive([{ name: 'fc6.weight.npy', data: Buffer.alloc(1000), method: 8, size: 2 ** 30 }]));
  assert.equal((await failure(readWeights(huge))).message,
    `${huge}: expected fc6.weight.npy to be at most ${MAX_ZIP_MEMBER_BYTES} bytes but it declares ${2 ** 30} (the limit is in docs/safety.md)`);
  // a size no DEFLATE stream of this length can inflate to
  const liar = write('liar.npz', archive([{ name: 'a.npy', data: Buffer.alloc(1000), method: 8, size: 100_000_000 }]));
  assert.match((await failure(readWeights(liar))).message, /liar.npz: expected a.npy to inflate to at most 1032x its \d+ compressed bytes but it declares 100000000$/);
  // a member that inflates to more than it declares stops at the declared size
  const more = write('more.npz', archive([{ name: 'a.npy', data: Buffer.concat([npyHeader([1000]), Buffer.alloc(4000)]), method: 8, size: 200 }]));
  assert.match((await failure(readWeights(more))).message, /more.npz: expected a.npy to inflate to its declared 200 bytes but it inflates to more$/);
  // a .pth whose data.pkl declares more than any state dict needs
  const pkl = write('bigpickle.pth', archive([{ name: 'archive/data.pkl', data: Buffer.alloc(100_000), method: 8, size: 100_000_000 }]));
  assert.match((await failure(readWeights(pkl))).message, new RegExp(`bigpickle.pth: expected archive/data.pkl to be at most ${MAX_PICKLE_BYTES} bytes but it declares 100000000`));
  // and an honest small archive reads
  const fine = write('fine.npz', archive([{ name: 'fc8.bias.npy', data: Buffer.concat([npyHeader([4]), Buffer.alloc(16)]), method: 8 }]));
  assert.deepEqual((await readWeights(fine)).tensors.get('fc8.bias')!.shape, [4]);
});

// ---------------------------------------------------------------------------------------------
// Non-finite weights

function writeTiny(path: string, poison?: { tensor: string; value: number }): void {
  const arch: Architecture = {
    name: 'tiny', input: [3, 16, 16], output: 'logits', numClasses: 3,
    preprocess: { resizeMode: 'shorter', resize: [16, 16], crop: [16, 16], range: 1, mean: [0, 0, 0], std: [1, 1, 1], bgr: false },
    layers: [
      { type: 'conv2d', name: 'conv1', outChannels: 4, kernel: [3, 3], stride: [2, 2], pad: [1, 1, 1, 1], groups: 1, bias: true, relu: true },
      { type: 'flatten', name: 'flatten' },
      { type: 'linear', name: 'fc8', outFeatures: 3, bias: true, relu: false },
    ],
  };
  const rng = new Rng(3);
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const layer of inferShapes(arch)) {
    for (const [name, shape] of layer.params) tensors.set(name, { shape, data: initParameter(rng, shape, 27, name.endsWith('.bias')) });
  }
  if (poison) tensors.get(poison.tensor)!.data[2] = poison.value;
  writeSafetensors(path, tensors, { architecture: JSON.stringify(arch) });
}

test('weights with NaN or Inf are refused with a line naming the tensor, not turned into "NaN% class 0"', async () => {
  const good = join(scratch, 'tiny-good.safetensors');
  writeTiny(good);
  (await loadModel({ weights: good })).dispose();
  for (const [tensor, value, word] of [['conv1.weight', NaN, 'NaN'], ['fc8.bias', Infinity, 'Inf']] as const) {
    const path = join(scratch, `tiny-${word}.safetensors`);
    writeTiny(path, { tensor, value });
    const err = await failure(loadModel({ weights: path }));
    assert.equal(err.code, 'ERR_WEIGHTS');
    const shape = tensor === 'conv1.weight' ? '[4,3,3,3]' : '[3]';
    assert.equal(err.message, `${path}: expected finite weights but tensor ${tensor} ${shape} holds 1 NaN or Inf value, the first at element 2 (NaN or Inf would make every prediction NaN)`);
  }
});

// ---------------------------------------------------------------------------------------------
// HDF5

test('a damaged .h5: one line on stderr, no HDF5-DIAG, exit code 1', () => {
  const bytes = readFileSync(fixture('seed_small.h5'));
  const cases: [string, Buffer][] = [
    ['truncated.h5', bytes.subarray(0, 2762)],
    ['flipped.h5', Buffer.concat([bytes.subarray(0, 12), Buffer.from([bytes[12] ^ 0x20]), bytes.subarray(13)])],
  ];
  for (const [name, data] of cases) {
    const path = join(scratch, name);
    writeFileSync(path, data);
    const r = spawnSync(process.execPath, [CLI, 'info', path], { encoding: 'utf8' });
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /HDF5-DIAG|at .*\.js:\d+/);
    assert.match(r.stderr, new RegExp(`^alexnet-cli: ${path}: expected a Keras .h5 file but HDF5 cannot`));
  }
});
