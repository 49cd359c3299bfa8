// lib/weights/safetensors.ts refusals at their edges, files laid out here (the safetensors format: u64
// header length, a JSON header, the data): each message word for word.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors, tensorValues } from '../lib/weights/safetensors.js';

const scratch = mkdtempSync(join(tmpdir(), 'weights-safetensors-cases-'));
let n = 0;
function file(header: object | string, dataBytes: number): string {
  const text = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(text.length));
  const path = join(scratch, `f${n++}.safetensors`);
  writeFileSync(path, Buffer.concat([length, text, Buffer.alloc(dataBytes)]));
  return path;
}
const refused = async (path: string, message: string) => assert.rejects(readSafetensors(path), { code: 'ERR_WEIGHTS', message: `${path}: ${message}` });

test('tensors must lie inside the data, start at or after it, and span their shape', async () => {
  await refused(file({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, 4), 'expected tensor w [2] F32 to span 8 bytes inside the file but found offsets 0..8 (file has 4 data bytes)');
  await refused(file({ w: { dtype: 'F32', shape: [2], data_offsets: [-4, 4] } }, 8), 'expected tensor w [2] F32 to span 8 bytes inside the file but found offsets -4..4 (file has 8 data bytes)');
  await refused(file({ w: { dtype: 'F16', shape: [2, 2], data_offsets: [0, 6] } }, 8), 'expected tensor w [2,2] F16 to span 8 bytes inside the file but found offsets 0..6 (file has 8 data bytes)');
  await refused(file({ w: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, 8), 'expected tensor w to be F32, F16, BF16 or F64 but found I64');
  // exactly at the end of the file is inside
  const ok = await readSafetensors(file({ __metadata__: { a: 'b' }, w: { dtype: 'F64', shape: [1], data_offsets: [8, 16] } }, 16));
  assert.deepEqual([ok.tensors.get('w')!.shape, Array.from(ok.tensors.get('w')!.data!), ok.metadata], [[1], [0], { a: 'b' }]);
});

test('the header\'s structure: an object, each tensor with a dtype, a shape and two integer offsets, string metadata', async () => {
  const field = 'a dtype string, a shape of non-negative integers and data_offsets [begin, end] of integers';
  await refused(file('[1, 2]', 0), 'expected a safetensors header that is a JSON object but found an array');
  await refused(file('77', 0), 'expected a safetensors header that is a JSON object but found number');
  await refused(file({ w: { dtype: 'F32', shape: [1] } }, 4), `expected tensor w to have ${field} but found {"dtype":"F32","shape":[1]}`);
  await refused(file({ w: { dtype: 'F32', shape: [1], data_offsets: [0] } }, 4), `expected tensor w to have ${field} but found {"dtype":"F32","shape":[1],"data_offsets":[0]}`);
  await refused(file({ w: { dtype: 'F32', shape: [1], data_offsets: [0, 4.5] } }, 4), `expected tensor w to have ${field} but found {"dtype":"F32","shape":[1],"data_offsets":[0,4.5]}`);
  await refused(file({ w: { dtype: 'F32', shape: 4, data_offsets: [0, 4] } }, 4), `expected tensor w to have ${field} but found {"dtype":"F32","shape":4,"data_offsets":[0,4]}`);
  await refused(file({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4), `expected tensor w to have ${field} but found {"dtype":"F32","shape":[-1],"data_offsets":[0,4]}`);
  await refused(file({ w: { dtype: 3, shape: [1], data_offsets: [0, 4] } }, 4), `expected tensor w to have ${field} but found {"dtype":3,"shape":[1],"data_offsets":[0,4]}`);
  await refused(file({ w: null }, 4), `expected tensor w to have ${field} but found null`);
  await refused(file({ __metadata__: { a: 1 } }, 0), 'expected __metadata__ to be an object of strings but found a not a string');
  await refused(file({ __metadata__: 'x' }, 0), 'expected __metadata__ to be an object of strings but found (the whole) not a string');
});

test('the header: its length within the file, at least 2 bytes, JSON', async () => {
  const short = join(scratch, 'short.safetensors');
  writeFileSync(short, Buffer.alloc(5));
  await refused(short, 'expected a safetensors file (8-byte header length) but the file has 5 bytes');
  // "{}" is the smallest header: read, no tensors
  assert.equal((await readSafetensors(file('{}', 0))).tensors.size, 0);
  const one = join(scratch, 'one.safetensors');
  const b = Buffer.alloc(9 + 4);
  b.writeBigUInt64LE(1n);
  b[8] = 0x7b;
  writeFileSync(one, b);
  await refused(one, 'expected a safetensors header length within the file (13 bytes) but found 1');
  const long = join(scratch, 'long.safetensors');
  const c = Buffer.alloc(8 + 10);
  c.writeBigUInt64LE(11n);
  writeFileSync(long, c);
  await refused(long, 'expected a safetensors header length within the file (18 bytes) but found 11');
  // a header over the 100 MiB bound, inside a file long enough to hold it (sparse: nothing is written past byte 8)
  const huge = join(scratch, 'huge-header.safetensors');
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(100 * 1024 * 1024 + 1));
  writeFileSync(huge, head);
  truncateSync(huge, 8 + 100 * 1024 * 1024 + 16);
  await refused(huge, `expected a safetensors header length within the file (${8 + 100 * 1024 * 1024 + 16} bytes) but found ${100 * 1024 * 1024 + 1}`);
  await refused(file('{"w": ', 0), 'expected a JSON safetensors header but it does not parse');
  const missing = join(scratch, 'missing.safetensors');
  await refused(missing, `cannot open: ENOENT: no such file or directory, open '${missing}'`);
});

test('a quantized file: an I8 weight with its scales, read as q * scale; a companion of the wrong shape refused; a file cut after reading', async () => {
  // fc.weight I8 [2,3] at 0..6, fc.weight_scale F32 [2] at 8..16, fc.input_scale F32 [] at 16..20, fc.input_zero_point U8 [] at 20..21
  const header = (scaleShape: number[]) => ({
    __metadata__: { 'alexnet.precision': 'int8' },
    'fc.weight': { dtype: 'I8', shape: [2, 3], data_offsets: [0, 6] },
    'fc.weight_scale': { dtype: 'F32', shape: scaleShape, data_offsets: [8, 8 + 4 * scaleShape[0]] },
    'fc.input_scale': { dtype: 'F32', shape: [], data_offsets: [8 + 4 * scaleShape[0], 12 + 4 * scaleShape[0]] },
    'fc.input_zero_point': { dtype: 'U8', shape: [], data_offsets: [12 + 4 * scaleShape[0], 13 + 4 * scaleShape[0]] },
  });
  const write = (scales: number[]) => {
    const text = Buffer.from(JSON.stringify(header([scales.length])));
    const data = Buffer.alloc(13 + 4 * scales.length);
    Int8Array.of(1, -2, 3, -4, 5, -6).forEach((q, i) => data.writeInt8(q, i));
    scales.forEach((s, i) => data.writeFloatLE(s, 8 + 4 * i));
    data.writeFloatLE(0.25, 8 + 4 * scales.length);
    data.writeUInt8(7, 12 + 4 * scales.length);
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(text.length));
    const path = join(scratch, `q${n++}.safetensors`);
    writeFileSync(path, Buffer.concat([length, text, data]));
    return { path, dataStart: 8 + text.length };
  };
  const good = write([0.5, 2]);
  const set = await readSafetensors(good.path);
  assert.deepEqual([...set.tensors.keys()], ['fc.weight']);
  const t = set.tensors.get('fc.weight')!;
  assert.deepEqual([Array.from(t.int8!.scales), t.int8!.inputScale, t.int8!.inputZeroPoint, t.int8!.file.byteOffset], [[0.5, 2], 0.25, 7, good.dataStart]);
  // row 0 times 0.5, row 1 times 2
  assert.deepEqual(Array.from(tensorValues(t)), [0.5, -1, 1.5, -8, 10, -12]);
  const wrong = write([0.5, 2, 1]);
  await refused(wrong.path, 'expected int8 tensor fc.weight to come with fc.weight_scale [2] but found [3]');
  // the file cut short after it was read: the values are not there to read
  truncateSync(good.path, good.dataStart + 4);
  assert.throws(() => tensorValues(t), { code: 'ERR_WEIGHTS', message: `${good.path}: expected 6 bytes at offset ${good.dataStart} but the file ends early` });
});
