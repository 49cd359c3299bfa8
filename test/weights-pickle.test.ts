// lib/weights/pickle.ts on pickles made by Python's own pickler (test/fixtures/make_pickle_fixtures.py):
// integers at the edges of every integer opcode's range (BININT1, BININT2, signed BININT, LONG1,
// LONG4, protocol 0's INT and LONG), so a reader that takes a byte too few or reads a signed width as
// unsigned gets a value wrong. Beyond 2^53 the reader returns a BigInt.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { unpickle } from '../lib/weights/pickle.js';

const dir = fileURLToPath(new URL('../../test/fixtures/weights/', import.meta.url));
const manifest = JSON.parse(readFileSync(`${dir}ints.json`, 'utf8')) as Record<string, { opcodes: string[] }> & { values: string[] };
const expected = manifest.values.map((s) => {
  const v = BigInt(s);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
});

for (const protocol of [0, 2, 4]) {
  const name = `ints_p${protocol}.pkl`;
  test(`protocol ${protocol}: integers at the edges of ${[...new Set(manifest[name].opcodes)].join(', ')}`, () => {
    const data = readFileSync(`${dir}${name}`);
    const { value, end } = unpickle(data, 0, { path: name });
    assert.equal(end, data.length);
    assert.deepEqual(value, expected);
  });
}

test('the fixtures use every integer opcode', () => {
  const used = new Set(Object.values(manifest).flatMap((m) => (Array.isArray(m) ? [] : m.opcodes)));
  for (const op of ['BININT1', 'BININT2', 'BININT', 'LONG1', 'LONG4', 'INT', 'LONG']) assert.ok(used.has(op), op);
});
