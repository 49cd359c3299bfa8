// The int8 model file: one .safetensors with the quantized weights, their scales, each quantized layer's
// input quantization, the fp32 biases and everything a command needs to run it (docs/precision.md):
//   __metadata__: alexnet.precision "int8", alexnet.architecture (Architecture JSON), alexnet.preprocessing
//     (Preprocess JSON), alexnet.calibration (JSON: method, images), and arch / numClasses / preprocess as
//     convert writes them for fp32 files
//   <layer>.weight            I8  the layer's usual shape (conv OIHW, linear [out, in]); w ~ q * weight_scale
//   <layer>.weight_scale      F32 [out]  max |w| / 127 per output channel (symmetric, no zero point)
//   <layer>.bias              F32 [out]
//   <layer>.input_scale       F32 []     x ~ (u8 - input_zero_point) * input_scale
//   <layer>.input_zero_point  U8  []
// F32 tensors come first, then I8, then U8, so every F32 tensor starts 4-byte aligned in the file.
import type { Architecture, Preprocess } from '../model/layers.js';
import { weightsError } from '../weights/types.js';
import { readRange, withWeightsHandle } from '../weights/read.js';
import { META_PRECISION, readSafetensorsHeader, type SafetensorsEntry, type WritableData, writeSafetensors } from '../weights/safetensors.js';
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
  writeSafetensors(path, new Map([...f32, ...i8, ...u8]), {
    [META_PRECISION]: 'int8',
    [META_ARCHITECTURE]: JSON.stringify(model.arch),
    [META_PREPROCESSING]: JSON.stringify(model.preprocess),
    [META_CALIBRATION]: JSON.stringify(model.calibration),
    arch: model.arch.name,
    numClasses: String(model.arch.numClasses),
    preprocess: JSON.stringify(model.preprocess),
  });
}

const DTYPE_BYTES: Record<string, number> = { F32: 4, I8: 1, U8: 1 };

/** Reads a file writeInt8Model wrote (for convert --precision int8 and the tests) */
export function readInt8Model(path: string): Int8Model {
  return withWeightsHandle(path, (fd) => {
    const { header: entries, dataStart, fileSize } = readSafetensorsHeader(fd, path);
    const header = entries as Record<string, SafetensorsEntry> & { __metadata__?: Record<string, string> };
    const meta = header.__metadata__ ?? {};
    if (meta[META_PRECISION] !== 'int8') throw weightsError(path, `expected an int8 model (${META_PRECISION} "int8", written by quantize) but found ${JSON.stringify(meta[META_PRECISION] ?? 'none')}`);
    const metaJson = (key: string): unknown => {
      try {
        return JSON.parse(meta[key] ?? '');
      } catch {
        throw weightsError(path, `expected JSON in the metadata ${key} but found ${meta[key] === undefined ? 'none' : 'text that does not parse'}`);
      }
    };
    const tensor = (name: string, dtype: string): Buffer => {
      const info = header[name];
      if (!info || info.dtype !== dtype) throw weightsError(path, `expected tensor ${name} of dtype ${dtype} but found ${info ? info.dtype : 'none'}`);
      const count = info.shape.reduce((a, b) => a * b, 1);
      const [begin, end] = info.data_offsets;
      if (!Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || begin < 0 || end < begin || dataStart + end > fileSize) {
        throw weightsError(path, `expected tensor ${name}'s data_offsets inside the file's ${fileSize} bytes but found ${JSON.stringify(info.data_offsets)}`);
      }
      if (end - begin !== count * DTYPE_BYTES[dtype]) throw weightsError(path, `expected tensor ${name} to span ${count * DTYPE_BYTES[dtype]} bytes but found ${end - begin}`);
      return readRange(fd, path, end - begin, dataStart + begin);
    };
    const f32 = (name: string): Float32Array => {
      const b = tensor(name, 'F32');
      const out = new Float32Array(b.length / 4);
      new Uint8Array(out.buffer).set(b);
      return out;
    };
    const arch = metaJson(META_ARCHITECTURE) as Architecture;
    const layers: Int8Layer[] = [];
    for (const spec of arch.layers) {
      if (spec.type !== 'conv2d' && spec.type !== 'linear') continue;
      const weight = tensor(`${spec.name}.weight`, 'I8');
      layers.push({
        name: spec.name,
        weightShape: header[`${spec.name}.weight`].shape,
        weight: { q: new Int8Array(weight.buffer, weight.byteOffset, weight.length).slice(), scales: f32(`${spec.name}.weight_scale`) },
        bias: header[`${spec.name}.bias`] ? f32(`${spec.name}.bias`) : undefined,
        input: { scale: f32(`${spec.name}.input_scale`)[0], zeroPoint: tensor(`${spec.name}.input_zero_point`, 'U8')[0] },
      });
    }
    return {
      arch,
      preprocess: metaJson(META_PREPROCESSING) as Preprocess,
      calibration: (meta[META_CALIBRATION] === undefined ? {} : metaJson(META_CALIBRATION)) as Record<string, unknown>,
      layers,
    };
  });
}
