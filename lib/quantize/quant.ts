// The int8 arithmetic the quantized file describes, in JS: symmetric per-output-channel int8 weights and
// u8 activations with a per-tensor scale and zero point. The rounding is the native runtime's
// (native/kernels/cpu/lowp.cc, its naive twin in test/reference.ts): half to even, the activation
// multiplied by fp32(1 / scale), every step in fp32.

/** u8 activation quantization: u8 = clamp(round(x / scale) + zeroPoint, 0, 255), x ~ (u8 - zeroPoint) * scale */
export interface ActivationQuant {
  scale: number;
  zeroPoint: number;
}

/** round half to even (C's nearbyint in the default rounding mode) */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * The scale and zero point that cover [lo, hi] (widened to hold 0, so that 0 (ReLU's floor, the padding) is
 * exact): scale = (hi - lo) / 255, zeroPoint = round(-lo / scale)
 */
export function activationQuant(lo: number, hi: number): ActivationQuant {
  lo = Math.min(lo, 0);
  hi = Math.max(hi, 0);
  if (!(hi > lo)) return { scale: 1, zeroPoint: 0 };
  const scale = Math.fround(Math.fround(hi - lo) / 255);
  return { scale, zeroPoint: Math.max(0, Math.min(255, roundHalfEven(Math.fround(-lo / scale)))) };
}

// the scales an int8 layer can run with: checked where an int8 file is read (lib/weights/safetensors.ts), and
// by quantize before it writes one
export { isUsableActivationScale, isUsableWeightScale } from '../weights/safetensors.js';

/** x -> u8 -> x, in place: what the int8 layer sees of its input */
export function fakeQuantizeActivations(values: Float32Array, q: ActivationQuant): void {
  const inverse = Math.fround(1 / q.scale);
  const { scale, zeroPoint } = q;
  for (let i = 0; i < values.length; i++) {
    let u = roundHalfEven(Math.fround(values[i] * inverse)) + zeroPoint;
    if (u < 0) u = 0;
    else if (u > 255) u = 255;
    values[i] = (u - zeroPoint) * scale;
  }
}

/** How many values fall outside the range q represents (clipped to 0 or 255) */
export function countClipped(values: Float32Array, q: ActivationQuant): number {
  const lo = (0 - q.zeroPoint - 0.5) * q.scale;
  const hi = (255 - q.zeroPoint + 0.5) * q.scale;
  let n = 0;
  for (let i = 0; i < values.length; i++) if (values[i] < lo || values[i] > hi) n++;
  return n;
}

export interface Int8Weights {
  /** [out, ...] as the fp32 weights, q in -127..127 */
  q: Int8Array;
  /** per output channel: w ~ q * scale, scale = max |w| / 127 (1 for an all-zero channel) */
  scales: Float32Array;
}

/** Symmetric per-output-channel int8 weights (what packLinear computes for fp32 weights it packs as int8) */
export function quantizeWeights(weight: Float32Array, outChannels: number): Int8Weights {
  const per = weight.length / outChannels;
  const q = new Int8Array(weight.length);
  const scales = new Float32Array(outChannels);
  for (let o = 0; o < outChannels; o++) {
    let maxAbs = 0;
    for (let i = o * per; i < (o + 1) * per; i++) maxAbs = Math.max(maxAbs, Math.abs(weight[i]));
    const scale = maxAbs > 0 ? Math.fround(maxAbs / 127) : 1;
    scales[o] = scale;
    for (let i = o * per; i < (o + 1) * per; i++) q[i] = Math.max(-127, Math.min(127, roundHalfEven(Math.fround(weight[i] / scale))));
  }
  return { q, scales };
}

/** q * scale per output channel, as fp32 */
export function dequantizeWeights(w: Int8Weights): Float32Array {
  const out = new Float32Array(w.q.length);
  const per = w.q.length / w.scales.length;
  for (let i = 0; i < out.length; i++) out[i] = Math.fround(w.q[i] * w.scales[Math.floor(i / per)]);
  return out;
}

/** Running sums for the signal-to-quantization-noise ratio of a layer's output */
export class ErrorMeter {
  signal = 0;
  noise = 0;
  add(reference: Float32Array, test: Float32Array): void {
    for (let i = 0; i < reference.length; i++) {
      const r = reference[i];
      const d = r - test[i];
      this.signal += r * r;
      this.noise += d * d;
    }
  }
  /** 10 log10(sum ref^2 / sum (ref - test)^2), dB; Infinity when they are equal */
  get sqnrDb(): number {
    return this.noise === 0 ? Infinity : 10 * Math.log10(this.signal / this.noise);
  }
  /** || ref - test || / || ref || */
  get relativeL2(): number {
    return this.signal === 0 ? (this.noise === 0 ? 0 : Infinity) : Math.sqrt(this.noise / this.signal);
  }
}
