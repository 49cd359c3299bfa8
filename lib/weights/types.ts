// What every weight reader returns: tensors under the engine's canonical names and layouts.
//
// Canonical names are `<layer>.weight` / `<layer>.bias` with the layer names of lib/model/archs.ts
// (conv1..conv5, fc6..fc8 for all three architectures). Layouts: conv weights OIHW
// [out, in/groups, kh, kw]; linear weights [out, in] with `in` in the engine's flatten order (C, H, W).
import { AlexnetError } from '../errors.js';
import type { Architecture, Preprocess } from '../model/layers.js';

export interface WeightTensor {
  shape: number[];
  /** the values, float32, already in canonical layout ... */
  data?: Float32Array;
  /** ... or, when the file stores them as-is (float32 little-endian, canonical layout), where they are */
  file?: { path: string; byteOffset: number };
  /** ... or int8 weights of a quantized file (safetensors.ts; w = q * scale, neither data nor file set) */
  int8?: Int8Tensor;
}

/** A layer's int8 weights as `alexnet-cli quantize` writes them (docs/precision.md) */
export interface Int8Tensor {
  /** where the int8 values q (the tensor's shape, canonical layout) are in the file */
  file: { path: string; byteOffset: number };
  /** per output channel / feature, symmetric: w = q * scale */
  scales: Float32Array;
  /** the layer input's static u8 quantization (calibrated): x ~ (u8 - zeroPoint) * scale */
  inputScale: number;
  inputZeroPoint: number;
}

export interface WeightSet {
  /** 'safetensors' | 'pytorch-zip' | 'pytorch-legacy' | 'onnx' | 'caffe' | 'keras-h5' | 'keras-v3' | 'npz' ... */
  format: string;
  /** the source file */
  path: string;
  tensors: Map<string, WeightTensor>;
  /** the architecture, when the file says or implies it (an ONNX graph always does) */
  arch?: Architecture;
  /** the preprocessing the source implies (torchvision's for .pth, the zoo's for bvlcalexnet ...) */
  preprocess?: Preprocess;
  /** free-form metadata (safetensors __metadata__, ONNX producer, ...) */
  metadata: Record<string, string>;
}

export function weightsError(path: string, message: string): AlexnetError {
  // one line, whatever names the file carries (a tensor or node name with a newline in it)
  return new AlexnetError(`${path}: ${message.replace(/[\r\n]+/g, ' ')}`, 'ERR_WEIGHTS');
}
