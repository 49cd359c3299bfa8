// lib/weights/npy.ts against files numpy wrote (test/fixtures/make_npy_cases.py): arrays of rank 0 to 4,
// format 2.0 and 3.0 headers, float16 and float64, a compressed .npz; encodeNpy must give np.save's
// bytes exactly; refused dtypes and damaged headers, word for word.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeNpy, isNpy, parseNpy, readNpy, readNpz, writeNpy } from '../lib/weights/npy.js';

const dir = fileURLToPath(new URL('../../test/fixtures/weights/npy-cases/', import.meta.url));
const cases = JSON.parse(readFileSync(`${dir}cases.json`, 'utf8')) as Record<string, { shape: number[]; values: number[] }>;
const scratch = mkdtempSync(join(tmpdir(), 'weights-npy-cases-'));

test('numpy\'s files of every rank, header version and float dtype read as numpy holds them', () => {
  for (const [name, dtype] of [['r0', 'float32'], ['r1', 'float32'], ['r2', 'float32'], ['r4', 'float32'], ['v2', 'float32'], ['v3', 'float32'], ['f2', 'float16'], ['f8', 'float64']]) {
    const a = readNpy(`${dir}${name}.npy`);
    assert.deepEqual(a.shape, cases[name].shape, name);
    assert.equal(a.dtype, dtype, name);
    assert.deepEqual(Array.from(a.data), cases[name].values, name);
  }
});

test('encodeNpy and writeNpy give np.save\'s bytes exactly (header padded to 64 bytes, "(n,)" for rank 1)', () => {
  for (const name of ['r0', 'r1', 'r2', 'r4']) {
    const expected = readFileSync(`${dir}${name}.npy`);
    assert.deepEqual(encodeNpy(cases[name].shape, Float32Array.from(cases[name].values)), expected, name);
    const path = join(scratch, `${name}.npy`);
    writeNpy(path, cases[name].shape, Float32Array.from(cases[name].values));
    assert.deepEqual(readFileSync(path), expected, name);
  }
  // a view into a larger buffer is written from its own offset
  const big = Float32Array.from([9, 9, ...cases.r1.values]);
  assert.deepEqual(encodeNpy([5], big.subarray(2)), readFileSync(`${dir}r1.npy`));
});

test('a compressed .npz: members as tensors, named without .npy', async () => {
  const set = await readNpz(`${dir}compressed.npz`);
  assert.equal(set.format, 'npz');
  assert.deepEqual([...set.tensors.keys()].sort(), ['conv1.weight', 'fc8.bias']);
  for (const key of ['conv1.weight', 'fc8.bias']) {
    const t = set.tensors.get(key)!;
    assert.deepEqual(t.shape, cases[`compressed:${key}`].shape);
    assert.deepEqual(Array.from(t.data!), cases[`compressed:${key}`].values);
  }
});

test('refusals: dtypes, byte order, damaged headers, word for word', () => {
  const refused = (path: string, message: string) => assert.throws(() => readNpy(path), { code: 'ERR_WEIGHTS', message: `${path}: ${message}` });
  refused(`${dir}big_endian.npy`, "expected a float32, float16 or float64 (little-endian) array but found dtype '>f4'");
  refused(`${dir}int32.npy`, "expected a float32, float16 or float64 (little-endian) array but found dtype '<i4'");
  const file = (name: string, bytes: Buffer) => { const p = join(scratch, name); writeFileSync(p, bytes); return p; };
  refused(file('text.npy', Buffer.from('not numpy')), 'expected a .npy file (magic \\x93NUMPY) but the file starts differently');
  const magic = Buffer.from('\x93NUMPY', 'latin1');
  refused(file('cut1.npy', Buffer.concat([magic, Buffer.from([1, 0, 5])])), 'expected a .npy header but the file ends (truncated?)');
  refused(file('cut2.npy', Buffer.concat([magic, Buffer.from([2, 0, 5, 0, 0])])), 'expected a .npy header but the file ends (truncated?)');
  refused(file('cut3.npy', Buffer.concat([magic, Buffer.from([1, 0, 50, 0]), Buffer.from("{'descr': '<f4'")])), 'expected a .npy header but the file ends (truncated?)');
  const header = (text: string, major = 1) => Buffer.concat([magic, Buffer.from([major, 0]), major === 1 ? Buffer.from([text.length, 0]) : Buffer.from([text.length, 0, 0, 0]), Buffer.from(text, 'latin1')]);
  refused(file('noshape.npy', header("{'descr': '<f4', 'fortran_order': False, }  ")), "expected a .npy header with descr, fortran_order and shape but found {'descr': '<f4', 'fortran_order': False, }");
  refused(file('nodescr.npy', header("{'fortran_order': False, 'shape': (1,), }")), "expected a .npy header with descr, fortran_order and shape but found {'fortran_order': False, 'shape': (1,), }");
  refused(file('noorder.npy', header("{'descr': '<f4', 'shape': (1,), }")), "expected a .npy header with descr, fortran_order and shape but found {'descr': '<f4', 'shape': (1,), }");
  refused(file('short.npy', Buffer.concat([header("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }"), Buffer.alloc(31)])), 'expected 32 bytes of data for shape (2, 2) but the file has 31 (truncated?)');
  refused(file('short2.npy', Buffer.concat([header("{'descr': '<f2', 'fortran_order': False, 'shape': (3,), }", 2), Buffer.alloc(5)])), 'expected 6 bytes of data for shape (3) but the file has 5 (truncated?)');
  // '=' is the platform's order: little-endian here; a format 2.0 header with its 4-byte length
  const eq = parseNpy(Buffer.concat([header("{'descr': '=f4', 'fortran_order': False, 'shape': (2,), }", 2), Buffer.from(Float32Array.from([1.5, -2]).buffer)]), 'x');
  assert.deepEqual([eq.shape, eq.dtype, Array.from(eq.data)], [[2], 'float32', [1.5, -2]]);
  const missing = join(scratch, 'missing.npy');
  assert.throws(() => readNpy(missing), { code: 'ERR_WEIGHTS', message: `${missing}: cannot open: ENOENT: no such file or directory, open '${missing}'` });
  assert.equal(isNpy(magic.subarray(0, 5)), false);
  assert.equal(isNpy(magic), true);
});

test('shape dimensions are decimal integers as numpy writes them: no fractions, exponents, hex, signs or empty slots', () => {
  const magic = Buffer.from('\x93NUMPY', 'latin1');
  const npy = (shape: string, dataBytes = 0) => {
    const text = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape}), }`;
    const length = Buffer.alloc(2);
    length.writeUInt16LE(text.length);
    return Buffer.concat([magic, Buffer.from([1, 0]), length, Buffer.from(text, 'latin1'), Buffer.alloc(dataBytes)]);
  };
  const image = 3 * 224 * 224 * 4;
  for (const shape of ['3, 224.5, 224', '2.5, 3, 224, 224', '1e0, 3, 224, 224', '0x40, 3, 224, 224', '-1, 3, 224, 224', '+1, 3, 224, 224',
    '3,, 224, 224', ',', '1_0, 3', 'True, 3', '3, 9007199254740993, 9007199254740993']) {
    const path = join(scratch, 'dims.npy');
    writeFileSync(path, npy(shape, 2 * image));
    assert.throws(() => readNpy(path), { code: 'ERR_WEIGHTS', message: `${path}: expected a shape of non-negative integers, as numpy writes it, but found (${shape})` }, shape);
  }
  // a hostile header is shown by its start only
  const nested = join(scratch, 'nested.npy');
  writeFileSync(nested, npy('('.repeat(200)));
  assert.throws(() => readNpy(nested), { code: 'ERR_WEIGHTS', message: `${nested}: expected a shape of non-negative integers, as numpy writes it, but found (${'('.repeat(80)}...)` });
  // what numpy writes: "n," for one dimension, "" for none, a trailing comma; Python 2's "L" (numpy's reader drops it too)
  assert.deepEqual(parseNpy(npy('2,', 8), 'x').shape, [2]);
  assert.deepEqual(parseNpy(npy('', 4), 'x').shape, []);
  assert.deepEqual(parseNpy(npy('0, 3', 0), 'x').shape, [0, 3]);
  assert.deepEqual(parseNpy(npy('2L, 3L', 24), 'x').shape, [2, 3]);
  assert.deepEqual(parseNpy(npy('1, 3, 224, 224', image), 'x').shape, [1, 3, 224, 224]);
});
