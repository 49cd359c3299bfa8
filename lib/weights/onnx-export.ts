// Writing an Architecture and its canonical tensors as an ONNX model (opset 13), so our weights run in
// any ONNX runtime and onnxruntime can check our engine as a peer.
import { writeFileAtomic } from '../atomic-write.js';
import type { Architecture, LayerSpec } from '../model/layers.js';
import { inferShapes } from '../model/shapes.js';
import { ONNX_FLOAT, onnxRoot } from './onnx.js';

export const EXPORT_OPSET = 13;
// onnx.proto: IR version 7 is the one that goes with opset 13
const IR_VERSION = 7;
// AttributeProto.AttributeType
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_INTS = 7;

type Attribute = Record<string, unknown>;

const intAttr = (name: string, i: number): Attribute => ({ name, type: ATTR_INT, i });
const intsAttr = (name: string, ints: number[]): Attribute => ({ name, type: ATTR_INTS, ints });
const floatAttr = (name: string, f: number): Attribute => ({ name, type: ATTR_FLOAT, f });
const stringAttr = (name: string, s: string): Attribute => ({ name, type: ATTR_STRING, s: Buffer.from(s) });

export interface ExportTensor {
  shape: number[];
  data: Float32Array;
}

/** one layer of an int8 model (lib/quantize/file.ts): int8 weights per output channel, its input's u8 quantization */
export interface ExportInt8Layer {
  weight: { q: Int8Array; scales: Float32Array };
  input: { scale: number; zeroPoint: number };
}

export interface ExportOptions {
  inputName?: string;
  outputName?: string;
  /** stored in the model's metadata_props */
  metadata?: Record<string, string>;
  /**
   * int8 layers by name: exported as a QDQ graph (QuantizeLinear/DequantizeLinear pairs with the same scales
   * and zero points); their fp32 weights in `tensors` are not needed
   */
  int8?: Map<string, ExportInt8Layer>;
}

// TensorProto.DataType
const ONNX_UINT8 = 2;
const ONNX_INT8 = 3;
const ONNX_INT32 = 6;

/** layers between which a u8 quantization commutes (max pooling and ReLU are monotone; the others move no value) */
function commutesWithQuantize(spec: LayerSpec, inShape: number[], outShape: number[]): boolean {
  switch (spec.type) {
    case 'maxPool2d':
    case 'relu':
    case 'flatten':
    case 'dropout':
      return true;
    case 'adaptiveAvgPool2d':
      return inShape.join() === outShape.join(); // a 1x1 window: the identity
    default:
      return false;
  }
}

/** ModelProto bytes for the architecture; tensors under canonical names (conv1.weight, ...) */
export function encodeOnnx(arch: Architecture, tensors: Map<string, ExportTensor>, options: ExportOptions = {}): Uint8Array {
  const inputName = options.inputName ?? 'input';
  const outputName = options.outputName ?? 'output';
  const shapes = inferShapes(arch);
  const nodes: Record<string, unknown>[] = [];
  const initializers: Record<string, unknown>[] = [];
  let current = inputName;

  const int8 = options.int8;
  const rawInitializer = (name: string, dims: number[], dataType: number, data: Float32Array | Int8Array | Uint8Array | Int32Array): string => {
    initializers.push({ name, dims, data_type: dataType, raw_data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return name;
  };
  // the u8 quantization the current tensor holds exactly (the output of a DequantizeLinear of it)
  let held: { tensor: string; scale: number; zeroPoint: number } | undefined;
  const quantizeDequantize = (layer: string, q: { scale: number; zeroPoint: number }, tag: string): void => {
    const scale = rawInitializer(`${layer}.input_scale${tag}`, [], ONNX_FLOAT, Float32Array.of(q.scale));
    const zeroPoint = rawInitializer(`${layer}.input_zero_point${tag}`, [], ONNX_UINT8, Uint8Array.of(q.zeroPoint));
    const quantized = `${layer}.input_quantized${tag}`;
    nodes.push({ op_type: 'QuantizeLinear', name: quantized, input: [current, scale, zeroPoint], output: [quantized] });
    const dequantized = `${layer}.input_dequantized${tag}`;
    nodes.push({ op_type: 'DequantizeLinear', name: dequantized, input: [quantized, scale, zeroPoint], output: [dequantized] });
    current = dequantized;
    held = { tensor: dequantized, ...q };
  };
  /** DequantizeLinear of the int8 weight (per output channel, axis 0) and of the bias as int32 at input scale x weight scale */
  const int8Parameters = (spec: LayerSpec, layer: ExportInt8Layer, weightShape: number[]): string[] => {
    const out = weightShape[0];
    const q = rawInitializer(`${spec.name}.weight_quantized`, weightShape, ONNX_INT8, layer.weight.q);
    const scales = rawInitializer(`${spec.name}.weight_scale`, [out], ONNX_FLOAT, layer.weight.scales);
    const zeros = rawInitializer(`${spec.name}.weight_zero_point`, [out], ONNX_INT8, new Int8Array(out));
    nodes.push({ op_type: 'DequantizeLinear', name: `${spec.name}.weight`, input: [q, scales, zeros], output: [`${spec.name}.weight`], attribute: [intAttr('axis', 0)] });
    const inputs = [`${spec.name}.weight`];
    const bias = tensors.get(`${spec.name}.bias`);
    if (bias) {
      // what QDQ runtimes expect for a fused int8 conv/gemm: the bias in the accumulator's units (quantize
      // writes biases on that grid already: lib/quantize/quantize.ts snapBias)
      const biasScales = Float32Array.from(layer.weight.scales, (s) => Math.fround(layer.input.scale * s));
      const biasQ = Int32Array.from(bias.data, (b, o) => Math.round(b / biasScales[o]));
      rawInitializer(`${spec.name}.bias_quantized`, [out], ONNX_INT32, biasQ);
      rawInitializer(`${spec.name}.bias_scale`, [out], ONNX_FLOAT, biasScales);
      rawInitializer(`${spec.name}.bias_zero_point`, [out], ONNX_INT32, new Int32Array(out));
      nodes.push({ op_type: 'DequantizeLinear', name: `${spec.name}.bias`, input: [`${spec.name}.bias_quantized`, `${spec.name}.bias_scale`, `${spec.name}.bias_zero_point`], output: [`${spec.name}.bias`], attribute: [intAttr('axis', 0)] });
      inputs.push(`${spec.name}.bias`);
    }
    return inputs;
  };
  /** the next int8 layer, if only layers that commute with quantization lie between index and it */
  const nextInt8Through = (index: number): string | undefined => {
    for (let j = index + 1; j < arch.layers.length; j++) {
      const spec = arch.layers[j];
      if (int8?.has(spec.name)) return spec.name;
      if (!commutesWithQuantize(spec, shapes[j].inShape, shapes[j].outShape)) return undefined;
    }
    return undefined;
  };

  const addInitializer = (name: string): string => {
    const t = tensors.get(name);
    if (!t) throw new Error(`Expected tensor ${name} for the ONNX export but it is missing`);
    const data = t.data;
    initializers.push({ name, dims: t.shape, data_type: ONNX_FLOAT, raw_data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return name;
  };
  const node = (op: string, spec: LayerSpec, inputs: string[], attribute: Attribute[] = [], suffix = ''): void => {
    const output = `${spec.name}${suffix}`;
    nodes.push({ op_type: op, name: output, input: inputs, output: [output], attribute });
    current = output;
  };
  /** an int8 layer's input quantization, unless the current tensor already holds exactly it */
  const int8Input = (spec: LayerSpec): ExportInt8Layer | undefined => {
    const layer = int8?.get(spec.name);
    if (layer && !(held?.tensor === current && held.scale === layer.input.scale && held.zeroPoint === layer.input.zeroPoint)) {
      quantizeDequantize(spec.name, layer.input, '');
    }
    return layer;
  };
  /** after an int8-fed layer: quantize for the next int8 layer here when only max pooling and the like lie between */
  const int8Output = (index: number): void => {
    const next = int8 ? nextInt8Through(index) : undefined;
    if (next) quantizeDequantize(next, int8!.get(next)!.input, `_from_${arch.layers[index].name}`);
  };

  for (const [index, spec] of arch.layers.entries()) {
    const layerShape = shapes[index];
    switch (spec.type) {
      case 'conv2d': {
        const q = int8Input(spec);
        const inputs = [current, ...(q ? int8Parameters(spec, q, layerShape.params.get(`${spec.name}.weight`)!) : [addInitializer(`${spec.name}.weight`)])];
        if (spec.bias && !q) inputs.push(addInitializer(`${spec.name}.bias`));
        // Keras 'same' puts the extra row/column bottom/right, as ONNX SAME_UPPER does, for any input size
        const padding = spec.pad === 'same' ? stringAttr('auto_pad', 'SAME_UPPER') : intsAttr('pads', spec.pad);
        node('Conv', spec, inputs, [
          intsAttr('kernel_shape', spec.kernel), intsAttr('strides', spec.stride), padding,
          intAttr('group', spec.groups), intsAttr('dilations', [1, 1]),
        ]);
        if (spec.relu) node('Relu', spec, [current], [], '_relu');
        if (q) int8Output(index);
        break;
      }
      case 'maxPool2d':
      case 'avgPool2d': {
        const attrs = [intsAttr('kernel_shape', spec.kernel), intsAttr('strides', spec.stride), intsAttr('pads', spec.pad), intAttr('ceil_mode', spec.ceil ? 1 : 0)];
        if (spec.type === 'avgPool2d') attrs.push(intAttr('count_include_pad', spec.countIncludePad ? 1 : 0));
        node(spec.type === 'maxPool2d' ? 'MaxPool' : 'AveragePool', spec, [current], attrs);
        break;
      }
      case 'lrn':
        node('LRN', spec, [current], [intAttr('size', spec.size), floatAttr('alpha', spec.alpha), floatAttr('beta', spec.beta), floatAttr('bias', spec.k)]);
        break;
      case 'adaptiveAvgPool2d': {
        // ONNX has no adaptive pooling: global pooling, or equal windows when the sizes divide
        const [, inH, inW] = layerShape.inShape;
        const [outH, outW] = spec.output;
        if (outH === 1 && outW === 1) node('GlobalAveragePool', spec, [current]);
        else if (inH % outH === 0 && inW % outW === 0) {
          const kernel = [inH / outH, inW / outW];
          node('AveragePool', spec, [current], [intsAttr('kernel_shape', kernel), intsAttr('strides', kernel)]);
        } else {
          throw new Error(`Expected ${spec.name}'s input ${inH}x${inW} to be a multiple of its output ${outH}x${outW} for the ONNX export (ONNX has no adaptive pooling)`);
        }
        break;
      }
      case 'flatten':
        node('Flatten', spec, [current], [intAttr('axis', 1)]);
        break;
      case 'linear': {
        const q = int8Input(spec);
        const inputs = [current, ...(q ? int8Parameters(spec, q, layerShape.params.get(`${spec.name}.weight`)!) : [addInitializer(`${spec.name}.weight`)])];
        if (spec.bias && !q) inputs.push(addInitializer(`${spec.name}.bias`));
        node('Gemm', spec, inputs, [floatAttr('alpha', 1), floatAttr('beta', 1), intAttr('transB', 1)]);
        if (spec.relu) node('Relu', spec, [current], [], '_relu');
        if (q) int8Output(index);
        break;
      }
      case 'relu':
        node('Relu', spec, [current]);
        break;
      case 'dropout':
        break; // identity at inference
      case 'softmax':
        node('Softmax', spec, [current], [intAttr('axis', 1)]);
        break;
    }
  }
  // the last node writes the graph output
  const last = nodes[nodes.length - 1];
  (last.output as string[])[0] = outputName;
  const dim = (v: number | string) => (typeof v === 'number' ? { dim_value: v } : { dim_param: v });
  const valueInfo = (name: string, dims: (number | string)[]) => ({
    name, type: { tensor_type: { elem_type: ONNX_FLOAT, shape: { dim: dims.map(dim) } } },
  });
  const model = {
    ir_version: IR_VERSION,
    producer_name: 'alexnet-cli',
    opset_import: [{ domain: '', version: EXPORT_OPSET }],
    graph: {
      name: arch.name,
      node: nodes,
      initializer: initializers,
      input: [valueInfo(inputName, ['batch', ...arch.input])],
      output: [valueInfo(outputName, ['batch', arch.numClasses])],
    },
    metadata_props: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
  };
  const type = onnxRoot().lookupType('onnx.ModelProto');
  return type.encode(type.fromObject(model)).finish();
}

export function writeOnnx(path: string, arch: Architecture, tensors: Map<string, ExportTensor>, options: ExportOptions = {}): void {
  writeFileAtomic(path, encodeOnnx(arch, tensors, options));
}
