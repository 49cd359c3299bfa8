// lib/weights/zip.ts on archives laid out here byte by byte (APPNOTE.TXT 4.3: local headers, the
// central directory, the end record, zip64's locator, record and extra field), each damaged in one
// place: every refusal word for word, and the zip64 sizes read from the extra field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isZip, readHead, ZipFile } from '../lib/weights/zip.js';
import { archive } from './zip-archive.js';

const scratch = mkdtempSync(join(tmpdir(), 'weights-zip-'));

let n = 0;
function write(bytes: Buffer): string {
  const path = join(scratch, `a${n++}.zip`);
  writeFileSync(path, bytes);
  return path;
}
const refused = (fn: () => unknown, path: string, message: string) => assert.throws(fn, { code: 'ERR_WEIGHTS', message: `${path}: ${message}` });

test('a good archive: stored and deflated members, a comment after the end record, zip64 sizes from the extra field', () => {
  const a = Buffer.from('stored bytes');
  const b = Buffer.from('deflated '.repeat(20));
  const path = write(archive([{ name: 'a.bin', data: a }, { name: 'dir/b.txt', data: b, method: 8 }], { comment: 'a comment' }));
  assert.equal(isZip(readHead(path, 4)), true);
  assert.equal(isZip(Buffer.from([0x50, 0x4b, 0x03])), false);
  assert.equal(isZip(Buffer.from('PK\x05\x06')), false);
  const zip = new ZipFile(path);
  assert.deepEqual([...zip.entries.keys()], ['a.bin', 'dir/b.txt']);
  assert.deepEqual(zip.entries.get('a.bin'), { name: 'a.bin', method: 0, compressedSize: a.length, size: a.length, localHeaderOffset: 0 });
  assert.equal(zip.entries.get('dir/b.txt')!.localHeaderOffset, 30 + 5 + a.length);
  assert.equal(zip.dataOffset(zip.entries.get('a.bin')!), 30 + 5);
  assert.deepEqual(zip.read('a.bin'), a);
  assert.deepEqual(zip.read('dir/b.txt'), b);
  assert.deepEqual(zip.readAt(30 + 5 + 7, 5), Buffer.from('bytes'));
  zip.close();
  zip.close();
  const big = new ZipFile(write(archive([{ name: 'x', data: Buffer.from('zip64 member'), zip64: true }], { zip64Locator: 'good' })));
  assert.deepEqual(big.entries.get('x'), { name: 'x', method: 0, compressedSize: 12, size: 12, localHeaderOffset: 0 });
  assert.deepEqual(big.read('x'), Buffer.from('zip64 member'));
  big.close();
});

test('a damaged directory: each refusal names the file and what was expected', () => {
  const one = [{ name: 'a', data: Buffer.from('0123456789') }];
  const cases: [Buffer, string | ((bytes: Buffer) => string)][] = [
    [Buffer.from('not a zip at all, just text that is long enough'), 'expected a zip archive but found no end of central directory (truncated or not a zip file)'],
    // the locator points at bytes that are no zip64 record, past the file, or past any file (a fuzz case: a
    // position of 2^64 - 1 reached the read as Node's RangeError)
    [archive(one, { zip64Locator: 'at-start' }), 'expected a zip64 end of central directory record but it is missing'],
    [archive(one, { zip64Locator: 'missing' }), (b) => `expected the zip64 end of central directory record inside the file (${b.length} bytes) but the locator puts it at 1048576`],
    [archive(one, { zip64Locator: 'past-2^63' }), (b) => `expected the zip64 end of central directory record inside the file (${b.length} bytes) but the locator puts it at 18446744073709551615`],
    [archive(one, { badCentral: true }), 'expected 1 zip central directory entries but entry 0 is damaged'],
    [archive(one, { count: 2 }), 'expected 2 zip central directory entries but entry 1 is damaged'],
    [archive(one, { nameLengthDelta: 5 }), 'expected 1 zip central directory entries but entry 0 runs past the directory'],
    [archive([{ name: 'a', data: Buffer.from('0123456789'), zip64: true, extraLength: 12 }]), 'expected zip64 sizes in the extra field of a but it is too short'],
  ];
  for (const [bytes, message] of cases) {
    const path = write(bytes);
    refused(() => new ZipFile(path), path, typeof message === 'string' ? message : message(bytes));
  }
  const bytes = archive(one, { dirOffsetDelta: 100 });
  const path = write(bytes);
  // the directory is 47 bytes (46 + the name) after the 41 bytes of the member; the end record says it starts 100 later
  refused(() => new ZipFile(path), path, `expected the zip central directory inside the file (${bytes.length} bytes) but it ends at ${41 + 100 + 47}`);
  const missing = join(scratch, 'missing.zip');
  assert.throws(() => new ZipFile(missing), { code: 'ERR_WEIGHTS', message: `${missing}: cannot open: ENOENT: no such file or directory, open '${missing}'` });
  assert.throws(() => readHead(missing, 4), { code: 'ERR_WEIGHTS', message: `${missing}: cannot open: ENOENT: no such file or directory, open '${missing}'` });
});

test('members: missing, other methods, sizes against the limit and the data, damaged local headers and data', () => {
  const data = Buffer.from('0123456789');
  const path = write(archive([
    { name: 'ok', data }, { name: 'method12', data, method: 12 }, { name: 'liar', data, size: 11 },
    { name: 'short', data: Buffer.from('x'.repeat(100)), method: 8, size: 50 }, { name: 'long', data: Buffer.from('y'.repeat(100)), method: 8, size: 150 },
  ]));
  const zip = new ZipFile(path);
  refused(() => zip.read('nothere'), path, 'expected an entry nothere in the zip archive but it is missing');
  refused(() => zip.read('method12'), path, 'expected zip method stored (0) or deflate (8) for method12 but found 12');
  refused(() => zip.read('ok', 9), path, 'expected ok to be at most 9 bytes but it declares 10 (the limit is in docs/safety.md)');
  assert.deepEqual(zip.read('ok', 10), data);
  refused(() => zip.read('liar'), path, 'expected the stored entry liar to be as large as its data (10 bytes) but it declares 11');
  refused(() => zip.read('short'), path, 'expected short to inflate to its declared 50 bytes but it inflates to more');
  refused(() => zip.read('long'), path, 'expected long to inflate to its declared 150 bytes but it inflates to 100 (damaged archive)');
  refused(() => zip.readAt(zip.dataOffset(zip.entries.get('ok')!), 10_000), path, `expected 10000 bytes at offset 32 but the file ends (truncated?)`);
  zip.close();
  // a local header that is not one, and data that runs past the end of the file
  const bytes = archive([{ name: 'a', data }]);
  bytes.writeUInt32LE(0x04034b51, 0);
  const badLocal = write(bytes);
  const z1 = new ZipFile(badLocal);
  refused(() => z1.read('a'), badLocal, 'expected a zip local header for a at offset 0 but it is damaged');
  z1.close();
  const longName = archive([{ name: 'a', data }]);
  longName.writeUInt16LE(200, 26); // the local header's name length: the data would start 199 bytes later
  const past = write(longName);
  const z2 = new ZipFile(past);
  refused(() => z2.read('a'), past, `expected 10 bytes of a at offset 230 but the file has ${longName.length} bytes (truncated?)`);
  z2.close();
  // deflate data that is not deflate
  const garbage = archive([{ name: 'g', data: Buffer.from([0xff, 0xff, 0xff, 0xff]), size: 10 }]);
  garbage.writeUInt16LE(8, 8); // local method
  const g = garbage.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  garbage.writeUInt16LE(8, g + 10); // central method
  const bad = write(garbage);
  const z3 = new ZipFile(bad);
  assert.throws(() => z3.read('g'), { code: 'ERR_WEIGHTS', message: new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: cannot inflate g: `) });
  z3.close();
});

test('an empty archive is its end record alone, found at offset 0', () => {
  const empty = archive([]);
  assert.equal(empty.length, 22);
  const zip = new ZipFile(write(empty));
  assert.equal(zip.entries.size, 0);
  zip.close();
});

test('close() gives the file descriptor back', { skip: existsSync('/proc/self/fd') ? false : 'no /proc/self/fd to count open descriptors' }, () => {
  const path = write(archive([{ name: 'a', data: Buffer.from('x') }]));
  const before = readdirSync('/proc/self/fd').length;
  for (let i = 0; i < 5; i++) new ZipFile(path).close();
  assert.equal(readdirSync('/proc/self/fd').length, before);
});
