// lib/weights/torch.ts on small checkpoints torch 1.13 wrote (test/fixtures/make_torch_cases.py): every
// float dtype (bfloat16, float16, float64 converted; float32 left on disk), an integer buffer skipped,
// strided views and views at a storage offset, zip and legacy layouts, the wrappers a training script
// saves, and the defects torch.save or a damaged archive gives, each refusal word for word. The values
// are torch's own (cases.json), never ours.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PREPROCESS } from '../lib/model/archs.js';
import { tensorValues } from '../lib/weights/safetensors.js';
import { readTorch } from '../lib/weights/torch.js';

const dir = fileURLToPath(new URL('../../test/fixtures/weights/torch-cases/', import.meta.url));
const file = (name: string) => `${dir}${name}.pth`;
type Expected = Record<string, { shape: number[]; values: number[] }>;
const cases = JSON.parse(readFileSync(`${dir}cases.json`, 'utf8')) as Record<string, Expected> & { _storage0: string; _archive: string };

async function matches(name: string, format: string): Promise<Awaited<ReturnType<typeof readTorch>>> {
  const set = await readTorch(file(name));
  assert.equal(set.format, format);
  assert.deepEqual([...set.tensors.keys()].sort(), Object.keys(cases[name]).sort(), name);
  for (const [key, e] of Object.entries(cases[name])) {
    const t = set.tensors.get(key)!;
    assert.deepEqual(t.shape, e.shape, `${name} ${key} shape`);
    assert.deepEqual(Array.from(tensorValues(t)), e.values, `${name} ${key} values`);
  }
  return set;
}

test('every float dtype, strided views and storage offsets, as torch holds them (zip and legacy)', async () => {
  const zip = await matches('dtypes', 'pytorch-zip');
  // float32 contiguous tensors stay in the file, at their storage's offset; the others are converted or gathered
  const onDisk = [...zip.tensors].filter(([, t]) => t.file).map(([k]) => k).sort();
  assert.deepEqual(onDisk, ['conv2.bias', 'fc6.bias']);
  assert.equal(zip.preprocess, undefined, 'no torchvision names');
  const bytes = readFileSync(file('dtypes'));
  // fc6.bias is arange(10)[3:7]: its first value 3 is 12 bytes into its storage
  assert.equal(bytes.readFloatLE(zip.tensors.get('fc6.bias')!.file!.byteOffset), 3);
  assert.equal(bytes.readFloatLE(zip.tensors.get('fc6.bias')!.file!.byteOffset - 12), 0);
  const legacy = await matches('dtypes_legacy', 'pytorch-legacy');
  assert.equal(legacy.preprocess, undefined);
  assert.equal(readFileSync(file('dtypes_legacy')).readFloatLE(legacy.tensors.get('conv2.bias')!.file!.byteOffset + 4), Math.fround(0.2));
});

test('wrappers: net, model_state_dict, state_dict (legacy); module. prefixes; an empty "model" falls back to the root', async () => {
  for (const [name, format] of [['wrap_net', 'pytorch-zip'], ['wrap_model_state_dict', 'pytorch-zip'], ['wrap_state_dict_legacy', 'pytorch-legacy']]) {
    const set = await matches(name, format);
    assert.deepEqual(set.preprocess, PREPROCESS.torchvision, name);
    assert.deepEqual(set.metadata, {});
    assert.equal(set.path, file(name));
  }
  await matches('wrap_empty_model', 'pytorch-zip');
});

test('defects: each refused with one line naming the file and what was expected', async () => {
  const refusals: [string, string][] = [
    ['expanded', 'expected tensor w [1000] to hold no more elements than its storage 0 (1) but it has 1000 (an expanded or overlapping view)'],
    ['no_tensors', 'expected a state dict, or one under "state_dict" or "model", but found no tensors (keys: epoch, lr, name)'],
    ['a_list', 'expected a state dict (a dict of tensors) but the checkpoint holds a list'],
    ['a_tensor', 'expected a state dict (a dict of tensors) but the checkpoint holds object'],
    ['not_legacy', 'expected a PyTorch checkpoint (zip archive or legacy magic number) but found neither'],
    ['text', 'expected a PyTorch checkpoint (zip archive or pickle) but the file starts with neither'],
    ['legacy_protocol', 'expected legacy checkpoint protocol 1001 but found 1000'],
    ['legacy_big_endian', 'expected a little-endian checkpoint but it was saved big-endian'],
    ['no_data_pkl', 'expected a PyTorch zip checkpoint with <archive>/data.pkl but it is missing'],
    ['no_storage', `expected storage entry ${cases._storage0} in the archive but it is missing (truncated file?)`],
    ['deflated_storage', `expected storage ${cases._storage0} to be stored uncompressed but it uses zip method 8`],
  ];
  for (const [name, message] of refusals) {
    await assert.rejects(readTorch(file(name)), { code: 'ERR_WEIGHTS', message: `${file(name)}: ${message}` }, name);
  }
});

test('crafted legacy checkpoints: a strided view, a legacy storage view at an offset', async () => {
  await matches('c_ok', 'pytorch-legacy');
  await matches('c_view', 'pytorch-legacy');
  await matches('c_int_key', 'pytorch-legacy');
});

test('crafted legacy checkpoints: views outside their storage, bad strides and ids, damaged storage tables', async () => {
  const c = cases as unknown as { _c_negative_count_offset: number; _c_short_storage: [number, number]; _c_no_count_offset: number };
  const refusals: [string, string][] = [
    ['c_past', 'expected tensor w [2] to fit its storage 0 (16 bytes) but it needs 24'],
    ['c_offset_past', 'expected tensor w [2] to fit its storage 0 (16 bytes) but it needs 20'],
    ['c_negative_stride', 'expected tensor w to have non-negative integer sizes, strides and offset but found size [2] stride [-1] offset 0'],
    ['c_stride_rank', 'expected tensor w to have non-negative integer sizes, strides and offset but found size [2,2] stride [2] offset 0'],
    ['c_negative_size', 'expected tensor w to have non-negative integer sizes, strides and offset but found size [-2] stride [1] offset 0'],
    ['c_other_global', 'expected a (\'storage\', torch.*Storage, key, location, numel) persistent id but found ("storage", collections.OrderedDict, "0", "cpu", 4)'],
    ['c_view_negative', 'expected a non-negative storage view offset but found ("v", -1, 4)'],
    ['c_missing_storage', 'expected storage 9 in the legacy checkpoint but it is missing'],
    ['c_negative_count', `expected the element count of storage 0 at offset ${c._c_negative_count_offset} but found -1`],
    ['c_short_storage', `expected 16 bytes of storage 0 at offset ${c._c_short_storage[0]} but the file has ${c._c_short_storage[1]} bytes (truncated?)`],
    ['c_no_count', `expected storage 0 at offset ${c._c_no_count_offset} but the file ends (truncated?)`],
    ['c_keys_not_list', 'expected the list of storage keys after the legacy checkpoint object'],
    ['c_int_pid', "expected a ('storage', torch.*Storage, key, location, numel) persistent id but found 5"],
  ];
  for (const [name, message] of refusals) {
    await assert.rejects(readTorch(file(name)), { code: 'ERR_WEIGHTS', message: `${file(name)}: ${message}` }, name);
  }
});

// Legacy checkpoints changed here byte by byte (protocol 2 pickles have no frame lengths, so opcodes can be
// swapped in place); the opcodes are pickletools' (Lib/pickletools.py), the layout torch/serialization.py's
// legacy _save: magic, protocol, sys info, the object, the key list, then per storage an 8-byte count and its bytes.
const pickleString = (s: string) => Buffer.concat([Buffer.from([0x58]), Buffer.from(Uint32Array.of(s.length).buffer), Buffer.from(s, 'latin1')]); // BINUNICODE
const scratchDir = mkdtempSync(join(tmpdir(), 'weights-torch-cases-'));

test('crafted legacy checkpoints: a one-element persistent id is refused as a persistent id, not a TypeError', async () => {
  const bytes = readFileSync(file('c_int_pid'));
  // c_int_pid's persistent id is BININT1 5, BINPERSID: make it ('storage',): BINUNICODE 'storage', TUPLE1, BINPERSID
  const at = bytes.indexOf(Buffer.from([0x4b, 0x05, 0x51]));
  assert.ok(at > 0 && bytes.indexOf(Buffer.from([0x4b, 0x05, 0x51]), at + 1) === -1);
  const path = join(scratchDir, 'c_short_pid.pth');
  writeFileSync(path, Buffer.concat([bytes.subarray(0, at), pickleString('storage'), Buffer.from([0x85, 0x51]), bytes.subarray(at + 3)]));
  await assert.rejects(readTorch(path), { code: 'ERR_WEIGHTS', message: `${path}: expected a ('storage', torch.*Storage, key, location, numel) persistent id but found ("storage")` });
});

test('crafted legacy checkpoints: an empty storage last in the file (its count the last 8 bytes) is read', async () => {
  const bytes = readFileSync(file('c_ok'));
  // c_ok: the key list ['0'] (PROTO 2, EMPTY_LIST, BINPUT 0, BINUNICODE '0', BINPUT 1, APPEND, STOP), then storage 0: count 4, 16 bytes
  const keys = Buffer.from([0x80, 0x02, 0x5d, 0x71, 0x00, 0x58, 0x01, 0x00, 0x00, 0x00, 0x30, 0x71, 0x01, 0x61, 0x2e]);
  const storage = bytes.subarray(bytes.length - 24);
  assert.equal(bytes.indexOf(keys), bytes.length - 24 - keys.length);
  assert.equal(storage.readBigInt64LE(0), 4n);
  // keys ['0', '1'] (MARK, two BINUNICODE, APPENDS); storage 1 has no elements: its count, 0, ends the file
  const twoKeys = Buffer.concat([Buffer.from([0x80, 0x02, 0x5d, 0x28]), pickleString('0'), pickleString('1'), Buffer.from([0x65, 0x2e])]);
  const path = join(scratchDir, 'c_empty_last.pth');
  writeFileSync(path, Buffer.concat([bytes.subarray(0, bytes.length - 24 - keys.length), twoKeys, storage, Buffer.alloc(8)]));
  const set = await readTorch(path);
  assert.deepEqual(Array.from(tensorValues(set.tensors.get('w')!)), cases.c_ok.w.values);
  // the same file without the last count byte is cut inside storage 1's count
  const cut = join(scratchDir, 'c_empty_last_cut.pth');
  writeFileSync(cut, readFileSync(path).subarray(0, -1));
  await assert.rejects(readTorch(cut), { code: 'ERR_WEIGHTS', message: `${cut}: expected storage 1 at offset ${bytes.length - keys.length + twoKeys.length} but the file ends (truncated?)` });
});
