// Writing an Architecture and its canonical tensors as an ONNX model (opset 13), so our weights run in
// any ONNX runtime and onnxruntime can check our engine as a peer.
import { renameSync, writeFileSync } from 'node:fs';
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

export interface ExportOptions {
  inputName?: string;
  outputName?: string;
  /** stored in the model's metadata_props */
  metadata?: Record<string, string>;
}

/** ModelProto bytes for the architecture; tensors under canonical names (conv1.weight, ...) */
export function encodeOnnx(arch: Architecture, tensors: Map<string, ExportTensor>, options: ExportOptions = {}): Uint8Array {
  const inputName = options.inputName ?? 'input';
  const outputName = options.outputName ?? 'output';
  const shapes = inferShapes(arch);
  const nodes: Record<string, unknown>[] = [];
  const initializers: Record<string, unknown>[] = [];
  let current = inputName;

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

  for (const [index, spec] of arch.layers.entries()) {
    const layerShape = shapes[index];
    switch (spec.type) {
      case 'conv2d': {
        const inputs = [current, addInitializer(`${spec.name}.weight`)];
        if (spec.bias) inputs.push(addInitializer(`${spec.name}.bias`));
        // Keras 'same' puts the extra row/column bottom/right, as ONNX SAME_UPPER does, for any input size
        const padding = spec.pad === 'same' ? stringAttr('auto_pad', 'SAME_UPPER') : intsAttr('pads', spec.pad);
        node('Conv', spec, inputs, [
          intsAttr('kernel_shape', spec.kernel), intsAttr('strides', spec.stride), padding,
          intAttr('group', spec.groups), intsAttr('dilations', [1, 1]),
        ]);
        if (spec.relu) node('Relu', spec, [current], [], '_relu');
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
        const inputs = [current, addInitializer(`${spec.name}.weight`)];
        if (spec.bias) inputs.push(addInitializer(`${spec.name}.bias`));
        node('Gemm', spec, inputs, [floatAttr('alpha', 1), floatAttr('beta', 1), intAttr('transB', 1)]);
        if (spec.relu) node('Relu', spec, [current], [], '_relu');
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
  const bytes = encodeOnnx(arch, tensors, options);
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}
