// conv2d shapes every backend runs against ref.conv2d (test/kernels.test.ts for each CPU kernel set,
// test/cuda.test.ts for each GPU precision), and the seeded data of a conv2d or linear case, so both
// backends draw the same values.
import { randomArray, windowOutputSize } from './reference.js';

export interface ConvCase {
  name: string;
  batch: number; inC: number; inH: number; inW: number; outC: number;
  kH: number; kW: number; sH: number; sW: number; pads: [number, number, number, number];
  groups: number; bias: boolean; relu: boolean;
}

export const CONV_CASES: ConvCase[] = [
  { name: '3x3 asymmetric pads, batch 2', batch: 2, inC: 3, inH: 13, inW: 11, outC: 5, kH: 3, kW: 3, sH: 1, sW: 1, pads: [1, 0, 2, 1], groups: 1, bias: true, relu: false },
  { name: '5x3 stride 2x3, groups 3, no bias, relu', batch: 1, inC: 6, inH: 17, inW: 19, outC: 9, kH: 5, kW: 3, sH: 2, sW: 3, pads: [2, 1, 0, 2], groups: 3, bias: false, relu: true },
  { name: '1x1 direct, groups 2, batch 3', batch: 3, inC: 4, inH: 9, inW: 7, outC: 6, kH: 1, kW: 1, sH: 1, sW: 1, pads: [0, 0, 0, 0], groups: 2, bias: true, relu: true },
  { name: '11x11 stride 4 (conv1-like)', batch: 2, inC: 3, inH: 35, inW: 39, outC: 17, kH: 11, kW: 11, sH: 4, sW: 4, pads: [0, 0, 0, 0], groups: 1, bias: true, relu: true },
  // k = 64*9 = 576 spans several KC blocks (CPU) and several 64-tiles (CUDA); 250 output channels span several MC blocks
  { name: 'deep: k 576, 250 channels, groups 1', batch: 1, inC: 64, inH: 15, inW: 13, outC: 250, kH: 3, kW: 3, sH: 1, sW: 1, pads: [1, 1, 1, 1], groups: 1, bias: true, relu: true },
  { name: 'groups 2 like caffe conv2', batch: 2, inC: 10, inH: 11, inW: 11, outC: 14, kH: 5, kW: 5, sH: 1, sW: 1, pads: [2, 2, 2, 2], groups: 2, bias: true, relu: true },
];

export interface ConvCaseData {
  /** the 16-int conv2d dims, output size included */
  dims: Int32Array;
  input: Float32Array;
  weight: Float32Array;
  bias: Float32Array | null;
  outputLength: number;
}

export function convCaseData(c: ConvCase): ConvCaseData {
  const outH = windowOutputSize(c.inH, c.kH, c.sH, c.pads[0], c.pads[2], false);
  const outW = windowOutputSize(c.inW, c.kW, c.sW, c.pads[1], c.pads[3], false);
  return {
    dims: Int32Array.from([c.batch, c.inC, c.inH, c.inW, c.outC, c.kH, c.kW, c.sH, c.sW, ...c.pads, c.groups, outH, outW]),
    input: randomArray(c.batch * c.inC * c.inH * c.inW, 1),
    weight: randomArray(c.outC * (c.inC / c.groups) * c.kH * c.kW, 2, 0.5),
    bias: c.bias ? randomArray(c.outC, 3) : null,
    outputLength: c.batch * c.outC * outH * outW,
  };
}

/** linear dims [rows, in, out] with seeded input, weight and bias */
export function linearCaseData(rows: number, inF: number, outF: number): { dims: Int32Array; input: Float32Array; weight: Float32Array; bias: Float32Array } {
  return {
    dims: Int32Array.from([rows, inF, outF]),
    input: randomArray(rows * inF, 4),
    weight: randomArray(outF * inF, 5, 0.3),
    bias: randomArray(outF, 6),
  };
}
