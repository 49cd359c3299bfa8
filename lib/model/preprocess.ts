// A preprocessing's fields checked where one comes from a file (weights metadata) or a caller, before anything
// is allocated from it; in the model layer, beside the Preprocess type, so that the weights readers and the
// image pipeline both check it without importing each other.
import type { Preprocess } from './layers.js';
import { describeValue } from './shapes.js';

/** the most pixels a resize or crop may produce (2^26: a 768 MiB float32 tensor; 227x227 is 51,529) */
export const MAX_PREPROCESS_PIXELS = 2 ** 26;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isPixelSize = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 1 && (v as number) <= MAX_PREPROCESS_PIXELS;
const isSizePair = (v: unknown): v is [number, number] => Array.isArray(v) && v.length === 2 && v.every(isPixelSize);
// the pipeline computes in float32: a value that is finite as a double but not in float32 (1e308), or a std
// that rounds to 0 there (1e-300), or whose reciprocal overflows, is no value it can use
const isFloat32Finite = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(Math.fround(x));
const isThreeFinite = (v: unknown): v is number[] => Array.isArray(v) && v.length === 3 && v.every(isFloat32Finite);
const isUsableStd = (x: number): boolean => Math.fround(x) > 0 && Number.isFinite(Math.fround(1 / Math.fround(x)));

/**
 * What is wrong with a preprocessing that comes from a file (the weights' metadata) or a caller, as
 * "<root>.<field> to be <what> but found <value>", or undefined when it is one: every field's type and
 * range, and a resize (at least its shorter side squared) and crop of at most MAX_PREPROCESS_PIXELS, so
 * that nothing is allocated from an absurd size before resizeCropGeometry sees an image.
 */
export function preprocessProblem(value: unknown, root = 'preprocess'): string | undefined {
  const found = (field: string, expected: string, v: unknown) => `${root}${field} to be ${expected} but found ${describeValue(v)}`;
  if (!isObject(value)) return found('', 'an object', value);
  const { resizeMode, resize, crop, range, mean, std, bgr } = value as Partial<Record<keyof Preprocess, unknown>>;
  if (resizeMode !== 'shorter' && resizeMode !== 'exact') return found('.resizeMode', "'shorter' or 'exact'", resizeMode);
  const pair = `2 integers from 1 to ${MAX_PREPROCESS_PIXELS}`;
  if (!isSizePair(resize)) return found('.resize', pair, resize);
  if (crop !== null && !isSizePair(crop)) return found('.crop', `null or ${pair}`, crop);
  // 'shorter' scales the shorter side to resize[0]: the longer one is at least as long
  const resizedPixels = resizeMode === 'shorter' ? resize[0] * resize[0] : resize[0] * resize[1];
  if (resizedPixels > MAX_PREPROCESS_PIXELS) return found('.resize', `a size of at most ${MAX_PREPROCESS_PIXELS} pixels`, resize);
  if (crop && crop[0] * crop[1] > MAX_PREPROCESS_PIXELS) return found('.crop', `a size of at most ${MAX_PREPROCESS_PIXELS} pixels`, crop);
  if (range !== 1 && range !== 255) return found('.range', '1 or 255', range);
  if (!isThreeFinite(mean)) return found('.mean', '3 numbers finite in float32', mean);
  if (!isThreeFinite(std) || !std.every(isUsableStd)) return found('.std', '3 numbers above 0 whose reciprocals are finite in float32', std);
  if (typeof bgr !== 'boolean') return found('.bgr', 'true or false', bgr);
  return undefined;
}
