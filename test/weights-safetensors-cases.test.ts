// lib/weights/safetensors.ts refusals at their edges, files laid out here (the safetensors format: u64
// header length, a JSON header, the data): each message word for word.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors } from '../lib/weights/safetensors.js';

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
  await refused(file('{"w": ', 0), 'expected a JSON safetensors header but it does not parse');
  const missing = join(scratch, 'missing.safetensors');
  await refused(missing, `cannot open: ENOENT: no such file or directory, open '${missing}'`);
});
