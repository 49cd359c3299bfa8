// safetensors: the native weights format (https://github.com/huggingface/safetensors).
// 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}, __metadata__},
// then the raw little-endian data. F32 tensors are not read here: the WeightSet records where they are
// and the model loads them straight into native memory (no copy through the JS heap).
import { fstatSync } from 'node:fs';
import { type FileContents, type StagedFile, stageFile, writeFileAtomic } from '../atomic-write.js';
import type { WeightSet, WeightTensor } from './types.js';
import { weightsError } from './types.js';
import { toFloat32, type FloatDtype } from './dtypes.js';
import { readExact, readRange, withWeightsHandle } from './read.js';

/** `__metadata__` of a quantized file (`alexnet-cli quantize`): "int8" */
export const META_PRECISION = 'alexnet.precision';

const DTYPE_SIZE: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I8: 1, U8: 1 };
const DTYPE_NAME: Record<string, FloatDtype> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16', F64: 'float64' };

/** A safetensors tensor's entry in the JSON header */
export interface SafetensorsEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

export interface SafetensorsHeader {
  /** every entry by tensor name, and `__metadata__` (string values) */
  header: Record<string, unknown>;
  /** where the data begins: offsets in the header count from here */
  dataStart: number;
  fileSize: number;
}

/** The JSON header of an open safetensors file, its length checked against the file's size before it is read */
export function readSafetensorsHeader(fd: number, path: string): SafetensorsHeader {
  const fileSize = fstatSync(fd).size;
  const head = readExact(fd, 8, 0);
  if (head.length < 8) throw weightsError(path, `expected a safetensors file (8-byte header length) but the file has ${fileSize} bytes`);
  const headerLength = Number(head.readBigUInt64LE(0));
  if (headerLength < 2 || 8 + headerLength > fileSize || headerLength > 100 * 1024 * 1024) {
    throw weightsError(path, `expected a safetensors header length within the file (${fileSize} bytes) but found ${headerLength}`);
  }
  let header: unknown;
  try {
    header = JSON.parse(readExact(fd, headerLength, 8).toString('utf8'));
  } catch {
    throw weightsError(path, 'expected a JSON safetensors header but it does not parse');
  }
  checkHeaderShape(path, header);
  return { header: header as SafetensorsHeader['header'], dataStart: 8 + headerLength, fileSize };
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * The header's structure, before any reader trusts it (the safetensors format: an object of
 * { dtype: string, shape: [n...], data_offsets: [begin, end] } per tensor, and an optional
 * __metadata__ of string values): a field that is missing or of another type is one line naming it
 */
function checkHeaderShape(path: string, header: unknown): void {
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw weightsError(path, `expected a safetensors header that is a JSON object but found ${Array.isArray(header) ? 'an array' : typeof header}`);
  }
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') {
      const bad = typeof value !== 'object' || value === null || Array.isArray(value) ? ['(the whole)'] : Object.entries(value).filter(([, v]) => typeof v !== 'string').map(([k]) => k);
      if (bad.length > 0) throw weightsError(path, `expected __metadata__ to be an object of strings but found ${bad.slice(0, 3).join(', ')} not a string`);
      continue;
    }
    const entry = value as Partial<SafetensorsEntry> | null;
    const shapeOk = Array.isArray(entry?.shape) && entry.shape.every(isCount);
    const offsets = entry?.data_offsets;
    // their range is each reader's check (inside the data, spanning the shape)
    const offsetsOk = Array.isArray(offsets) && offsets.length === 2 && offsets.every((v) => Number.isSafeInteger(v));
    if (typeof entry !== 'object' || entry === null || typeof entry.dtype !== 'string' || !shapeOk || !offsetsOk) {
      throw weightsError(path, `expected tensor ${name} to have a dtype string, a shape of non-negative integers and data_offsets [begin, end] of integers but found ${JSON.stringify(value).slice(0, 120)}`);
    }
  }
}

export async function readSafetensors(path: string): Promise<WeightSet> {
  return withWeightsHandle(path, (fd) => {
    const { header, dataStart, fileSize } = readSafetensorsHeader(fd, path);
    const tensors = new Map<string, WeightTensor>();
    const metadata: Record<string, string> = {};
    const int8Names: string[] = [];
    // I8 / U8 only in a quantized file
    const quantized = (header.__metadata__ as Record<string, string> | undefined)?.[META_PRECISION] === 'int8';
    for (const [name, value] of Object.entries(header)) {
      if (name === '__metadata__') {
        Object.assign(metadata, value as Record<string, string>);
        continue;
      }
      const info = value as SafetensorsEntry;
      const size = DTYPE_SIZE[info.dtype];
      if (!size || (size === 1 && !quantized)) {
        throw weightsError(path, `expected tensor ${name} to be F32, F16, BF16 or F64${quantized ? ', I8 or U8' : ''} but found ${info.dtype}`);
      }
      const count = info.shape.reduce((a, b) => a * b, 1);
      const [begin, end] = info.data_offsets;
      if (end - begin !== count * size || dataStart + end > fileSize || begin < 0) {
        throw weightsError(path, `expected tensor ${name} [${info.shape.join(',')}] ${info.dtype} to span ${count * size} bytes inside the file but found offsets ${begin}..${end} (file has ${fileSize - dataStart} data bytes)`);
      }
      if (info.dtype === 'F32' || info.dtype === 'I8') {
        tensors.set(name, { shape: info.shape, file: { path, byteOffset: dataStart + begin } });
        if (info.dtype === 'I8') int8Names.push(name);
      } else if (info.dtype === 'U8') {
        tensors.set(name, { shape: info.shape, data: Float32Array.from(readExact(fd, end - begin, dataStart + begin)) });
      } else {
        tensors.set(name, { shape: info.shape, data: toFloat32(readExact(fd, end - begin, dataStart + begin), DTYPE_NAME[info.dtype]) });
      }
    }
    for (const name of int8Names) attachInt8(path, tensors, name);
    return { format: 'safetensors', path, tensors, metadata };
  });
}

/**
 * An activation scale the runtime can run: finite and > 0, with fp32(1 / scale) (the multiplier it quantizes
 * by) and 255 x scale (the range the u8 values represent) finite in fp32. A denormal scale passes `> 0` but its
 * reciprocal is Infinity; a scale above fp32 max / 255 passes `isFinite` but its range is not.
 */
export function isUsableActivationScale(scale: number): boolean {
  return scale > 0 && Number.isFinite(Math.fround(1 / scale)) && Number.isFinite(Math.fround(255 * scale));
}

/** A weight scale the runtime can run: finite and > 0, with 127 x scale (the largest weight) finite in fp32 */
export function isUsableWeightScale(scale: number): boolean {
  return scale > 0 && Number.isFinite(Math.fround(127 * scale));
}

/**
 * An int8 file's `<layer>.weight` (I8) with its `<layer>.weight_scale` (F32 [out]), `<layer>.input_scale`
 * (F32 []) and `<layer>.input_zero_point` (U8 []) as one WeightTensor whose `int8` says where q is; the three
 * companions leave the tensor list (the architecture's checks see the usual names only).
 */
function attachInt8(path: string, tensors: Map<string, WeightTensor>, name: string): void {
  const layer = name.replace(/\.weight$/, '');
  const t = tensors.get(name)!;
  const companion = (suffix: string, shape: number[]): Float32Array => {
    const c = tensors.get(`${layer}.${suffix}`);
    if (!name.endsWith('.weight') || !c || c.shape.join(',') !== shape.join(',')) {
      throw weightsError(path, `expected int8 tensor ${name} to come with ${layer}.${suffix} [${shape.join(',')}] but found ${c ? `[${c.shape.join(',')}]` : 'none'}`);
    }
    tensors.delete(`${layer}.${suffix}`);
    return tensorValues(c);
  };
  const scales = companion('weight_scale', [t.shape[0]]);
  const inputScale = companion('input_scale', [])[0];
  const inputZeroPoint = companion('input_zero_point', [])[0];
  const bad = scales.findIndex((v) => !isUsableWeightScale(v));
  if (bad >= 0) throw weightsError(path, `expected ${layer}.weight_scale values > 0 whose 127 steps stay finite in fp32 but found ${scales[bad]} at element ${bad}`);
  if (!isUsableActivationScale(inputScale)) {
    throw weightsError(path, `expected a ${layer}.input_scale > 0 whose reciprocal and 255 steps stay finite in fp32 but found ${inputScale}`);
  }
  tensors.set(name, { shape: t.shape, int8: { file: t.file!, scales, inputScale, inputZeroPoint } });
}

/** an int8 tensor's q values (Int8Array over a fresh buffer) */
export function int8Values(t: WeightTensor): Int8Array {
  if (!t.int8) throw new Error('tensor is not int8');
  const count = t.shape.reduce((a, b) => a * b, 1);
  const { path, byteOffset } = t.int8.file;
  const raw = withWeightsHandle(path, (fd) => readRange(fd, path, count, byteOffset));
  return new Int8Array(raw.buffer, raw.byteOffset, raw.length);
}

/** Read a tensor's values into JS memory (for formats and tools that need them there); int8: q * scale */
export function tensorValues(t: WeightTensor): Float32Array {
  if (t.data) return t.data;
  if (t.int8) {
    const q = int8Values(t);
    const out = new Float32Array(q.length);
    const perChannel = q.length / t.shape[0];
    for (let i = 0; i < q.length; i++) out[i] = q[i] * t.int8.scales[Math.floor(i / perChannel)];
    return out;
  }
  if (!t.file) throw new Error('tensor has neither data nor a file location');
  const count = t.shape.reduce((a, b) => a * b, 1);
  const { path, byteOffset } = t.file;
  const raw = withWeightsHandle(path, (fd) => readRange(fd, path, count * 4, byteOffset));
  const out = new Float32Array(count);
  new Uint8Array(out.buffer).set(raw);
  return out;
}

/** The values a tensor may be written from: F32, or the I8 / U8 of quantized files (docs/precision.md) */
export type WritableData = Float32Array | Int8Array | Uint8Array;
const writtenDtype = (data: WritableData): string => (data instanceof Int8Array ? 'I8' : data instanceof Uint8Array ? 'U8' : 'F32');

/** Write tensors (in insertion order) and string metadata; written to a temporary file then renamed (lib/atomic-write.ts) */
export function writeSafetensors(path: string, tensors: Map<string, { shape: number[]; data: WritableData }>, metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, safetensorsContents(path, tensors, metadata));
}

/**
 * writeSafetensors up to the rename: the file whole under a temporary name beside `path`, to be read back and
 * checked before commit() puts it in place (or discard() removes it)
 */
export function stageSafetensors(path: string, tensors: Map<string, { shape: number[]; data: WritableData }>, metadata: Record<string, string> = {}): StagedFile {
  return stageFile(path, safetensorsContents(path, tensors, metadata));
}

function safetensorsContents(path: string, tensors: Map<string, { shape: number[]; data: WritableData }>, metadata: Record<string, string>): FileContents {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of tensors) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw weightsError(path, `expected ${count} values for tensor ${name} [${t.shape.join(',')}] but received ${t.data.length}`);
    header[name] = { dtype: writtenDtype(t.data), shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  // pad the header with spaces so the data starts 8-byte aligned (as the reference writer does)
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const lengthBytes = Buffer.alloc(8);
  lengthBytes.writeBigUInt64LE(BigInt(headerBytes.length));
  // tensor by tensor: 250 MB of weights is never copied into one Buffer
  return (write) => {
    write(lengthBytes);
    write(headerBytes);
    for (const t of tensors.values()) write(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  };
}
