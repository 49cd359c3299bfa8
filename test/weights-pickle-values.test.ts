// lib/weights/pickle.ts on every value type a state dict may hold, pickled by Python's own pickler at
// protocols 1-5 (test/fixtures/make_pickle_values.py; tree.json is the tree as Python saw it), and on
// hand-made byte strings for the opcodes Python does not emit for a state dict and for every refusal,
// each message written out here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describePickled, PickledTensor, PyGlobal, STORAGE_DTYPES, unpickle } from '../lib/weights/pickle.js';

const dir = fileURLToPath(new URL('../../test/fixtures/weights/values/', import.meta.url));
type Canon = { int: string } | { float: number } | { str: string } | { bytes: string } | { bool: boolean } | { none: true } | { list: Canon[] } | { dict: [Canon, Canon][] };
const manifest = JSON.parse(readFileSync(`${dir}tree.json`, 'utf8')) as { tree: Canon; persid: Canon; ops: Record<string, string[]>; omitted: Record<string, string[]> };

/** the unpickled value against Python's view of it: ints exact (a BigInt only beyond 2^53), floats bit for bit */
function check(actual: unknown, expected: Canon, where: string): void {
  if ('int' in expected) {
    const v = BigInt(expected.int);
    const safe = v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER);
    assert.equal(actual, safe ? Number(v) : v, where);
  } else if ('float' in expected) {
    assert.ok(Object.is(actual, expected.float), `${where}: ${String(actual)} vs ${expected.float}`);
  } else if ('str' in expected) {
    assert.equal(actual, expected.str, where);
  } else if ('bool' in expected) {
    assert.equal(actual, expected.bool, where);
  } else if ('none' in expected) {
    assert.equal(actual, null, where);
  } else if ('bytes' in expected) {
    assert.ok(Buffer.isBuffer(actual), `${where}: not bytes`);
    assert.equal(actual.toString('hex'), expected.bytes, where);
  } else if ('list' in expected) {
    assert.ok(Array.isArray(actual), `${where}: not a list`);
    assert.equal(actual.length, expected.list.length, `${where}: length`);
    expected.list.forEach((e, i) => check(actual[i], e, `${where}[${i}]`));
  } else {
    assert.ok(actual instanceof Map, `${where}: not a dict`);
    assert.equal(actual.size, expected.dict.length, `${where}: size`);
    [...actual.entries()].forEach(([k, v], i) => {
      check(k, expected.dict[i][0], `${where} key ${i}`);
      check(v, expected.dict[i][1], `${where}[${String(k)}]`);
    });
  }
}

for (const protocol of [1, 2, 3, 4, 5]) {
  const name = `tree_p${protocol}.pkl`;
  test(`protocol ${protocol}: every value of the tree as Python pickled it (${manifest.ops[name].length} opcodes)`, () => {
    const data = readFileSync(`${dir}${name}`);
    const { value, end } = unpickle(data, 0, { path: name });
    assert.equal(end, data.length);
    const omitted = manifest.omitted[name];
    const tree = manifest.tree as { dict: [Canon, Canon][] };
    check(value, { dict: tree.dict.filter(([k]) => !('str' in k && omitted.includes(k.str))) }, name);
    // the memo: the two references to one list are one array
    const same = (value as Map<string, unknown[]>).get('same')!;
    assert.equal(same[0], same[1]);
  });
  test(`protocol ${protocol}: persistent ids go to persistentLoad`, () => {
    const pids: unknown[] = [];
    const data = readFileSync(`${dir}persid_p${protocol}.pkl`);
    const { value } = unpickle(data, 0, { path: 'p', persistentLoad: (pid) => { pids.push(pid); return `P:${String(pid)}`; } });
    check(value, manifest.persid, `persid_p${protocol}`);
    assert.deepEqual(pids, ['storage-a', 'storage-b']);
    assert.throws(() => unpickle(data, 0, { path: 'p.pkl' }), { code: 'ERR_WEIGHTS', message: /^p\.pkl: unexpected persistent id in the pickle at offset \d+$/ });
  });
}

test('the fixtures hold every opcode the reader has a branch for that Python emits', () => {
  const used = new Set(Object.entries(manifest.ops).filter(([n]) => !n.endsWith('p0.pkl')).flatMap(([, ops]) => ops));
  for (const op of ['PROTO', 'FRAME', 'STOP', 'MARK', 'BININT', 'BININT1', 'BININT2', 'LONG1', 'INT', 'LONG', 'BINFLOAT', 'NONE', 'NEWTRUE', 'NEWFALSE',
    'BINUNICODE', 'SHORT_BINUNICODE', 'BINBYTES', 'SHORT_BINBYTES', 'BYTEARRAY8', 'EMPTY_LIST', 'APPEND', 'APPENDS', 'EMPTY_TUPLE', 'TUPLE', 'TUPLE1', 'TUPLE2',
    'TUPLE3', 'EMPTY_DICT', 'SETITEM', 'SETITEMS', 'EMPTY_SET', 'ADDITEMS', 'FROZENSET', 'GLOBAL', 'STACK_GLOBAL', 'REDUCE', 'BINPERSID', 'BINPUT',
    'LONG_BINPUT', 'MEMOIZE', 'BINGET', 'LONG_BINGET']) assert.ok(used.has(op), op);
});

test('protocol 0 text strings (UNICODE) are not read: torch.save never writes protocol 0', () => {
  const data = readFileSync(`${dir}tree_p0.pkl`);
  assert.throws(() => unpickle(data, 0, { path: 'p0.pkl' }), { code: 'ERR_WEIGHTS', message: /^p0\.pkl: unsupported pickle opcode 0x56 at offset \d+$/ });
});

const run = (bytes: string | Buffer, persistentLoad?: (pid: unknown) => unknown) =>
  unpickle(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes, 0, { path: 'x.pkl', persistentLoad }).value;
const refused = (bytes: string | Buffer, message: string) => assert.throws(() => run(bytes), { code: 'ERR_WEIGHTS', message: `x.pkl: ${message}` }, JSON.stringify(bytes.toString()));

test('hand-made pickles: the opcodes Python leaves out of state dicts', () => {
  // DUP, POP, POP_MARK
  assert.deepEqual(run('(K\x052t.'), [5, 5]);
  assert.equal(run('K\x07K\x080.'), 7);
  assert.equal(run('K\x07(K\x01K\x021.'), 7);
  // protocol 0 INT (True/False spelled 01/00), LONG with and without L, FLOAT, PUT/GET, PERSID
  assert.deepEqual(run('(I01\nI00\nI12\nI -3 \nL-9007199254740993L\nL7\nF1.5\nt.'), [true, false, 12, -3, -9007199254740993n, 7, 1.5]);
  assert.ok(Number.isNaN(run('Ixx\n.')));
  assert.ok(Number.isNaN(run('I1.5\n.')));
  assert.deepEqual(run('K\x05p3\n0g3\n.'), 5);
  assert.deepEqual(run('(Pstorage-a\nK\x02t.', (pid) => `P:${String(pid)}`), ['P:storage-a', 2]);
  // Python 2 strings: latin-1
  assert.equal(run('U\x02\xe9a.'), '\u00e9a');
  assert.equal(run('T\x02\x00\x00\x00\xe9b.'), '\u00e9b');
  // DICT, LIST, FROZENSET from a mark
  assert.deepEqual(run('(K\x01K\x02K\x03K\x04d.'), new Map([[1, 2], [3, 4]]));
  assert.deepEqual(run('(K\x01K\x02l.'), [1, 2]);
  assert.deepEqual(run('(K\x01\x91.'), [1]);
  // OrderedDict([(1, 2)]) called with its list of pairs
  assert.deepEqual(run('ccollections\nOrderedDict\n]K\x01K\x02\x86a\x85R.'), new Map([[1, 2]]));
  assert.deepEqual(run('ccollections\nOrderedDict\n)R.'), new Map());
  // BUILD on a dict keeps the dict (an OrderedDict's _metadata is dropped)
  assert.deepEqual(run('}K\x01K\x02s}b.'), new Map([[1, 2]]));
  // a storage class and the tensor rebuild: storage, offset, size, stride
  const storage = run('ctorch\nFloatStorage\n.');
  assert.ok(storage instanceof PyGlobal);
  assert.deepEqual([storage.module, storage.name, storage.qualifiedName], ['torch', 'FloatStorage', 'torch.FloatStorage']);
  const tensor = run('ctorch._utils\n_rebuild_tensor_v2\n(NK\x02K\x02K\x03\x86K\x03K\x01\x86\x89}tR}b.');
  assert.ok(tensor instanceof PickledTensor);
  assert.deepEqual([tensor.storage, tensor.offset, tensor.shape, tensor.stride], [null, 2, [2, 3], [3, 1]]);
  const big = run('ctorch._utils\n_rebuild_tensor_v2\n(N\x8a\x01\x01K\x01\x85K\x01\x85\x89}tR.') as PickledTensor;
  assert.deepEqual([big.offset, big.shape], [1, [1]]);
  const param = run('ctorch._utils\n_rebuild_parameter\n(K\x09\x88}tR.');
  assert.equal(param, 9);
  assert.equal(run('ctorch._utils\n_rebuild_parameter_with_state\n(K\x0a\x88}}tR.'), 10);
  // several pickles in a row (legacy checkpoints): each ends where the next starts
  const two = Buffer.from('K\x01.K\x02.', 'latin1');
  assert.deepEqual(unpickle(two, 0, { path: 'x' }), { value: 1, end: 3 });
  assert.deepEqual(unpickle(two, 3, { path: 'x' }), { value: 2, end: 6 });
  // LONG4 of exactly 1024 bytes is read (docs/safety.md's bound); LONG of 2468 digits (and its L) too
  const long4 = Buffer.concat([Buffer.from([0x8b, 0, 4, 0, 0]), Buffer.alloc(1023), Buffer.from([0x40, 0x2e])]);
  assert.equal(run(long4), 1n << BigInt(8 * 1023 + 6));
  assert.equal(run(`L${'9'.repeat(2468)}L\n.`), BigInt('9'.repeat(2468)));
  assert.equal(run('\x8a\x00.'), 0);
  assert.equal(run('\x8a\x02\xff\x7f.'), 32767);
  assert.equal(run('\x8a\x02\x00\x80.'), -32768);
});

test('hand-made pickles: every refusal, word for word', () => {
  refused('', 'expected 1 more bytes of pickle data at offset 0 but the data ends at 0 (truncated file?)');
  refused('\x80\x02K', 'expected 1 more bytes of pickle data at offset 3 but the data ends at 3 (truncated file?)');
  refused('M\x01', 'expected 2 more bytes of pickle data at offset 1 but the data ends at 2 (truncated file?)');
  refused('J\x01\x02\x03', 'expected 4 more bytes of pickle data at offset 1 but the data ends at 4 (truncated file?)');
  refused('G\x00\x00\x00\x00\x00\x00\x00', 'expected 8 more bytes of pickle data at offset 1 but the data ends at 8 (truncated file?)');
  refused('X\x05\x00\x00\x00abc', 'expected 5 more bytes of pickle data at offset 5 but the data ends at 8 (truncated file?)');
  refused('K\x01', 'expected 1 more bytes of pickle data at offset 2 but the data ends at 2 (truncated file?)');
  refused('cos\nsystem\n(S"id"\ntR.', 'pickle refers to os.system, which a state dict never needs (allowed: collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter, torch._utils._rebuild_parameter_with_state, torch.*Storage); not loading it');
  // a storage class name under another module than torch
  refused('cnumpy\nFloatStorage\n', 'pickle refers to numpy.FloatStorage, which a state dict never needs (allowed: collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter, torch._utils._rebuild_parameter_with_state, torch.*Storage); not loading it');
  refused('ctorch\nload\n', 'pickle refers to torch.load, which a state dict never needs (allowed: collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter, torch._utils._rebuild_parameter_with_state, torch.*Storage); not loading it');
  refused('\x8c\x08builtins\x8c\x04eval\x93', 'pickle refers to builtins.eval, which a state dict never needs (allowed: collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter, torch._utils._rebuild_parameter_with_state, torch.*Storage); not loading it');
  refused('0', 'pickle stack underflow at offset 1');
  refused('2', 'pickle stack underflow at offset 1');
  refused('.', 'pickle stack underflow at offset 1');
  refused('K\x01t', 'pickle stack underflow at offset 3');
  refused('h\x05', 'pickle refers to memo entry 5 which was never stored (offset 0)');
  refused('K\x01j\x00\x01\x00\x00', 'pickle refers to memo entry 256 which was never stored (offset 2)');
  refused('g7\n', 'pickle refers to memo entry 7 which was never stored (offset 0)');
  refused('\xff', 'unsupported pickle opcode 0xff at offset 0');
  refused('K\x01\x05', 'unsupported pickle opcode 0x05 at offset 2');
  refused('NQ.', 'unexpected persistent id in the pickle at offset 1');
  refused('Pabc\n.', 'unexpected persistent id in the pickle at offset 0');
  refused(Buffer.from([0x8b, 1, 4, 0, 0]), 'expected an integer of at most 1024 bytes at offset 0 but LONG4 declares 1025');
  refused(`K\x01L${'1'.repeat(2469)}\n.`, 'expected an integer of at most 2468 digits (1024 bytes) at offset 2 but LONG has 2469 characters');
  refused(']K\x01K\x02s', 'expected a dict under SETITEM(S) at offset 6 but found object');
  refused('K\x01(K\x01K\x02u', 'expected a dict under SETITEM(S) at offset 8 but found number');
  refused('}K\x01a', 'expected a list under APPEND(S) at offset 4 but found object');
  refused('}(K\x01e', 'expected a list under APPEND(S) at offset 5 but found object');
  refused('](K\x01K\x02NK\x03K\x04K\x05K\x06tNb', 'expected a dict or tensor to BUILD at offset 17 but found (1, 2, None, 3, 4, 5, ... 7 items)');
  refused('K\x01)R', 'expected a callable and an argument tuple for REDUCE at offset 3');
  refused('ccollections\nOrderedDict\nK\x01R', 'expected a callable and an argument tuple for REDUCE at offset 27');
  refused('K\x01K\x02\x93', 'expected module and name strings for STACK_GLOBAL at offset 4');
  refused('\x8c\x05torchK\x02\x93', 'expected module and name strings for STACK_GLOBAL at offset 9');
  refused('ccollections\nOrderedDict\n)\x81', 'pickle creates an object of collections.OrderedDict, which a state dict never needs; not loading it');
  refused('ccollections\nOrderedDict\n)}\x92', 'pickle creates an object of collections.OrderedDict, which a state dict never needs; not loading it');
  refused('K\x01)\x81', 'pickle creates an object of an unknown class, which a state dict never needs; not loading it');
  refused('ctorch._utils\n_rebuild_tensor_v2\n(NK\x00NNtR', 'expected _rebuild_tensor_v2(storage, offset, size, stride, ...) but the arguments do not match');
  refused('ctorch._utils\n_rebuild_tensor_v2\n(NK\x00]NtR', 'expected _rebuild_tensor_v2(storage, offset, size, stride, ...) but the arguments do not match');
  refused('ctorch\nFloatStorage\n)R', 'cannot call torch.FloatStorage from a pickle');
  refused('I12', 'expected a newline-terminated pickle argument at offset 1 but the data ends');
  refused('T\xff\xff\xff\xff', 'expected a non-negative length at offset 5 but found -1');
  // a name with a newline in it stays one line
  refused('\x8c\x03a\nb\x8c\x01c\x93', 'pickle refers to a b.c, which a state dict never needs (allowed: collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter, torch._utils._rebuild_parameter_with_state, torch.*Storage); not loading it');
  assert.throws(() => run('ctorch._utils\n_rebuild_tensor_v2\n(N\x8c\x01x]]tR'), { name: 'TypeError', message: 'expected an int but found string' });
});

test('describePickled: a few words for any value, bounded in depth and length', () => {
  assert.equal(describePickled(null), 'None');
  assert.equal(describePickled(new PyGlobal('torch', 'HalfStorage')), 'torch.HalfStorage');
  assert.equal(describePickled(new PickledTensor(null, 0, [2, 3], [3, 1])), 'tensor [2,3]');
  assert.equal(describePickled('x'.repeat(40)), JSON.stringify('x'.repeat(40)));
  assert.equal(describePickled('y'.repeat(41)), JSON.stringify(`${'y'.repeat(40)}...`));
  assert.equal(describePickled(12345678901234567890123456789012345678901234567890n), '1234567890123456789012345678901234567890');
  assert.equal(describePickled(1.5), '1.5');
  assert.equal(describePickled(true), 'true');
  assert.equal(describePickled(undefined), 'undefined');
  assert.equal(describePickled(Buffer.alloc(3)), 'bytes(3)');
  assert.equal(describePickled([1, 2, 3, 4, 5, 6]), '(1, 2, 3, 4, 5, 6)');
  assert.equal(describePickled([1, 2, 3, 4, 5, 6, 7]), '(1, 2, 3, 4, 5, 6, ... 7 items)');
  assert.equal(describePickled(new Map([[1, 2]])), 'dict of 1');
  assert.equal(describePickled({}), 'object');
  // depth 4: the fifth level is elided
  assert.equal(describePickled([[[[[1]]]], new Map()]), '(((([...]))), dict of 0)');
  assert.equal(describePickled([[[[new Map()]]]]), '(((({...}))))');
  const cycle: unknown[] = [];
  cycle.push(cycle);
  assert.equal(describePickled(cycle), '(((([...]))))');
});

test('STORAGE_DTYPES: the legacy storage classes and their element types (torch/storage.py)', () => {
  assert.deepEqual(Object.fromEntries(Object.entries(STORAGE_DTYPES).map(([k, v]) => [k, `${v.dtype}/${v.size}`])), {
    FloatStorage: 'float32/4', HalfStorage: 'float16/2', DoubleStorage: 'float64/8', BFloat16Storage: 'bfloat16/2', LongStorage: 'int64/8',
    IntStorage: 'int32/4', ShortStorage: 'int16/2', CharStorage: 'int8/1', ByteStorage: 'uint8/1', BoolStorage: 'bool/1',
  });
});
