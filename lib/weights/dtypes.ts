// Element types of stored tensors and their conversion to float32, the engine's only type.

export type FloatDtype = 'float32' | 'float16' | 'bfloat16' | 'float64';

export const FLOAT_DTYPE_SIZE: Record<FloatDtype, number> = { float32: 4, float16: 2, bfloat16: 2, float64: 8 };

export function isFloatDtype(dtype: string): dtype is FloatDtype {
  return Object.hasOwn(FLOAT_DTYPE_SIZE, dtype); // not `in`: 'toString' is no dtype
}

let halfTable: Float32Array | undefined;

/** IEEE 754 binary16 -> float32 for every bit pattern, built once */
function halfToFloatTable(): Float32Array {
  if (halfTable) return halfTable;
  halfTable = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) halfTable[h] = sign * frac * 2 ** -24;
    else if (exp === 31) halfTable[h] = frac ? NaN : sign * Infinity;
    else halfTable[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return halfTable;
}

/** Little-endian raw bytes -> a new float32 array (the source may be unaligned) */
export function toFloat32(raw: Uint8Array, dtype: FloatDtype): Float32Array {
  const size = FLOAT_DTYPE_SIZE[dtype];
  const count = Math.floor(raw.byteLength / size);
  // copy into an aligned buffer first: typed-array views need offsets that are multiples of the element size
  const aligned = new Uint8Array(count * size);
  aligned.set(raw.subarray(0, count * size));
  switch (dtype) {
    case 'float32':
      return new Float32Array(aligned.buffer);
    case 'float64':
      return Float32Array.from(new Float64Array(aligned.buffer));
    case 'float16': {
      const table = halfToFloatTable();
      const bits = new Uint16Array(aligned.buffer);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = table[bits[i]];
      return out;
    }
    case 'bfloat16': {
      const bits = new Uint16Array(aligned.buffer);
      const wide = new Uint32Array(count);
      for (let i = 0; i < count; i++) wide[i] = bits[i] << 16;
      return new Float32Array(wide.buffer);
    }
  }
}

/** Gather a strided view (element offset and strides into `storage`) into a new contiguous array */
export function gatherStrided(storage: Float32Array, offset: number, shape: number[], stride: number[]): Float32Array {
  const count = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(count);
  if (count === 0) return out;
  const index = new Array<number>(shape.length).fill(0);
  let src = offset;
  for (let i = 0; i < count; i++) {
    out[i] = storage[src];
    // odometer increment over the dims, last fastest
    for (let d = shape.length - 1; d >= 0; d--) {
      index[d]++;
      src += stride[d];
      if (index[d] < shape[d]) break;
      src -= stride[d] * shape[d];
      index[d] = 0;
    }
  }
  return out;
}

export function isContiguous(shape: number[], stride: number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expected) return false;
    expected *= shape[d];
  }
  return true;
}

/** One past the largest storage element a strided view touches */
export function viewExtent(offset: number, shape: number[], stride: number[]): number {
  if (shape.some((s) => s === 0)) return offset;
  return offset + shape.reduce((acc, s, d) => acc + (s - 1) * stride[d], 0) + 1;
}
