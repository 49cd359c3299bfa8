import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PREPROCESS } from '../lib/model/archs.js';
import { unpickle } from '../lib/weights/pickle.js';
import { canonicalTorchName, readTorch } from '../lib/weights/torch.js';
import { readWeights } from '../lib/weights/index.js';
import { ZipFile } from '../lib/weights/zip.js';
import { assertMatchesManifest, fixture } from './weights-fixtures.js';

test('zip .pth with a bare torchvision state dict: canonical names, values, tensors left on disk', async () => {
  const set = await readTorch(fixture('tv_small.pth'));
  assertMatchesManifest(set, 'tv_small.pth');
  // float32 contiguous storages inside STORED entries are referenced by offset, not copied
  const conv1 = set.tensors.get('conv1.weight')!;
  assert.equal(conv1.data, undefined);
  assert.equal(conv1.file?.path, fixture('tv_small.pth'));
  assert.equal(conv1.file!.byteOffset % 64, 0, 'torch.save aligns storages to 64 bytes');
  assert.deepEqual(set.preprocess, PREPROCESS.torchvision);
});

test('readWeights of a zip .pth parses its zip directory once (format detection hands the archive to the reader)', async () => {
  const proto = ZipFile.prototype as unknown as { readCentralDirectory: () => void };
  const original = proto.readCentralDirectory;
  const parsed: string[] = [];
  proto.readCentralDirectory = function (this: ZipFile) {
    parsed.push(this.path);
    original.call(this);
  };
  try {
    const set = await readWeights(fixture('tv_small.pth'));
    assertMatchesManifest(set, 'tv_small.pth');
    assert.deepEqual(parsed, [fixture('tv_small.pth')]);
  } finally {
    proto.readCentralDirectory = original;
  }
});

test('legacy .pth: {state_dict} wrapper, module. prefix, a float64 storage', async () => {
  const set = await readTorch(fixture('tv_small_legacy.pth'));
  assertMatchesManifest(set, 'tv_small_legacy.pth');
  assert.ok(set.tensors.get('fc8.weight')!.data, 'float64 is converted in memory');
});

test('zip .pth: {model} wrapper, float16, a non-contiguous view and a storage offset', async () => {
  const set = await readTorch(fixture('tv_small_half.pth'));
  assertMatchesManifest(set, 'tv_small_half.pth');
});

test('torchvision key mapping', () => {
  assert.deepEqual(canonicalTorchName('module.features.10.bias'), { name: 'conv5.bias', torchvision: true });
  assert.deepEqual(canonicalTorchName('classifier.6.weight'), { name: 'fc8.weight', torchvision: true });
  assert.deepEqual(canonicalTorchName('conv2.weight'), { name: 'conv2.weight', torchvision: false });
});

test('a pickle that calls os.system is refused, naming the global', async () => {
  const path = fixture('malicious.pth');
  await assert.rejects(readTorch(path), {
    code: 'ERR_WEIGHTS',
    message: `${path}: pickle refers to os.system, which a state dict never needs (allowed: collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter, torch._utils._rebuild_parameter_with_state, torch.*Storage); not loading it`,
  });
});

test('other refusals: STACK_GLOBAL builtins.eval, an unknown opcode', () => {
  // protocol 4: SHORT_BINUNICODE 'builtins', SHORT_BINUNICODE 'eval', STACK_GLOBAL
  const evalPickle = Buffer.from([0x80, 0x04, 0x8c, 8, ...Buffer.from('builtins'), 0x8c, 4, ...Buffer.from('eval'), 0x93, 0x2e]);
  assert.throws(() => unpickle(evalPickle, 0, { path: 'x.pkl' }), { message: /x\.pkl: pickle refers to builtins\.eval, which a state dict never needs/ });
  const unknownOp = Buffer.from([0x80, 0x02, 0xff]);
  assert.throws(() => unpickle(unknownOp, 0, { path: 'x.pkl' }), { message: 'x.pkl: unsupported pickle opcode 0xff at offset 2' });
});

test('pickle values: dicts, lists, tuples, ints, floats, strings', () => {
  // pickle.dumps({'a': [1, -2, 70000, 2**40], 'b': (1.5, 'x', None, True)}, protocol=2)
  const bytes = Buffer.from('80027d71002858010000006171015d7102284b014afeffffff4a701101008a06000000000001655801000000' +
    '62710328473ff800000000000058010000007871044e88747105752e', 'hex');
  const { value } = unpickle(bytes, 0, { path: 'p' });
  assert.ok(value instanceof Map);
  assert.deepEqual(value.get('a'), [1, -2, 70000, 2 ** 40]);
  assert.deepEqual(value.get('b'), [1.5, 'x', null, true]);
});

test('truncated checkpoints fail with a clear message', async () => {
  const path = fixture('truncated.pth');
  await assert.rejects(readTorch(path), {
    message: `${path}: expected a zip archive but found no end of central directory (truncated or not a zip file)`,
  });
  // a legacy checkpoint cut inside the storages
  const legacy = readFileSync(fixture('tv_small_legacy.pth'));
  const cut = join(mkdtempSync(join(tmpdir(), 'weights-torch-')), 'cut.pth');
  writeFileSync(cut, legacy.subarray(0, legacy.length - 100));
  await assert.rejects(readTorch(cut), { message: /expected \d+ bytes of storage \w+ at offset \d+ but the file has \d+ bytes \(truncated\?\)/ });
});
