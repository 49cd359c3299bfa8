import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors, tensorValues, writeSafetensors } from '../lib/weights/safetensors.js';

const scratch = mkdtempSync(join(tmpdir(), 'alexnet-st-'));

/** a safetensors file assembled by hand, as the format's specification lays it out */
function handMade(header: object, data: Buffer): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, data]);
}

test('write then read: shapes, values, metadata; F32 data stays in the file, 8-byte aligned', async () => {
  const path = join(scratch, 'a.safetensors');
  const w = Float32Array.from({ length: 24 }, (_, i) => i / 7 - 1);
  const b = Float32Array.from([0.5, -2, 3e-8]);
  writeSafetensors(path, new Map([['conv1.weight', { shape: [2, 3, 2, 2], data: w }], ['conv1.bias', { shape: [3], data: b }]]), { arch: 'seed', note: 'x' });
  const set = await readSafetensors(path);
  assert.equal(set.format, 'safetensors');
  assert.deepEqual(set.metadata, { arch: 'seed', note: 'x' });
  assert.deepEqual([...set.tensors.keys()], ['conv1.weight', 'conv1.bias']);
  const t = set.tensors.get('conv1.weight')!;
  assert.deepEqual(t.shape, [2, 3, 2, 2]);
  assert.equal(t.data, undefined);
  assert.equal(t.file!.byteOffset % 8, 0);
  assert.deepEqual(tensorValues(t), w);
  assert.deepEqual(tensorValues(set.tensors.get('conv1.bias')!), b);
  // no temporary file left behind
  assert.deepEqual(readdirSync(scratch).filter((f) => f.includes('.tmp')), []);
});

test('F16, BF16 and F64 tensors are converted to float32', async () => {
  const f16 = Buffer.alloc(6);
  [0x3c00, 0xc000, 0x3555].forEach((h, i) => f16.writeUInt16LE(h, i * 2)); // 1, -2, 0.33325
  const bf16 = Buffer.alloc(4);
  [0x3f80, 0x4049].forEach((h, i) => bf16.writeUInt16LE(h, i * 2)); // 1, 3.140625
  const f64 = Buffer.alloc(8);
  f64.writeDoubleLE(Math.PI);
  const path = join(scratch, 'mixed.safetensors');
  writeFileSync(path, handMade({
    h: { dtype: 'F16', shape: [3], data_offsets: [0, 6] },
    b: { dtype: 'BF16', shape: [2], data_offsets: [6, 10] },
    d: { dtype: 'F64', shape: [1], data_offsets: [10, 18] },
  }, Buffer.concat([f16, bf16, f64])));
  const set = await readSafetensors(path);
  assert.deepEqual(Array.from(set.tensors.get('h')!.data!), [1, -2, 0.333251953125]);
  assert.deepEqual(Array.from(set.tensors.get('b')!.data!), [1, 3.140625]);
  assert.equal(set.tensors.get('d')!.data![0], Math.fround(Math.PI));
});

test('damaged files give one clear error naming the file', async () => {
  const cases: [string, Buffer, RegExp][] = [
    ['short', Buffer.from([1, 2, 3]), /expected a safetensors file \(8-byte header length\) but the file has 3 bytes/],
    ['huge-header', (() => { const b = Buffer.alloc(16); b.writeBigUInt64LE(1000n); return b; })(), /expected a safetensors header length within the file \(16 bytes\) but found 1000/],
    ['not-json', handMade({}, Buffer.alloc(0)).fill(0x41, 8), /expected a JSON safetensors header but it does not parse/],
    ['dtype', handMade({ x: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, Buffer.alloc(8)), /expected tensor x to be F32, F16, BF16 or F64 but found I64/],
    ['offsets', handMade({ x: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, Buffer.alloc(8)), /expected tensor x \[4\] F32 to span 16 bytes inside the file/],
  ];
  for (const [name, bytes, message] of cases) {
    const path = join(scratch, `${name}.safetensors`);
    writeFileSync(path, bytes);
    await assert.rejects(readSafetensors(path), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'ERR_WEIGHTS');
      assert.ok(e.message.startsWith(`${path}: `), e.message);
      assert.match(e.message, message);
      return true;
    });
  }
  await assert.rejects(readSafetensors(join(scratch, 'missing.safetensors')), /missing\.safetensors: cannot open/);
});

test('a failed write leaves no partial file', () => {
  const path = join(scratch, 'bad.safetensors');
  assert.throws(() => writeSafetensors(path, new Map([['x', { shape: [3], data: new Float32Array(2) }]])), /expected 3 values for tensor x \[3\] but received 2/);
  assert.equal(existsSync(path), false);
  assert.equal(readFileSync(join(scratch, 'a.safetensors')).length > 0, true);
});
