// Naive, obviously-correct reference implementations of every native kernel, on Float32Array, for
// tests only (the "naive twin" of each optimized kernel). They take the same dims arrays, in the same
// order, as the native primitives in lib/native.ts, accumulate in float64 and allocate their output.
// Layouts are NCHW; conv weights OIHW; linear weights [out, in].

import type { Architecture } from '../lib/model/layers.js';

export type Dims = ArrayLike<number>;

/**
 * A network small enough for whole-model int8 checks (precision-model.test) and an int8 file to fuzz
 * (bench/fuzz.ts): a strided conv with padding, a pool, a grouped conv, two linear layers.
 */
export const TINY_INT8_ARCH: Architecture = {
  name: 'tiny-int8', input: [3, 20, 18], output: 'logits', numClasses: 5,
  preprocess: { resizeMode: 'shorter', resize: [20, 20], crop: [20, 18], range: 1, mean: [0, 0, 0], std: [1, 1, 1], bgr: false },
  layers: [
    { type: 'conv2d', name: 'conv1', outChannels: 8, kernel: [5, 5], stride: [2, 2], pad: [2, 2, 2, 2], groups: 1, bias: true, relu: true },
    { type: 'maxPool2d', name: 'pool1', kernel: [3, 3], stride: [2, 2], pad: [0, 0, 0, 0], ceil: false },
    { type: 'conv2d', name: 'conv2', outChannels: 12, kernel: [3, 3], stride: [1, 1], pad: [1, 1, 1, 1], groups: 2, bias: true, relu: true },
    { type: 'flatten', name: 'flatten' },
    { type: 'linear', name: 'fc6', outFeatures: 20, bias: true, relu: true },
    { type: 'linear', name: 'fc8', outFeatures: 5, bias: true, relu: false },
  ],
};


/** conv2d; dims as CONV2D_DIMS: [batch, inChannels, inHeight, inWidth, outChannels, kernelH, kernelW,
 * strideH, strideW, padTop, padLeft, padBottom, padRight, groups, outHeight, outWidth] */
export function conv2d(dims: Dims, input: Float32Array, weight: Float32Array, bias: Float32Array | null,
  relu: boolean): Float32Array {
  const [batch, inC, inH, inW, outC, kH, kW, sH, sW, padTop, padLeft, , , groups, outH, outW] = Array.from(dims);
  const inPerGroup = inC / groups;
  const outPerGroup = outC / groups;
  const out = new Float32Array(batch * outC * outH * outW);
  for (let n = 0; n < batch; n++) {
    for (let oc = 0; oc < outC; oc++) {
      const g = Math.floor(oc / outPerGroup);
      for (let oh = 0; oh < outH; oh++) {
        for (let ow = 0; ow < outW; ow++) {
          let sum = bias ? bias[oc] : 0;
          for (let icg = 0; icg < inPerGroup; icg++) {
            const ic = g * inPerGroup + icg;
            for (let ki = 0; ki < kH; ki++) {
              const ih = oh * sH - padTop + ki;
              if (ih < 0 || ih >= inH) continue;
              for (let kj = 0; kj < kW; kj++) {
                const iw = ow * sW - padLeft + kj;
                if (iw < 0 || iw >= inW) continue;
                sum += input[((n * inC + ic) * inH + ih) * inW + iw] * weight[((oc * inPerGroup + icg) * kH + ki) * kW + kj];
              }
            }
          }
          out[((n * outC + oc) * outH + oh) * outW + ow] = relu ? Math.max(sum, 0) : sum;
        }
      }
    }
  }
  return out;
}

type PoolReduce = (values: number[], paddedCount: number) => number;

function pool2d(dims: Dims, input: Float32Array, reduce: PoolReduce): Float32Array {
  const [batch, channels, inH, inW, kH, kW, sH, sW, padTop, padLeft, padBottom, padRight, outH, outW] = Array.from(dims);
  const out = new Float32Array(batch * channels * outH * outW);
  for (let plane = 0; plane < batch * channels; plane++) {
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow++) {
        const hStart = oh * sH - padTop;
        const wStart = ow * sW - padLeft;
        const values: number[] = [];
        for (let h = hStart; h < hStart + kH; h++) {
          for (let w = wStart; w < wStart + kW; w++) {
            if (h >= 0 && h < inH && w >= 0 && w < inW) values.push(input[(plane * inH + h) * inW + w]);
          }
        }
        // the window clipped to the padded input (torch/ONNX count_include_pad divisor)
        const paddedH = Math.min(hStart + kH, inH + padBottom) - hStart;
        const paddedW = Math.min(wStart + kW, inW + padRight) - wStart;
        out[(plane * outH + oh) * outW + ow] = values.length === 0 ? 0 : reduce(values, paddedH * paddedW);
      }
    }
  }
  return out;
}

/** maxPool2d; dims as POOL2D_DIMS. Windows clipped to the input; an empty window gives 0. */
export function maxPool2d(dims: Dims, input: Float32Array): Float32Array {
  return pool2d(dims, input, (values) => Math.max(...values));
}

/** avgPool2d; countIncludePad as ONNX count_include_pad (divisor: window clipped to the padded input) */
export function avgPool2d(dims: Dims, input: Float32Array, countIncludePad: boolean): Float32Array {
  return pool2d(dims, input, (values, paddedCount) =>
    values.reduce((a, b) => a + b, 0) / (countIncludePad ? paddedCount : values.length));
}

/** lrn; dims [batch, channels, height, width, size]; y = x / (k + alpha/size * sum x^2)^beta over
 * channels c - floor((size-1)/2) .. c + ceil((size-1)/2) */
export function lrn(dims: Dims, input: Float32Array, alpha: number, beta: number, k: number): Float32Array {
  const [batch, channels, height, width, size] = Array.from(dims);
  const before = Math.floor((size - 1) / 2);
  const after = Math.ceil((size - 1) / 2);
  const plane = height * width;
  const out = new Float32Array(batch * channels * plane);
  for (let n = 0; n < batch; n++) {
    for (let c = 0; c < channels; c++) {
      for (let i = 0; i < plane; i++) {
        let sum = 0;
        for (let j = Math.max(0, c - before); j <= Math.min(channels - 1, c + after); j++) {
          const x = input[(n * channels + j) * plane + i];
          sum += x * x;
        }
        const index = (n * channels + c) * plane + i;
        out[index] = input[index] / Math.pow(k + (alpha / size) * sum, beta);
      }
    }
  }
  return out;
}

/** linear; dims [rows, inFeatures, outFeatures]: out = input x weight^T + bias */
export function linear(dims: Dims, input: Float32Array, weight: Float32Array, bias: Float32Array | null,
  relu: boolean): Float32Array {
  const [rows, inF, outF] = Array.from(dims);
  const out = new Float32Array(rows * outF);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outF; o++) {
      let sum = bias ? bias[o] : 0;
      for (let i = 0; i < inF; i++) sum += input[r * inF + i] * weight[o * inF + i];
      out[r * outF + o] = relu ? Math.max(sum, 0) : sum;
    }
  }
  return out;
}

/** softmax over each row; dims [rows, cols] */
export function softmax(dims: Dims, input: Float32Array): Float32Array {
  const [rows, cols] = Array.from(dims);
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const row = input.subarray(r * cols, (r + 1) * cols);
    const max = row.reduce((a, b) => Math.max(a, b), -Infinity);
    const exps = Array.from(row, (x) => Math.exp(x - max));
    const sum = exps.reduce((a, b) => a + b, 0);
    exps.forEach((e, i) => { out[r * cols + i] = e / sum; });
  }
  return out;
}

/** torch AdaptiveAvgPool2d; dims [batch, channels, inHeight, inWidth, outHeight, outWidth] */
export function adaptiveAvgPool2d(dims: Dims, input: Float32Array): Float32Array {
  const [batch, channels, inH, inW, outH, outW] = Array.from(dims);
  const out = new Float32Array(batch * channels * outH * outW);
  for (let plane = 0; plane < batch * channels; plane++) {
    for (let i = 0; i < outH; i++) {
      const h0 = Math.floor((i * inH) / outH);
      const h1 = Math.ceil(((i + 1) * inH) / outH);
      for (let j = 0; j < outW; j++) {
        const w0 = Math.floor((j * inW) / outW);
        const w1 = Math.ceil(((j + 1) * inW) / outW);
        let sum = 0;
        for (let h = h0; h < h1; h++) for (let w = w0; w < w1; w++) sum += input[(plane * inH + h) * inW + w];
        out[(plane * outH + i) * outW + j] = sum / ((h1 - h0) * (w1 - w0));
      }
    }
  }
  return out;
}

/** elementwise max(x, 0) (NaN stays NaN, as in torch) */
export function relu(input: Float32Array): Float32Array {
  return input.map((x) => (x < 0 ? 0 : x));
}

/** output size of a conv/pool axis: floor or ceil of (in + pads - kernel) / stride, plus 1 */
export function windowOutputSize(size: number, kernel: number, stride: number, padBegin: number, padEnd: number,
  ceil: boolean): number {
  const span = size + padBegin + padEnd - kernel;
  return (ceil ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
}

// mulberry32: a small seeded generator so every run checks the same data
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** uniform values in [-scale, scale) from seed */
export function randomArray(length: number, seed: number, scale = 1): Float32Array {
  const next = random(seed);
  return Float32Array.from({ length }, () => (next() * 2 - 1) * scale);
}

// ---------------------------------------------------------------------------------------------
// Reduced precision: the naive twins of lib's bf16 and int8 linear kernels (native/kernels/cpu/lowp.cc)

/** fp32 -> bf16 -> fp32, round to nearest even (as the packing and the input conversion do) */
export function bf16Round(values: Float32Array): Float32Array {
  const bits = new Uint32Array(values.length);
  new Float32Array(bits.buffer).set(values);
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i];
    if ((b & 0x7fffffff) > 0x7f800000) { bits[i] = (b | 0x400000) & 0xffff0000; continue; }  // NaN stays NaN
    bits[i] = ((b + 0x7fff + ((b >>> 16) & 1)) >>> 0) & 0xffff0000;
  }
  return new Float32Array(bits.buffer);
}

/** bf16 linear: the input and the weights rounded to bf16, the products summed in float64 */
export function linearBf16(dims: Dims, input: Float32Array, weight: Float32Array, bias: Float32Array | null,
  relu: boolean): Float32Array {
  return linear(dims, bf16Round(input), bf16Round(weight), bias, relu);
}

/** round half to even, as C's nearbyint in the default rounding mode */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** the int32 sums a[m, k] (u8) x q[n, k]^T, exact */
export function int8GemmI32(m: number, n: number, k: number, a: Uint8Array, q: Int8Array): Int32Array {
  const c = new Int32Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let p = 0; p < k; p++) sum += a[i * k + p] * q[j * k + p];
      c[i * n + j] = sum;
    }
  return c;
}

export interface ActQuant { scale: number; zeroPoint: number }

/** the dynamic per-tensor quantization of lowp.cc int8_dynamic_quant, in fp32 steps */
export function dynamicQuant(input: Float32Array): ActQuant {
  let lo = 0;
  let hi = 0;
  for (const x of input) { if (x < lo) lo = x; if (x > hi) hi = x; }
  if (!(hi > lo)) return { scale: 1, zeroPoint: 0 };
  const scale = Math.fround(Math.fround(hi - lo) / 255);
  return { scale, zeroPoint: Math.min(255, roundHalfEven(Math.fround(-lo / scale))) };
}

/** u8 = clamp(round-half-even(x * fp32(1 / scale)) + zeroPoint, 0, 255), the product in fp32 */
export function quantizeU8(input: Float32Array, q: ActQuant): Uint8Array {
  const inverse = Math.fround(1 / q.scale);
  return Uint8Array.from(input, (x) => {
    const v = roundHalfEven(Math.fround(x * inverse)) + q.zeroPoint;
    return v >= 0 ? Math.min(v, 255) : 0;
  });
}

/** int8 weights as packLinear makes them: scale = max |w| / 127 per output feature, q = round(w / scale) */
export function quantizeWeights(weight: Float32Array, outF: number, inF: number): { q: Int8Array; scales: Float32Array } {
  const q = new Int8Array(outF * inF);
  const scales = new Float32Array(outF);
  for (let o = 0; o < outF; o++) {
    let maxAbs = 0;
    for (let i = 0; i < inF; i++) maxAbs = Math.max(maxAbs, Math.abs(weight[o * inF + i]));
    const scale = maxAbs > 0 ? Math.fround(maxAbs / 127) : 1;
    scales[o] = scale;
    for (let i = 0; i < inF; i++)
      q[o * inF + i] = Math.max(-127, Math.min(127, roundHalfEven(Math.fround(weight[o * inF + i] / scale))));
  }
  return { q, scales };
}

/**
 * int8 linear with lowp.cc's fp32 epilogue: out = fp32(sum - zeroPoint * sum_k q) * fp32(act scale * w scale)
 * + bias, each step rounded to fp32 (what the native code computes, to the bit)
 */
export function linearInt8(dims: Dims, input: Float32Array, weight: Float32Array, bias: Float32Array | null,
  relu: boolean, act?: ActQuant): Float32Array {
  const [rows, inF, outF] = Array.from(dims);
  const quant = act ?? dynamicQuant(input.subarray(0, rows * inF));
  const a = quantizeU8(input.subarray(0, rows * inF), quant);
  const { q, scales } = quantizeWeights(weight, outF, inF);
  const sums = int8GemmI32(rows, outF, inF, a, q);
  const out = new Float32Array(rows * outF);
  for (let o = 0; o < outF; o++) {
    let wSum = 0;
    for (let i = 0; i < inF; i++) wSum += q[o * inF + i];
    const scale = Math.fround(quant.scale * scales[o]);
    for (let r = 0; r < rows; r++) {
      let v = Math.fround(Math.fround(sums[r * outF + o] - quant.zeroPoint * wSum) * scale);
      if (bias) v = Math.fround(v + bias[o]);
      out[r * outF + o] = relu && v < 0 ? 0 : v;
    }
  }
  return out;
}

/** bf16 conv2d: the input and the weights rounded to bf16, the products summed in float64 */
export function conv2dBf16(dims: Dims, input: Float32Array, weight: Float32Array, bias: Float32Array | null,
  relu: boolean): Float32Array {
  const [batch, inC, inH, inW] = Array.from(dims);
  return conv2d(dims, bf16Round(input.subarray(0, batch * inC * inH * inW)), bf16Round(weight), bias, relu);
}

/**
 * The Winograd F(4, r) matrices (r = 3: alpha 6, r = 5: alpha 8) as scripts/winograd_gen.py constructs them
 * (Toom-Cook over the points 0, 1, -1, 2, -2, 1/2, -1/2 and infinity): A^T (4 x alpha), G (alpha x r), B^T
 * (alpha x alpha), every entry a dyadic or small rational that doubles hold as the generator prints them
 */
export function winogradMatrices(r: 3 | 5): { at: number[][]; g: number[][]; bt: number[][] } {
  const m = 4, alpha = m + r - 1;
  const pts = [0, 1, -1, 2, -2, 0.5, -0.5].slice(0, alpha - 1);
  const polyWithout = (skip: number): number[] => {  // prod_{j != skip} (x - p_j), coefficients low to high
    let c = [1];
    pts.forEach((q, j) => {
      if (j === skip) return;
      const next = new Array(c.length + 1).fill(0);
      c.forEach((v, k) => { next[k + 1] += v; next[k] -= q * v; });
      c = next;
    });
    return c;
  };
  const f = pts.map((p, i) => pts.reduce((prod, q, j) => (j === i ? prod : prod * (p - q)), 1));
  const at = Array.from({ length: m }, (_, k) => [...pts.map((p) => p ** k), k === m - 1 ? 1 : 0]);
  const g = [...pts.map((p, i) => Array.from({ length: r }, (_, j) => p ** j / f[i])),
    Array.from({ length: r }, (_, j) => (j === r - 1 ? 1 : 0))];
  const bt = [...pts.map((_, i) => [...polyWithout(i), 0]), polyWithout(-1)];
  return { at, g, bt };
}

/**
 * bf16 Winograd conv2d (stride 1, square 3x3 or 5x5 kernels, or a strided conv whose space-to-depth rewrite is
 * one: s2dRewrite) as native/kernels/cpu/winograd.cc's bf16 path computes it: per 4x4 output tile, U = G g G^T (in double, in the kernel's order) and V = B^T d B, each
 * rounded to fp32 and then to bf16, M = sum over input channels of U V, out = A^T M A + bias (ReLU), all in
 * double. `round: false` leaves U and V unrounded: exact Winograd, the direct conv up to double rounding.
 *
 * The kernels compute V in fp32 (their own order of operations, FMA or not), so a V within a few fp32 steps of a
 * bf16 rounding midpoint may round to the other neighbour there. `flips` (when given, one per output) gets, for
 * every output, how far such V could move it: the sum over those V of |A^T coefficient x A coefficient| x |U| x
 * one bf16 step of V. Every other V rounds as here, so the kernels' outputs differ from these by at most that
 * plus fp32 summation.
 */
export function conv2dBf16Winograd(dims: Dims, input: Float32Array, weight: Float32Array, bias: Float32Array | null,
  relu: boolean, round = true, flips?: Float64Array): Float32Array {
  if (dims[7] !== 1 || dims[8] !== 1) {  // a strided conv: its space-to-depth rewrite, as the kernels run it
    const q = s2dRewrite(dims, input, weight);
    return conv2dBf16Winograd(q.dims, q.input, q.weight, bias, relu, round, flips);
  }
  const [batch, inC, inH, inW, outC, kH, kW, sH, sW, padTop, padLeft, , , groups, outH, outW] = Array.from(dims);
  if (kH !== kW || (kH !== 3 && kH !== 5) || sH !== 1 || sW !== 1) throw new Error('conv2dBf16Winograd: 3x3 or 5x5 (stride 1, or a rewrite that is)');
  const r = kH as 3 | 5, alpha = r + 3, positions = alpha * alpha;
  const { at, g, bt } = winogradMatrices(r);
  const toBf16 = (values: Float64Array): Float64Array => {
    if (!round) return values;
    return Float64Array.from(bf16Round(Float32Array.from(values)));
  };
  const inPerGroup = inC / groups, outPerGroup = outC / groups;
  // U[oc][ic][xi]
  const u: Float64Array[] = [];
  for (let oc = 0; oc < outC; oc++) {
    for (let ic = 0; ic < inPerGroup; ic++) {
      const k = weight.subarray((oc * inPerGroup + ic) * r * r, (oc * inPerGroup + ic + 1) * r * r);
      const gk = Array.from({ length: alpha }, (_, i) => Array.from({ length: r }, (_, j) => {
        let s = 0;
        for (let q = 0; q < r; q++) s += g[i][q] * k[q * r + j];
        return s;
      }));
      const t = new Float64Array(positions);
      for (let i = 0; i < alpha; i++) {
        for (let j = 0; j < alpha; j++) {
          let s = 0;
          for (let q = 0; q < r; q++) s += gk[i][q] * g[j][q];
          t[i * alpha + j] = s;
        }
      }
      u.push(toBf16(t));
    }
  }
  const tilesH = Math.ceil(outH / 4), tilesW = Math.ceil(outW / 4);
  const out = new Float32Array(batch * outC * outH * outW);
  for (let n = 0; n < batch; n++) {
    for (let ty = 0; ty < tilesH; ty++) {
      for (let tx = 0; tx < tilesW; tx++) {
        // V of every input channel for this tile, and one bf16 step of each V that could round the other way
        const v: Float64Array[] = [];
        const step: Float64Array[] = [];
        for (let c = 0; c < inC; c++) {
          const d = (y: number, x: number): number => {
            const iy = ty * 4 + y - padTop, ix = tx * 4 + x - padLeft;
            return iy < 0 || iy >= inH || ix < 0 || ix >= inW ? 0 : input[((n * inC + c) * inH + iy) * inW + ix];
          };
          const t = Array.from({ length: alpha }, (_, i) => Array.from({ length: alpha }, (_, j) => {
            let s = 0;
            for (let q = 0; q < alpha; q++) s += bt[i][q] * d(q, j);
            return s;
          }));
          const vt = new Float64Array(positions);
          const flip = new Float64Array(positions);
          for (let i = 0; i < alpha; i++) {
            for (let j = 0; j < alpha; j++) {
              let size = 0;  // the sum of V's terms' magnitudes (what the kernels' fp32 error scales with)
              for (let p = 0; p < alpha; p++) {
                for (let q = 0; q < alpha; q++) size += Math.abs(bt[i][p] * d(p, q) * bt[j][q]);
              }
              vt[i * alpha + j] = t[i].reduce((acc, tq, q) => acc + tq * bt[j][q], 0);
              const magnitude = Math.abs(Math.fround(vt[i * alpha + j]));
              if (magnitude > 0) {
                const ulp = 2 ** (Math.floor(Math.log2(magnitude)) - 7);  // bf16: 8 significant bits
                const fromMidpoint = Math.abs(magnitude / ulp - Math.floor(magnitude / ulp) - 0.5) * ulp;
                if (fromMidpoint <= 2e-6 * size + 1e-30) flip[i * alpha + j] = ulp;
              }
            }
          }
          v.push(toBf16(vt));
          step.push(flip);
        }
        for (let oc = 0; oc < outC; oc++) {
          const grp = Math.floor(oc / outPerGroup);
          const mm = new Float64Array(positions), moved = new Float64Array(positions);
          for (let ic = 0; ic < inPerGroup; ic++) {
            const uu = u[oc * inPerGroup + ic], vv = v[grp * inPerGroup + ic], ss = step[grp * inPerGroup + ic];
            for (let xi = 0; xi < positions; xi++) {
              mm[xi] += uu[xi] * vv[xi];
              moved[xi] += Math.abs(uu[xi]) * ss[xi];
            }
          }
          for (let a = 0; a < 4; a++) {
            for (let c = 0; c < 4; c++) {
              const oy = ty * 4 + a, ox = tx * 4 + c;
              if (oy >= outH || ox >= outW) continue;
              let s = 0, bound = 0;
              for (let i = 0; i < alpha; i++) {
                for (let j = 0; j < alpha; j++) {
                  s += at[a][i] * mm[i * alpha + j] * at[c][j];
                  bound += Math.abs(at[a][i] * at[c][j]) * moved[i * alpha + j];
                }
              }
              s += bias ? bias[oc] : 0;
              const index = ((n * outC + oc) * outH + oy) * outW + ox;
              out[index] = relu && s < 0 ? 0 : s;
              if (flips) flips[index] = round ? bound : 0;
            }
          }
        }
      }
    }
  }
  return out;
}

/**
 * The space-to-depth rewrite of a strided conv (native/kernels/cpu/space-to-depth.h): the input's stride phases
 * phase (c, ry, rx)[y][x] = input_padded[c][strideH * y + ry][strideW * x + rx] as channels, the kernel
 * w'[oc][(c, ry, rx)][ky][kx] = w[oc][c][strideH * ky + ry][strideW * kx + rx] (0 past the kernel), stride 1, no
 * padding: the same output as the strided conv
 */
export function s2dRewrite(dims: Dims, input: Float32Array, weight: Float32Array): { dims: Int32Array; input: Float32Array; weight: Float32Array } {
  const [batch, inC, inH, inW, outC, kH, kW, sH, sW, padTop, padLeft, , , groups, outH, outW] = Array.from(dims);
  const qkH = Math.ceil(kH / sH), qkW = Math.ceil(kW / sW);
  const ph = outH + Math.floor((kH - 1) / sH), pw = outW + Math.floor((kW - 1) / sW);
  const qC = inC * sH * sW;
  const phases = new Float32Array(batch * qC * ph * pw);
  for (let n = 0; n < batch; n++) {
    for (let c = 0; c < inC; c++) {
      for (let ry = 0; ry < sH; ry++) {
        for (let rx = 0; rx < sW; rx++) {
          const channel = (c * sH + ry) * sW + rx;
          for (let y = 0; y < ph; y++) {
            for (let x = 0; x < pw; x++) {
              const iy = sH * y + ry - padTop, ix = sW * x + rx - padLeft;
              if (iy >= 0 && iy < inH && ix >= 0 && ix < inW) {
                phases[((n * qC + channel) * ph + y) * pw + x] = input[((n * inC + c) * inH + iy) * inW + ix];
              }
            }
          }
        }
      }
    }
  }
  const inPerGroup = inC / groups, qIn = inPerGroup * sH * sW;
  const w = new Float32Array(outC * qIn * qkH * qkW);
  for (let oc = 0; oc < outC; oc++) {
    for (let c = 0; c < inPerGroup; c++) {
      for (let ry = 0; ry < sH; ry++) {
        for (let rx = 0; rx < sW; rx++) {
          for (let ky = 0; ky < qkH; ky++) {
            for (let kx = 0; kx < qkW; kx++) {
              const ki = sH * ky + ry, kj = sW * kx + rx;
              if (ki < kH && kj < kW) {
                w[((oc * qIn + (c * sH + ry) * sW + rx) * qkH + ky) * qkW + kx] = weight[((oc * inPerGroup + c) * kH + ki) * kW + kj];
              }
            }
          }
        }
      }
    }
  }
  return { dims: Int32Array.of(batch, qC, ph, pw, outC, qkH, qkW, 1, 1, 0, 0, 0, 0, groups, outH, outW), input: phases, weight: w };
}

/**
 * int8 conv2d as native/kernels/cpu/lowp-conv.cc computes it: the input quantized to u8 per tensor (`act`,
 * else the dynamic min/max quantization of the whole input), the weights per output channel as
 * quantizeWeights does over each channel's in/groups * kH * kW values; padding reads as the zero point; the
 * int32 sums minus zeroPoint * sum q in lowp.cc's fp32 epilogue, each step rounded to fp32 (to the bit).
 */
export function conv2dInt8(dims: Dims, input: Float32Array, weight: Float32Array, bias: Float32Array | null,
  relu: boolean, act?: ActQuant): Float32Array {
  const [batch, inC, inH, inW, outC, kH, kW, sH, sW, padTop, padLeft, , , groups, outH, outW] = Array.from(dims);
  const x = input.subarray(0, batch * inC * inH * inW);
  const quant = act ?? dynamicQuant(x);
  const a = quantizeU8(x, quant);
  const inPerGroup = inC / groups;
  const outPerGroup = outC / groups;
  const k = inPerGroup * kH * kW;
  const { q, scales } = quantizeWeights(weight, outC, k);
  const out = new Float32Array(batch * outC * outH * outW);
  for (let oc = 0; oc < outC; oc++) {
    const g = Math.floor(oc / outPerGroup);
    let wSum = 0;
    for (let i = 0; i < k; i++) wSum += q[oc * k + i];
    const scale = Math.fround(quant.scale * scales[oc]);
    for (let n = 0; n < batch; n++)
      for (let oh = 0; oh < outH; oh++)
        for (let ow = 0; ow < outW; ow++) {
          let sum = 0;
          for (let icg = 0; icg < inPerGroup; icg++)
            for (let ki = 0; ki < kH; ki++)
              for (let kj = 0; kj < kW; kj++) {
                const ih = oh * sH - padTop + ki;
                const iw = ow * sW - padLeft + kj;
                const inside = ih >= 0 && ih < inH && iw >= 0 && iw < inW;
                const u8 = inside ? a[((n * inC + g * inPerGroup + icg) * inH + ih) * inW + iw] : quant.zeroPoint;
                sum += u8 * q[((oc * inPerGroup + icg) * kH + ki) * kW + kj];
              }
          let v = Math.fround(Math.fround(sum - quant.zeroPoint * wSum) * scale);
          if (bias) v = Math.fround(v + bias[oc]);
          out[((n * outC + oc) * outH + oh) * outW + ow] = relu && v < 0 ? 0 : v;
        }
  }
  return out;
}
