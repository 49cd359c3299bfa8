// NumPy .npy (one array) and .npz (a zip of .npy files), as weights and as input tensors.
// Format: "\x93NUMPY", major, minor, header length (u16 for 1.0, u32 for 2.0/3.0), a Python dict literal
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }, then the raw data.
import { writeFileAtomic } from '../atomic-write.js';
import { toFloat32, type FloatDtype } from './dtypes.js';
import type { WeightSet, WeightTensor } from './types.js';
import { readWeightsFile } from './read.js';
import { weightsError } from './types.js';
import { ZipFile } from './zip.js';

const MAGIC = Buffer.from('\x93NUMPY', 'latin1');

/** numpy descr -> our float dtype ('<' little-endian, '|' and '=' no byte order on this platform) */
const DESCR: Record<string, FloatDtype> = { '<f4': 'float32', '<f2': 'float16', '<f8': 'float64', '=f4': 'float32', '=f8': 'float64', '=f2': 'float16' };

export interface NpyArray {
  shape: number[];
  data: Float32Array;
  /** the stored element type (data is always converted to float32) */
  dtype: FloatDtype;
}

export function isNpy(head: Buffer): boolean {
  return head.length >= 6 && head.subarray(0, 6).equals(MAGIC);
}

/**
 * The dimensions of a header's shape tuple, "3, 224, 224" or "5," or "": Python int literals as numpy's
 * repr writes them (an "L" suffix from Python 2, which numpy's reader drops too); a fraction, an exponent,
 * hex, a sign or an empty slot is no dimension. Undefined when one is not.
 */
function parseShape(text: string): number[] | undefined {
  const parts = text.split(',').map((s) => s.trim());
  // "5," is a one-tuple and "3, 4," a trailing comma; "" is the empty tuple
  if (parts[parts.length - 1] === '') parts.pop();
  const shape = parts.map((s) => (/^(0|[1-9][0-9]*)L?$/.test(s) ? Number(s.replace(/L$/, '')) : NaN));
  return shape.every((d) => Number.isSafeInteger(d)) ? shape : undefined;
}

/** Parse one .npy image (file contents or an .npz member); `name` is used in errors */
export function parseNpy(buf: Buffer, name: string): NpyArray {
  if (!isNpy(buf)) throw weightsError(name, 'expected a .npy file (magic \\x93NUMPY) but the file starts differently');
  const major = buf[6];
  if (buf.length < (major === 1 ? 10 : 12)) throw weightsError(name, 'expected a .npy header but the file ends (truncated?)');
  const headerLength = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const headerStart = major === 1 ? 10 : 12;
  if (headerStart + headerLength > buf.length) throw weightsError(name, 'expected a .npy header but the file ends (truncated?)');
  const header = buf.toString('latin1', headerStart, headerStart + headerLength);
  const descr = /'descr':\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw weightsError(name, `expected a .npy header with descr, fortran_order and shape but found ${header.trim()}`);
  }
  const dtype = DESCR[descr];
  if (!dtype) throw weightsError(name, `expected a float32, float16 or float64 (little-endian) array but found dtype '${descr}'`);
  if (fortran === 'True') throw weightsError(name, 'expected a C-order array but found fortran_order True (save it with np.ascontiguousarray)');
  const shape = parseShape(shapeText);
  if (!shape) {
    // a hostile header can be megabytes long: the start of it is enough to see what is wrong
    const found = shapeText.trim().length > 80 ? `${shapeText.trim().slice(0, 80)}...` : shapeText.trim();
    throw weightsError(name, `expected a shape of non-negative integers, as numpy writes it, but found (${found})`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = headerStart + headerLength;
  const byteLength = count * (dtype === 'float32' ? 4 : dtype === 'float16' ? 2 : 8);
  if (dataStart + byteLength > buf.length) {
    throw weightsError(name, `expected ${byteLength} bytes of data for shape (${shape.join(', ')}) but the file has ${buf.length - dataStart} (truncated?)`);
  }
  return { shape, dtype, data: toFloat32(buf.subarray(dataStart, dataStart + byteLength), dtype) };
}

export function readNpy(path: string): NpyArray {
  const buf = readWeightsFile(path);
  return parseNpy(buf, path);
}

/** .npy bytes of a float32 array in C order (format 1.0) */
export function encodeNpy(shape: number[], data: Float32Array): Buffer {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // numpy pads the header with spaces and a newline so the data starts 64-byte aligned
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const prefix = Buffer.alloc(10);
  MAGIC.copy(prefix, 0);
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  return Buffer.concat([prefix, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

/** Written to a temporary file then renamed: a failed write leaves the previous file (lib/atomic-write.ts) */
export function writeNpy(path: string, shape: number[], data: Float32Array): void {
  writeFileAtomic(path, encodeNpy(shape, data));
}

/** .npz: every member array as a tensor named after the member (without .npy) */
export async function readNpz(path: string): Promise<WeightSet> {
  const zip = new ZipFile(path);
  try {
    const tensors = new Map<string, WeightTensor>();
    for (const name of zip.entries.keys()) {
      if (!name.endsWith('.npy')) continue;
      const array = parseNpy(zip.read(name), `${path}:${name}`);
      tensors.set(name.slice(0, -4), array);
    }
    if (tensors.size === 0) throw weightsError(path, 'expected .npy members in the .npz archive but found none');
    return { format: 'npz', path, tensors, metadata: {} };
  } finally {
    zip.close();
  }
}
