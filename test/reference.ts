// Naive, obviously-correct reference implementations of every native kernel, on Float32Array, for
// tests only (the "naive twin" of each optimized kernel). They take the same dims arrays, in the same
// order, as the native primitives in lib/native.ts, accumulate in float64 and allocate their output.
// Layouts are NCHW; conv weights OIHW; linear weights [out, in].

export type Dims = ArrayLike<number>;

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
