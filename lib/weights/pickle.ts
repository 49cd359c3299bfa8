// A restricted reader for the Python pickles inside PyTorch checkpoints. It never executes anything:
// it interprets the protocol 0-5 opcodes that state dicts use and builds plain JS values, and it only
// knows a handful of globals (collections.OrderedDict, torch._utils._rebuild_tensor_v2,
// torch._utils._rebuild_parameter and the torch.*Storage classes). Any other GLOBAL is an error that
// names it, so a checkpoint that would run `os.system` on torch.load is refused before anything else.
//
// Python values map to: dict/OrderedDict -> Map, list and tuple -> Array, str -> string,
// int -> number (bigint when beyond 2^53), float -> number, bytes -> Buffer, None -> null.
import { MAX_DESCRIBE_DEPTH } from './limits.js';
import { weightsError } from './types.js';

/** dtype names as torch.dtype prints them, keyed by the legacy storage class that pickles carry */
export const STORAGE_DTYPES: Record<string, { dtype: string; size: number }> = {
  FloatStorage: { dtype: 'float32', size: 4 },
  HalfStorage: { dtype: 'float16', size: 2 },
  DoubleStorage: { dtype: 'float64', size: 8 },
  BFloat16Storage: { dtype: 'bfloat16', size: 2 },
  LongStorage: { dtype: 'int64', size: 8 },
  IntStorage: { dtype: 'int32', size: 4 },
  ShortStorage: { dtype: 'int16', size: 2 },
  CharStorage: { dtype: 'int8', size: 1 },
  ByteStorage: { dtype: 'uint8', size: 1 },
  BoolStorage: { dtype: 'bool', size: 1 },
};

/** A global the pickle referred to (only allowed ones are ever created) */
export class PyGlobal {
  constructor(readonly module: string, readonly name: string) {}
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** A tensor as torch._utils._rebuild_tensor_v2 describes it: a view into a storage */
export class PickledTensor {
  constructor(
    /** whatever the persistent-load callback returned for the storage */
    readonly storage: unknown,
    /** element offset into the storage */
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

const ALLOWED_FUNCTIONS = [
  'collections.OrderedDict', 'torch._utils._rebuild_tensor_v2', 'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
];

function isAllowedGlobal(module: string, name: string): boolean {
  if (module === 'torch' && name in STORAGE_DTYPES) return true;
  return ALLOWED_FUNCTIONS.includes(`${module}.${name}`);
}

class Mark {}
const MARK = new Mark();

export interface UnpickleOptions {
  /** the file, for error messages */
  path: string;
  /** turns a persistent id (BINPERSID) into a value, e.g. a storage description */
  persistentLoad?: (pid: unknown) => unknown;
}

export interface UnpickleResult {
  value: unknown;
  /** byte offset just past the STOP opcode (legacy checkpoints are several pickles in a row) */
  end: number;
}

function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  throw new TypeError(`expected an int but found ${typeof v}`);
}

/**
 * Longest LONG4 (and protocol 0 LONG) accepted, in bytes of two's complement: a state dict's ints fit in
 * 8 bytes (the legacy magic in 10), and Python writes LONG4 only from 256 bytes on, so a bound of 255
 * would refuse every LONG4. Decoding is linear, so the bound is about memory, not time.
 */
const MAX_LONG_BYTES = 1024;
/** the decimal digits of the largest such integer: 8 * MAX_LONG_BYTES * log10(2), rounded up, and a sign */
const MAX_LONG_DIGITS = Math.ceil(8 * MAX_LONG_BYTES * Math.log10(2)) + 1;

function decodeLong(bytes: Buffer): number | bigint {
  if (bytes.length === 0) return 0;
  // little-endian two's complement, through one hex string (linear; shifting a BigInt per byte is quadratic)
  let v = BigInt(`0x${Buffer.from(bytes).reverse().toString('hex')}`);
  if (bytes[bytes.length - 1] & 0x80) v -= 1n << BigInt(8 * bytes.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** A pickled value in a few words, for messages: bounded depth and length, safe on cycles */
export function describePickled(value: unknown, depth = 0): string {
  if (value === null) return 'None';
  if (value instanceof PyGlobal) return value.qualifiedName;
  if (value instanceof PickledTensor) return `tensor [${value.shape.join(',')}]`;
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === 'bigint') return `${value.toString().slice(0, 40)}`;
  if (typeof value !== 'object') return String(value);
  if (Buffer.isBuffer(value)) return `bytes(${value.length})`;
  if (depth >= MAX_DESCRIBE_DEPTH) return Array.isArray(value) ? '[...]' : '{...}';
  if (Array.isArray(value)) {
    const items = value.slice(0, 6).map((v) => describePickled(v, depth + 1));
    return `(${items.join(', ')}${value.length > 6 ? `, ... ${value.length} items` : ''})`;
  }
  if (value instanceof Map) return `dict of ${value.size}`;
  return typeof value;
}

/** protocol 0's decimal INT and LONG: exact beyond 2^53 (a BigInt there, as LONG1 and LONG4 give) */
function decodeDecimal(text: string): number | bigint {
  if (!/^[+-]?\d+$/.test(text.trim())) return Number.NaN;
  const v = BigInt(text.trim());
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function callGlobal(fn: PyGlobal, args: unknown[], fail: (m: string) => never): unknown {
  switch (fn.qualifiedName) {
    case 'collections.OrderedDict': {
      const map = new Map<unknown, unknown>();
      // OrderedDict([(k, v), ...]) in some protocols; OrderedDict() then SETITEMS in others
      if (Array.isArray(args[0])) for (const pair of args[0] as unknown[][]) map.set(pair[0], pair[1]);
      return map;
    }
    case 'torch._utils._rebuild_tensor_v2': {
      // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
      const [storage, offset, size, stride] = args;
      if (!Array.isArray(size) || !Array.isArray(stride)) fail('expected _rebuild_tensor_v2(storage, offset, size, stride, ...) but the arguments do not match');
      return new PickledTensor(storage, toNumber(offset), size.map(toNumber), stride.map(toNumber));
    }
    case 'torch._utils._rebuild_parameter':
    case 'torch._utils._rebuild_parameter_with_state':
      // (data, requires_grad, backward_hooks[, state]): a Parameter is its tensor here
      return args[0];
    default:
      return fail(`cannot call ${fn.qualifiedName} from a pickle`);
  }
}

export function unpickle(data: Buffer, start: number, options: UnpickleOptions): UnpickleResult {
  const fail: (message: string) => never = (message) => {
    throw weightsError(options.path, message);
  };
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  let p = start;

  const need = (n: number): void => {
    if (p + n > data.length) fail(`expected ${n} more bytes of pickle data at offset ${p} but the data ends at ${data.length} (truncated file?)`);
  };
  const u8 = (): number => { need(1); return data[p++]; };
  const u16 = (): number => { need(2); const v = data.readUInt16LE(p); p += 2; return v; };
  const u32 = (): number => { need(4); const v = data.readUInt32LE(p); p += 4; return v; };
  const i32 = (): number => { need(4); const v = data.readInt32LE(p); p += 4; return v; };
  const u64 = (): number => { need(8); const v = Number(data.readBigUInt64LE(p)); p += 8; return v; };
  const bytes = (n: number): Buffer => { if (n < 0) fail(`expected a non-negative length at offset ${p} but found ${n}`); need(n); const v = data.subarray(p, p + n); p += n; return v; };
  const line = (): string => {
    const nl = data.indexOf(0x0a, p);
    if (nl < 0) fail(`expected a newline-terminated pickle argument at offset ${p} but the data ends`);
    const s = data.toString('latin1', p, nl);
    p = nl + 1;
    return s;
  };
  const pop = (): unknown => {
    if (stack.length === 0) fail(`pickle stack underflow at offset ${p}`);
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) fail(`pickle stack underflow at offset ${p}`);
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const items: unknown[] = [];
    for (;;) {
      const v = pop();
      if (v === MARK) return items.reverse();
      items.push(v);
    }
  };
  const global = (module: string, name: string): PyGlobal => {
    if (!isAllowedGlobal(module, name)) {
      fail(`pickle refers to ${module}.${name}, which a state dict never needs (allowed: ${ALLOWED_FUNCTIONS.join(', ')}, torch.*Storage); not loading it`);
    }
    return new PyGlobal(module, name);
  };
  const setItems = (target: unknown, items: unknown[]): void => {
    if (!(target instanceof Map)) fail(`expected a dict under SETITEM(S) at offset ${p} but found ${typeof target}`);
    for (let i = 0; i + 1 < items.length; i += 2) target.set(items[i], items[i + 1]);
  };
  const appendItems = (target: unknown, items: unknown[]): void => {
    if (!Array.isArray(target)) fail(`expected a list under APPEND(S) at offset ${p} but found ${typeof target}`);
    // not push(...items): a spread of a million items overflows the call stack
    for (const item of items) target.push(item);
  };

  for (;;) {
    const opcodeOffset = p;
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: u64(); break; // FRAME: framing only matters to streaming readers
      case 0x2e: return { value: pop(), end: p }; // STOP
      case 0x28: stack.push(MARK); break; // MARK
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      case 0x4a: stack.push(i32()); break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x8a: stack.push(decodeLong(bytes(u8()))); break; // LONG1
      case 0x8b: { // LONG4
        const n = u32();
        if (n > MAX_LONG_BYTES) fail(`expected an integer of at most ${MAX_LONG_BYTES} bytes at offset ${opcodeOffset} but LONG4 declares ${n}`);
        stack.push(decodeLong(bytes(n)));
        break;
      }
      case 0x49: { // INT (protocol 0; I01/I00 are True/False)
        const s = line();
        stack.push(s === '01' ? true : s === '00' ? false : decodeDecimal(s));
        break;
      }
      case 0x4c: { // LONG (protocol 0): decimal text
        const text = line();
        if (text.replace(/L$/, '').length > MAX_LONG_DIGITS) fail(`expected an integer of at most ${MAX_LONG_DIGITS} digits (${MAX_LONG_BYTES} bytes) at offset ${opcodeOffset} but LONG has ${text.length} characters`);
        stack.push(decodeDecimal(text.replace(/L$/, '')));
        break;
      }
      case 0x47: { need(8); stack.push(data.readDoubleBE(p)); p += 8; break; } // BINFLOAT
      case 0x46: stack.push(Number.parseFloat(line())); break; // FLOAT (protocol 0)
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x58: stack.push(bytes(u32()).toString('utf8')); break; // BINUNICODE
      case 0x8c: stack.push(bytes(u8()).toString('utf8')); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(bytes(u64()).toString('utf8')); break; // BINUNICODE8
      case 0x54: stack.push(bytes(i32()).toString('latin1')); break; // BINSTRING
      case 0x55: stack.push(bytes(u8()).toString('latin1')); break; // SHORT_BINSTRING
      case 0x42: stack.push(Buffer.from(bytes(u32()))); break; // BINBYTES
      case 0x43: stack.push(Buffer.from(bytes(u8()))); break; // SHORT_BINBYTES
      case 0x8e: stack.push(Buffer.from(bytes(u64()))); break; // BINBYTES8
      case 0x96: stack.push(Buffer.from(bytes(u64()))); break; // BYTEARRAY8
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x61: { const v = pop(); appendItems(top(), [v]); break; } // APPEND
      case 0x65: { const items = popMark(); appendItems(top(), items); break; } // APPENDS
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x74: stack.push(popMark()); break; // TUPLE
      case 0x85: stack.push([pop()]); break; // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); stack.push([a, b]); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push([a, b, c]); break; } // TUPLE3
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x64: { const map = new Map(); setItems(map, popMark()); stack.push(map); break; } // DICT
      case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS
      case 0x8f: stack.push([]); break; // EMPTY_SET (as a list)
      case 0x90: { const items = popMark(); appendItems(top(), items); break; } // ADDITEMS
      case 0x91: stack.push(popMark()); break; // FROZENSET
      case 0x63: { // GLOBAL "module\nname\n"
        const module = line();
        stack.push(global(module, line()));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail(`expected module and name strings for STACK_GLOBAL at offset ${opcodeOffset}`);
        stack.push(global(module, name));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const fn = pop();
        if (!(fn instanceof PyGlobal) || !Array.isArray(args)) fail(`expected a callable and an argument tuple for REDUCE at offset ${opcodeOffset}`);
        stack.push(callGlobal(fn, args, fail));
        break;
      }
      case 0x62: { // BUILD: state for the object on top; an OrderedDict's _metadata is not needed
        const state = pop();
        const obj = top();
        if (!(obj instanceof Map) && !(obj instanceof PickledTensor)) fail(`expected a dict or tensor to BUILD at offset ${opcodeOffset} but found ${describePickled(obj)}`);
        void state;
        break;
      }
      case 0x81: case 0x92: { // NEWOBJ, NEWOBJ_EX: no allowed global is a class that needs them
        const cls = stack[stack.length - (op === 0x81 ? 2 : 3)];
        fail(`pickle creates an object of ${cls instanceof PyGlobal ? cls.qualifiedName : 'an unknown class'}, which a state dict never needs; not loading it`);
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        if (!options.persistentLoad) fail(`unexpected persistent id in the pickle at offset ${opcodeOffset}`);
        stack.push(options.persistentLoad(pid));
        break;
      }
      case 0x50: { // PERSID (protocol 0)
        const pid = line();
        if (!options.persistentLoad) fail(`unexpected persistent id in the pickle at offset ${opcodeOffset}`);
        stack.push(options.persistentLoad(pid));
        break;
      }
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x70: memo.set(Number.parseInt(line(), 10), top()); break; // PUT
      case 0x68: case 0x6a: case 0x67: { // BINGET, LONG_BINGET, GET
        const index = op === 0x68 ? u8() : op === 0x6a ? u32() : Number.parseInt(line(), 10);
        if (!memo.has(index)) fail(`pickle refers to memo entry ${index} which was never stored (offset ${opcodeOffset})`);
        stack.push(memo.get(index));
        break;
      }
      default:
        fail(`unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')} at offset ${opcodeOffset}`);
    }
  }
}
