// An int8 model (quantize's .safetensors) as a QDQ ONNX graph: `convert --precision int8 IN.safetensors OUT.onnx`.
import { extname } from 'node:path';
import { usageError } from '../errors.js';
import type { ExportInt8Layer } from '../weights/onnx-export.js';
import { dequantizeWeights } from './quant.js';
import { type Int8Model, readInt8Model } from './file.js';

/** the tensors and int8 layers encodeOnnx takes for an int8 model */
export function int8ExportInputs(model: Int8Model): { tensors: Map<string, { shape: number[]; data: Float32Array }>; int8: Map<string, ExportInt8Layer> } {
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  const int8 = new Map<string, ExportInt8Layer>();
  for (const l of model.layers) {
    // the dequantized weights stand in only where a layer is exported in fp32 (none today)
    tensors.set(`${l.name}.weight`, { shape: l.weightShape, data: dequantizeWeights(l.weight) });
    if (l.bias) tensors.set(`${l.name}.bias`, { shape: [l.weightShape[0]], data: l.bias });
    int8.set(l.name, { weight: l.weight, input: l.input });
  }
  return { tensors, int8 };
}

export async function exportInt8Onnx(src: string, dst: string): Promise<Int8Model> {
  if (extname(dst).toLowerCase() !== '.onnx') {
    throw usageError(`Expected an output file ending in .onnx for --precision int8 but received ${dst} (quantize writes int8 .safetensors)`);
  }
  const model = await readInt8Model(src);
  const { tensors, int8 } = int8ExportInputs(model);
  const { writeOnnx } = await import('../weights/onnx-export.js');
  writeOnnx(dst, model.arch, tensors, {
    int8,
    metadata: {
      'alexnet.precision': 'int8', arch: model.arch.name, numClasses: String(model.arch.numClasses),
      preprocess: JSON.stringify(model.preprocess), calibration: JSON.stringify(model.calibration),
    },
  });
  return model;
}
