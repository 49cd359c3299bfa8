// Choosing each quantized layer's input range from the fp32 activations of calibration images.
//
// Three methods (docs/precision.md compares them on the same images):
// - minmax: the range seen. One outlier pixel of one image stretches the scale for every value.
// - percentile: the range holding all but 0.01% of the values (each tail for signed inputs).
// - mse (default): the range that minimises the expected squared error of x -> u8 -> x over the observed
//   histogram: values past the range cost their clipping error, values inside it step^2/12 of rounding.
//   It is the quantity the per-layer error table reports (SQNR), so the method optimises what is measured;
//   with ReLU outputs' long right tail it clips a few large values to halve the step for all the others.
//   The search tries every histogram bin edge as the range's end (2048 candidates).
import { usageError } from '../errors.js';
import { activationQuant, type ActivationQuant } from './quant.js';

export const CALIBRATION_METHODS = ['mse', 'percentile', 'minmax'] as const;
export type CalibrationMethod = typeof CALIBRATION_METHODS[number];

/** the percentile method's kept fraction (of each tail's side for signed inputs) */
export const PERCENTILE = 99.99;
const BINS = 2048;

export function parseCalibrationMethod(name: string): CalibrationMethod {
  if (!(CALIBRATION_METHODS as readonly string[]).includes(name)) {
    throw usageError(`Expected one of ${CALIBRATION_METHODS.join(', ')} for --method but received ${name}`);
  }
  return name as CalibrationMethod;
}

/**
 * One layer's input statistics: the range (first pass over the images), then a histogram over that range
 * (second pass; only the methods that need it).
 */
export class RangeObserver {
  min = Infinity;
  max = -Infinity;
  count = 0;
  /** NaN and Inf values seen (an fp32 network that overflows on the calibration inputs): no range can hold them */
  nonFinite = 0;
  private hist?: Float64Array;

  observeRange(values: Float32Array): void {
    let lo = this.min;
    let hi = this.max;
    let nonFinite = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
      // NaN - NaN and Inf - Inf are NaN
      if (v - v !== 0) nonFinite++;
    }
    this.min = lo;
    this.max = hi;
    this.count += values.length;
    this.nonFinite += nonFinite;
  }

  private get lo(): number { return Math.min(this.min, 0); }
  private get hi(): number { return Math.max(this.max, 0); }

  observeHistogram(values: Float32Array): void {
    const hist = this.hist ??= new Float64Array(BINS);
    const lo = this.lo;
    const width = (this.hi - lo) / BINS;
    if (!(width > 0)) return;
    for (let i = 0; i < values.length; i++) {
      // exact zeros (ReLU's floor, padding) stay exact at any scale: they cost nothing and are not binned
      if (values[i] === 0) continue;
      const b = Math.floor((values[i] - lo) / width);
      hist[b < 0 ? 0 : b >= BINS ? BINS - 1 : b]++;
    }
  }

  /** the activation quantization the method picks */
  choose(method: CalibrationMethod): ActivationQuant {
    if (this.count === 0) throw new Error('no values observed');
    if (method === 'minmax' || !this.hist) return activationQuant(this.lo, this.hi);
    const lo = this.lo;
    const width = (this.hi - lo) / BINS;
    const hist = this.hist;
    const center = (b: number) => lo + (b + 0.5) * width;
    if (method === 'percentile') {
      const signed = this.min < 0;
      let binned = 0;
      for (let b = 0; b < BINS; b++) binned += hist[b];
      const tail = (1 - PERCENTILE / 100) * binned / (signed ? 2 : 1);
      let below = 0;
      let bLo = 0;
      if (signed) {
        while (bLo < BINS - 1 && below + hist[bLo] <= tail) below += hist[bLo++];
      }
      let above = 0;
      let bHi = BINS - 1;
      while (bHi > bLo && above + hist[bHi] <= tail) above += hist[bHi--];
      return activationQuant(signed ? lo + bLo * width : lo, lo + (bHi + 1) * width);
    }
    // mse: shrink the range towards 0 by t = 1/BINS .. 1 (bin by bin) and keep the t with the least expected error
    let best = { t: 1, error: Infinity };
    for (let k = BINS; k >= 1; k--) {
      const t = k / BINS;
      const q = activationQuant(this.lo * t, this.hi * t);
      const rangeLo = -q.zeroPoint * q.scale;
      const rangeHi = (255 - q.zeroPoint) * q.scale;
      const rounding = q.scale * q.scale / 12;
      let error = 0;
      for (let b = 0; b < BINS && error < best.error; b++) {
        if (hist[b] === 0) continue;
        const x = center(b);
        const d = x > rangeHi ? x - rangeHi : x < rangeLo ? rangeLo - x : 0;
        error += hist[b] * (d > 0 ? d * d : rounding);
      }
      if (error < best.error) best = { t, error };
    }
    return activationQuant(this.lo * best.t, this.hi * best.t);
  }
}
