// The int8 model file: one .safetensors with the quantized weights, their scales, each quantized layer's
// input quantization, the fp32 biases and everything a command needs to run it (docs/precision.md):
//   __metadata__: alexnet.precision "int8", alexnet.architecture (Architecture JSON), alexnet.preprocessing
//     (Preprocess JSON), alexnet.calibration (JSON: method, images), and arch / numClasses / preprocess (and
//     architecture, for a network that is not one of the named ones) as convert writes them for fp32 files
//   <layer>.weight            I8  the layer's usual shape (conv OIHW, linear [out, in]); w ~ q * weight_scale
//   <layer>.weight_scale      F32 [out]  max |w| / 127 per output channel (symmetric, no zero point)
//   <layer>.bias              F32 [out]
//   <layer>.input_scale       F32 []     x ~ (u8 - input_zero_point) * input_scale
//   <layer>.input_zero_point  U8  []
// F32 tensors come first, then I8, then U8, so every F32 tensor starts 4-byte aligned in the file.
import { isDeepStrictEqual } from 'node:util';
import type { StagedFile } from '../atomic-write.js';
import { buildArchitecture, isArchName } from '../model/archs.js';
import type { Architecture, Preprocess } from '../model/layers.js';
import { readWeights } from '../weights/index.js';
import { metadataArchitecture, metadataPreprocess, resolveWeights } from '../weights/resolve.js';
import { type WeightSet, type WeightTensor, weightsError } from '../weights/types.js';
import { int8Values, META_PRECISION, stageSafetensors, tensorValues, type WritableData, writeSafetensors } from '../weights/safetensors.js';
import type { ActivationQuant, Int8Weights } from './quant.js';

export { META_PRECISION } from '../weights/safetensors.js';
export const META_ARCHITECTURE = 'alexnet.architecture';
export const META_PREPROCESSING = 'alexnet.preprocessing';
export const META_CALIBRATION = 'alexnet.calibration';

export interface Int8Layer {
  name: string;
  weightShape: number[];
  weight: Int8Weights;
  bias?: Float32Array;
  input: ActivationQuant;
}

export interface Int8Model {
  arch: Architecture;
  preprocess: Preprocess;
  /** { method, images } as quantize wrote it */
  calibration: Record<string, unknown>;
  layers: Int8Layer[];
}

export function writeInt8Model(path: string, model: Int8Model): void {
  writeSafetensors(path, ...int8File(model));
}

/** writeInt8Model up to the rename: quantize reads back, checks and measures the file before it commits it */
export function stageInt8Model(path: string, model: Int8Model): StagedFile {
  return stageSafetensors(path, ...int8File(model));
}

/** The int8 file's tensors (F32, then I8, then U8) and metadata */
function int8File(model: Int8Model): [Map<string, { shape: number[]; data: WritableData }>, Record<string, string>] {
  const f32 = new Map<string, { shape: number[]; data: WritableData }>();
  const i8 = new Map<string, { shape: number[]; data: WritableData }>();
  const u8 = new Map<string, { shape: number[]; data: WritableData }>();
  for (const l of model.layers) {
    f32.set(`${l.name}.weight_scale`, { shape: [l.weightShape[0]], data: l.weight.scales });
    if (l.bias) f32.set(`${l.name}.bias`, { shape: [l.weightShape[0]], data: l.bias });
    f32.set(`${l.name}.input_scale`, { shape: [], data: Float32Array.of(l.input.scale) });
    i8.set(`${l.name}.weight`, { shape: l.weightShape, data: l.weight.q });
    u8.set(`${l.name}.input_zero_point`, { shape: [], data: Uint8Array.of(l.input.zeroPoint) });
  }
  return [new Map([...f32, ...i8, ...u8]), {
    [META_PRECISION]: 'int8',
    [META_ARCHITECTURE]: JSON.stringify(model.arch),
    [META_PREPROCESSING]: JSON.stringify(model.preprocess),
    [META_CALIBRATION]: JSON.stringify(model.calibration),
    arch: model.arch.name,
    numClasses: String(model.arch.numClasses),
    preprocess: JSON.stringify(model.preprocess),
    // as lib/weights/convert.ts writes fp32 files: a network that is not one of the named architectures travels
    // whole, else the loader (which reads arch / numClasses / architecture) could not build it
    ...(isArchName(model.arch.name) && JSON.stringify(model.arch) === JSON.stringify(buildArchitecture(model.arch.name, model.arch.numClasses))
      ? {} : { architecture: JSON.stringify(model.arch) }),
  }];
}

/**
 * The int8 file, checked, as every reader of it takes it (convert's QDQ export, quantize before it renames its
 * output into place, bench): read by the model loader's own reader (readWeights: the header, each tensor's
 * dtype and span, every int8 weight's weight_scale [out], input_scale [] and input_zero_point [] with finite
 * scales > 0), the architecture the loader runs (resolveWeights: arch / numClasses / architecture metadata,
 * every tensor's shape checked against it), then what only an int8 file has: alexnet.architecture and
 * alexnet.preprocessing describing that same network, every conv and linear weight int8, scales the runtime
 * can divide by, finite biases (the loader's own check at load, in its words). Any problem: one line naming
 * the file and what was expected (ERR_WEIGHTS).
 */
export async function readInt8Model(path: string): Promise<Int8Model> {
  const set = await readWeights(path);
  const checked = checkInt8Set(set);
  const layers = checked.layers.map(({ spec, weight, bias }): Int8Layer => ({
    name: spec.name,
    weightShape: weight.shape,
    weight: { q: int8Values(weight), scales: weight.int8!.scales },  // a fresh buffer of its own (readRange)
    bias: bias && tensorValues(bias),
    input: { scale: weight.int8!.inputScale, zeroPoint: weight.int8!.inputZeroPoint },
  }));
  return { arch: checked.arch, preprocess: checked.preprocess, calibration: checked.calibration, layers };
}

export interface CheckedInt8Set {
  /** alexnet.architecture as stored (equal to the architecture the loader resolves) */
  arch: Architecture;
  /** alexnet.preprocessing as stored (equal to the preprocessing the loader resolves) */
  preprocess: Preprocess;
  calibration: Record<string, unknown>;
  /** every conv2d and linear layer with its int8 weight tensor and its bias */
  layers: Array<{ spec: Architecture['layers'][number]; weight: WeightTensor; bias?: WeightTensor }>;
}

/** readInt8Model's checks on a set readWeights read (quantize checks the file it wrote with the set it then measures) */
export function checkInt8Set(set: WeightSet): CheckedInt8Set {
  const path = set.path;
  const meta = set.metadata;
  if (set.format !== 'safetensors') throw weightsError(path, `expected an int8 model (a .safetensors file written by quantize) but found a ${set.format} file`);
  if (meta[META_PRECISION] !== 'int8') throw weightsError(path, `expected an int8 model (${META_PRECISION} "int8", written by quantize) but found ${JSON.stringify(meta[META_PRECISION] ?? 'none')}`);
  // every metadata value read as the loader reads it (lib/weights/resolve.ts), so a bad one is the same line
  // through convert as through classify: alexnet.architecture and alexnet.preprocessing with the loader's checks
  const storedArch = metadataArchitecture(set, META_ARCHITECTURE);
  const storedPreprocess = metadataPreprocess(set, META_PREPROCESSING);
  let calibration: Record<string, unknown> = {};
  if (meta[META_CALIBRATION] !== undefined) {
    let value: unknown;
    try {
      value = JSON.parse(meta[META_CALIBRATION]);
    } catch {
      value = undefined;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw weightsError(path, `expected a JSON object in the metadata ${META_CALIBRATION} but found ${JSON.stringify(meta[META_CALIBRATION].slice(0, 40))}`);
    }
    calibration = value as Record<string, unknown>;
  }
  // quantize before 7 Dec 2026 wrote a network that is not one of the named ones only as alexnet.architecture
  // (no `architecture`): such a file travels by that one, checked above
  const named = isArchName(storedArch.name) && isDeepStrictEqual(storedArch, buildArchitecture(storedArch.name, storedArch.numClasses));
  const resolved = resolveWeights(set, meta.architecture === undefined && !named ? { arch: storedArch } : {});
  const { arch, preprocess } = resolved;
  agree(path, storedArch as unknown as Record<string, unknown>, META_ARCHITECTURE, arch, 'the loader\'s', `the network the loader builds from the metadata architecture, arch and numClasses (${arch.name}, ${arch.numClasses} classes)`);
  agree(path, storedPreprocess as unknown as Record<string, unknown>, META_PREPROCESSING, preprocess, 'the loader\'s', 'the preprocessing the loader uses (the metadata preprocess, else the architecture\'s)');
  const layers: CheckedInt8Set['layers'] = [];
  for (const spec of arch.layers) {
    if (spec.type !== 'conv2d' && spec.type !== 'linear') continue;
    // checkWeights (in resolveWeights) has checked that both exist with the architecture's shapes
    const weight = set.tensors.get(`${spec.name}.weight`)!;
    const bias = set.tensors.get(`${spec.name}.bias`);
    if (!weight.int8) throw weightsError(path, `expected tensor ${spec.name}.weight of dtype I8 (every conv and linear layer int8) but found float values`);
    // its scales: checked by readWeights (lib/weights/safetensors.ts attachInt8, isUsable*Scale)
    if (bias) checkFiniteValues(path, `${spec.name}.bias`, bias.shape, tensorValues(bias));
    layers.push({ spec, weight, bias });
  }
  return { arch: storedArch, preprocess: storedPreprocess, calibration, layers };
}

/**
 * `stored` (alexnet.architecture / alexnet.preprocessing, as parsed) equals `other` (what the loader reads or
 * builds), else one line with the first field (or layer) where they differ
 */
function agree(path: string, stored: Record<string, unknown>, key: string, other: object, otherName: string, otherDescription: string): void {
  const expected = JSON.parse(JSON.stringify(other)) as Record<string, unknown>;
  if (isDeepStrictEqual(stored, expected)) return;
  const show = (v: unknown): string => {
    const text = JSON.stringify(v) ?? 'missing';
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  };
  const firstDifferent = (a: Record<string, unknown>, b: Record<string, unknown>): string =>
    [...new Set([...Object.keys(b), ...Object.keys(a)])].find((k) => !isDeepStrictEqual(a[k], b[k]))!;
  let field = firstDifferent(stored, expected);
  let [mine, theirs] = [stored[field], expected[field]];
  if (field === 'layers' && Array.isArray(mine) && Array.isArray(theirs)) {
    let i = 0;
    while (isDeepStrictEqual(mine[i], theirs[i])) i++;
    const [a, b] = [mine[i] as Record<string, unknown> | undefined, theirs[i] as Record<string, unknown> | undefined];
    if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
      const k = firstDifferent(a, b);
      [field, mine, theirs] = [`layer ${i} (${String(b.name)}) ${k}`, a[k], b[k]];
    } else [field, mine, theirs] = [`layer ${i}`, a, b];
  }
  throw weightsError(path, `expected the metadata ${key} to agree with ${otherDescription} but found ${field} ${show(mine)} in ${key}, ${show(theirs)} in ${otherName}`);
}

/** The loader's check of fp32 values at load (lib/model/model.ts), in its words */
export function checkFiniteValues(path: string, name: string, shape: number[], values: Float32Array): void {
  let count = 0;
  let first = -1;
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]) && count++ === 0) first = i;
  }
  if (count > 0) {
    throw weightsError(path, `expected finite weights but tensor ${name} [${shape.join(',')}] holds ${count} NaN or Inf value${count > 1 ? 's' : ''}, the first at element ${first} (NaN or Inf would make every prediction NaN)`);
  }
}
