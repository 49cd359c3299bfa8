// ONNX models: the graph becomes an Architecture (LayerSpec[]) and the initializers canonical tensors.
// Handles the ONNX model zoo's bvlcalexnet (data_0 input, LRN, grouped convs, pool5 pads [0,0,1,1],
// Reshape with the batch fixed at 1, Gemm transB=1, Softmax) and torch.onnx.export output (opsets 9..17).
// The graph must be a single chain: every operator takes the previous one's output.
import { closeSync, fstatSync, openSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve, sep } from 'node:path';
import protobuf from 'protobufjs';
import { PREPROCESS } from '../model/archs.js';
import type { Architecture, LayerSpec, LinearSpec, Pads, Pair, Preprocess } from '../model/layers.js';
import { toFloat32 } from './dtypes.js';
import { ONNX_PROTO } from './proto/onnx-schema.js';
import type { WeightSet, WeightTensor } from './types.js';
import { weightsError } from './types.js';
import { readExact, readWeightsFile } from './read.js';

// onnx.proto TensorProto.DataType
export const ONNX_FLOAT = 1;
const ONNX_INT32 = 6;
const ONNX_INT64 = 7;
const ONNX_FLOAT16 = 10;
const ONNX_DOUBLE = 11;
const ONNX_BFLOAT16 = 16;

/* eslint-disable @typescript-eslint/no-explicit-any -- decoded protobuf messages */
type Message = any;

let root: protobuf.Root | undefined;
export function onnxRoot(): protobuf.Root {
  root ??= protobuf.parse(ONNX_PROTO, { keepCase: true }).root;
  return root;
}

/** int64 fields decode as Long objects (or numbers) */
export const num = (v: unknown): number => (typeof v === 'object' && v !== null ? Number((v as { toString(): string }).toString()) : Number(v));

interface Attributes {
  int(name: string, fallback: number): number;
  float(name: string, fallback: number): number;
  ints(name: string): number[] | undefined;
  string(name: string, fallback: string): string;
  tensor(name: string): Message | undefined;
  has(name: string): boolean;
}

function attributesOf(node: Message): Attributes {
  const byName = new Map<string, Message>();
  for (const a of node.attribute ?? []) byName.set(a.name, a);
  return {
    int: (name, fallback) => (byName.has(name) ? num(byName.get(name).i) : fallback),
    float: (name, fallback) => (byName.has(name) ? Number(byName.get(name).f) : fallback),
    ints: (name) => (byName.has(name) ? (byName.get(name).ints as unknown[]).map(num) : undefined),
    string: (name, fallback) => (byName.has(name) ? Buffer.from(byName.get(name).s ?? []).toString('utf8') : fallback),
    tensor: (name) => byName.get(name)?.t,
    has: (name) => byName.has(name),
  };
}

/** Where a tensor's values are: bytes in memory or a range of an external file */
class TensorSource {
  constructor(private readonly modelPath: string, readonly proto: Message) {}

  get name(): string {
    return this.proto.name;
  }

  get dims(): number[] {
    return (this.proto.dims ?? []).map(num);
  }

  get count(): number {
    return this.dims.reduce((a, b) => a * b, 1);
  }

  /** float32 little-endian values in an external file, readable in place */
  externalLocation(): { path: string; byteOffset: number } | undefined {
    if (this.proto.data_location !== 1 || this.proto.data_type !== ONNX_FLOAT) return undefined;
    const { location, offset, length } = this.external();
    if (length !== this.count * 4) {
      throw weightsError(this.modelPath, `expected ${this.count * 4} bytes of external data for tensor ${this.name} [${this.dims.join(',')}] but its length is ${length}`);
    }
    return { path: location, byteOffset: offset };
  }

  /**
   * The external data of this tensor, confined as ONNX's checker confines it (onnx/checker.cc
   * resolve_external_data_location): a relative location without '..', whose real path (links
   * followed) stays inside the model's folder, naming a regular file (never a device or FIFO: /dev/zero
   * would read forever, a FIFO block) that holds offset + length bytes.
   */
  private external(): { location: string; offset: number; length: number } {
    const entries = new Map<string, string>((this.proto.external_data ?? []).map((e: Message) => [e.key, e.value]));
    const rel = entries.get('location');
    const fail = (message: string): never => {
      throw weightsError(this.modelPath, message);
    };
    if (!rel) fail(`expected a location for external tensor ${this.name} but it has none`);
    const where = `the external data location "${rel}" of tensor ${this.name}`;
    if (isAbsolute(rel!) || /^[a-zA-Z]:/.test(rel!)) fail(`expected a path relative to the model's folder for ${where} but it is absolute`);
    if (rel!.split(/[\\/]/).includes('..')) fail(`expected ${where} to stay inside the model's folder but it has a '..' component`);
    let folder: string;
    let location: string;
    try {
      folder = realpathSync(dirname(this.modelPath));
      location = realpathSync(resolve(folder, rel!));
    } catch {
      return fail(`expected the external data file ${resolve(dirname(this.modelPath), rel!)} of tensor ${this.name} but it is missing`);
    }
    if (!location.startsWith(folder + sep)) fail(`expected ${where} to stay inside the model's folder but it leads to ${location} (a link leaving the folder)`);
    const stats = statSync(location);
    if (!stats.isFile()) fail(`expected ${where} to be a regular file but it is ${stats.isDirectory() ? 'a folder' : stats.isFIFO() ? 'a FIFO' : 'a device or other special file'}`);
    const integer = (key: string): number | undefined => {
      const text = entries.get(key);
      if (text === undefined) return undefined;
      if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) fail(`expected a non-negative integer ${key} for external tensor ${this.name} but found "${text}"`);
      return Number(text);
    };
    const size = stats.size;
    const offset = integer('offset') ?? 0;
    const length = integer('length') ?? Math.max(0, size - offset);
    if (offset + length > size) {
      fail(`expected ${length} bytes of tensor ${this.name} at offset ${offset} of ${location} but it has ${size} (truncated?)`);
    }
    return { location, offset, length };
  }

  private raw(): Uint8Array | undefined {
    if (this.proto.data_location === 1) {
      // only the declared range, never the whole file
      const { location, offset, length } = this.external();
      const fd = openSync(location, 'r');
      try {
        if (fstatSync(fd).size < offset + length) throw weightsError(this.modelPath, `expected ${length} bytes of tensor ${this.name} at offset ${offset} of ${location} but the file is shorter`);
        return readExact(fd, length, offset);
      } finally {
        closeSync(fd);
      }
    }
    const raw: Uint8Array | undefined = this.proto.raw_data;
    return raw && raw.length > 0 ? raw : undefined;
  }

  floats(): Float32Array {
    const type = this.proto.data_type;
    const raw = this.raw();
    let values: Float32Array;
    if (type === ONNX_FLOAT) values = raw ? toFloat32(raw, 'float32') : Float32Array.from(this.proto.float_data ?? []);
    else if (type === ONNX_DOUBLE) values = raw ? toFloat32(raw, 'float64') : Float32Array.from(this.proto.double_data ?? []);
    else if (type === ONNX_FLOAT16 || type === ONNX_BFLOAT16) {
      const dtype = type === ONNX_FLOAT16 ? 'float16' : 'bfloat16';
      // without raw_data, 16-bit values are stored one per int32_data element
      values = raw ? toFloat32(raw, dtype) : toFloat32(new Uint8Array(Uint16Array.from(this.proto.int32_data ?? []).buffer), dtype);
    } else throw weightsError(this.modelPath, `expected a float tensor for ${this.name} but found ONNX data type ${type}`);
    if (values.length !== this.count) {
      throw weightsError(this.modelPath, `expected ${this.count} values for tensor ${this.name} [${this.dims.join(',')}] but found ${values.length}`);
    }
    return values;
  }

  ints(): number[] {
    const type = this.proto.data_type;
    const raw = this.raw();
    if (type === ONNX_INT64) {
      if (!raw) return (this.proto.int64_data ?? []).map(num);
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      return Array.from({ length: raw.byteLength / 8 }, (_, i) => Number(view.getBigInt64(i * 8, true)));
    }
    if (type === ONNX_INT32) {
      if (!raw) return (this.proto.int32_data ?? []).map(num);
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      return Array.from({ length: raw.byteLength / 4 }, (_, i) => view.getInt32(i * 4, true));
    }
    throw weightsError(this.modelPath, `expected an integer tensor for ${this.name} but found ONNX data type ${type}`);
  }
}

function transpose2d(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c];
  return out;
}

function scale(values: Float32Array, factor: number): Float32Array {
  if (factor === 1) return values;
  return values.map((v) => v * factor);
}

const allOnes = (v: number[] | undefined): boolean => !v || v.every((x) => x === 1);

/** ONNX [x1_begin, x2_begin, x1_end, x2_end] is our [top, left, bottom, right] already */
function pads2d(v: number[] | undefined, fail: (message: string) => never): Pads {
  if (!v || v.length === 0) return [0, 0, 0, 0];
  if (v.length !== 4) fail(`expected 4 pads for a 2-D operator but found ${v.length}`);
  return [v[0], v[1], v[2], v[3]];
}

const addPads = (a: Pads, b: Pads): Pads => [a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3]];
const zeroPads = (p: Pads): boolean => p.every((v) => v === 0);

export interface OnnxGraphInfo {
  arch: Architecture;
  tensors: Map<string, WeightTensor>;
}

/** Map a decoded ModelProto onto an Architecture and canonical tensors */
export function graphToArchitecture(path: string, model: Message): OnnxGraphInfo {
  const graph = model.graph;
  if (!graph) throw weightsError(path, 'expected an ONNX model with a graph but it has none');
  const fail: (message: string) => never = (message) => {
    throw weightsError(path, message);
  };
  const constants = new Map<string, TensorSource>();
  for (const init of graph.initializer ?? []) constants.set(init.name, new TensorSource(path, init));
  const inputs = (graph.input ?? []).filter((v: Message) => !constants.has(v.name));
  if (inputs.length !== 1) fail(`expected one graph input but found ${inputs.length} (${inputs.map((v: Message) => v.name).join(', ')})`);
  const inputInfo = inputs[0];
  const inputDims: (number | undefined)[] = (inputInfo.type?.tensor_type?.shape?.dim ?? []).map((d: Message) =>
    d.dim_value !== undefined && d.dim_value !== null && num(d.dim_value) > 0 ? num(d.dim_value) : undefined);
  if (inputDims.length !== 4) fail(`expected a 4-D [N,C,H,W] graph input but ${inputInfo.name} has ${inputDims.length} dimensions`);
  const input: [number, number, number] = [inputDims[1] ?? 3, inputDims[2] ?? 224, inputDims[3] ?? 224];

  const layers: LayerSpec[] = [];
  const tensors = new Map<string, WeightTensor>();
  const unsupported: string[] = [];
  let current: string = inputInfo.name;
  let flat = false;
  let nonNegative = false;
  let pendingPad: Pads | undefined;
  let convCount = 0;
  let linearCount = 0;
  let lastOutput = '';
  let lastLayer: LayerSpec | undefined;
  const linears: LinearSpec[] = [];

  const constant = (name: string, op: string): TensorSource => {
    const c = constants.get(name);
    if (!c) fail(`expected ${op} input ${name} to be an initializer or Constant but it is computed by the graph`);
    return c!;
  };
  const usedNames = new Set<string>();
  const push = (spec: LayerSpec, output: string): void => {
    // names stay unique: a second pool after conv5 (torch's AdaptiveAvgPool2d export) becomes pool5_2
    let unique = spec.name;
    for (let n = 2; usedNames.has(unique); n++) unique = `${spec.name}_${n}`;
    spec.name = unique;
    usedNames.add(unique);
    layers.push(spec);
    lastLayer = spec;
    lastOutput = output;
    current = output;
  };
  const takePad = (): Pads => {
    const p = pendingPad ?? [0, 0, 0, 0];
    pendingPad = undefined;
    return p;
  };

  for (const node of graph.node ?? []) {
    const op: string = node.op_type;
    const a = attributesOf(node);
    const nodeName = node.name || `${op} -> ${node.output?.[0]}`;
    if (op === 'Constant') {
      const t = a.tensor('value');
      if (t) constants.set(node.output[0], new TensorSource(path, { ...t, name: node.output[0] }));
      else if (a.ints('value_ints')) constants.set(node.output[0], new TensorSource(path, { name: node.output[0], data_type: ONNX_INT64, dims: [a.ints('value_ints')!.length], int64_data: a.ints('value_ints') }));
      else if (a.has('value_int')) constants.set(node.output[0], new TensorSource(path, { name: node.output[0], data_type: ONNX_INT64, dims: [], int64_data: [a.int('value_int', 0)] }));
      else unsupported.push(`Constant (${nodeName}: only value, value_ints, value_int)`);
      continue;
    }
    const known = ['Conv', 'Relu', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'LRN', 'Flatten', 'Reshape', 'Gemm', 'MatMul', 'Add', 'Dropout', 'Softmax', 'Identity', 'Pad'];
    if (!known.includes(op) || (node.domain && node.domain !== 'ai.onnx')) {
      unsupported.push(`${op} (${nodeName})`);
      continue;
    }
    if (unsupported.length > 0) continue; // the error will list them; the chain is broken anyway
    // Add commutes: a bias may come first (b + x W)
    if (node.input[0] !== current && !(op === 'Add' && node.input[1] === current)) {
      fail(`expected node ${nodeName} (${op}) to take the previous layer's output ${current} but it takes ${node.input[0]}: only single-chain graphs are supported`);
    }
    const out: string = node.output[0];
    if (pendingPad && !['Conv', 'MaxPool', 'AveragePool'].includes(op)) fail(`expected a Conv or pool after Pad but found ${op} (${nodeName})`);
    switch (op) {
      case 'Identity':
      case 'Dropout':
        // named after the fully connected layer before it, as in archs.ts (fc6 -> drop6)
        if (op === 'Dropout') push({ type: 'dropout', name: `drop${convCount + linearCount}`, rate: a.float('ratio', 0.5) }, out);
        else current = out;
        break;
      case 'Pad': {
        const mode = a.string('mode', 'constant');
        if (mode !== 'constant') fail(`expected Pad mode constant but node ${nodeName} uses ${mode}`);
        const padList = a.ints('pads') ?? (node.input[1] ? constant(node.input[1], 'Pad').ints() : undefined);
        const value = node.input[2] ? constant(node.input[2], 'Pad').floats()[0] : a.float('value', 0);
        if (!padList || padList.length !== 8) fail(`expected 8 pads (N,C,H,W begin and end) for Pad ${nodeName}`);
        const p = padList!;
        if (value !== 0 || p[0] || p[1] || p[4] || p[5] || p.some((v) => v < 0)) {
          fail(`expected Pad ${nodeName} to zero-pad height and width only but found pads [${p.join(',')}] value ${value}`);
        }
        pendingPad = addPads(pendingPad ?? [0, 0, 0, 0], [p[2], p[3], p[6], p[7]]);
        current = out;
        break;
      }
      case 'Conv': {
        if (flat) fail(`expected a 4-D input for Conv ${nodeName} but it follows a Flatten`);
        const w = constant(node.input[1], 'Conv');
        const dims = w.dims;
        if (dims.length !== 4) fail(`expected a 4-D Conv weight for ${nodeName} but found [${dims.join(',')}]`);
        if (!allOnes(a.ints('dilations'))) fail(`expected dilations 1 for Conv ${nodeName} but found [${a.ints('dilations')!.join(',')}]`);
        const autoPad = a.string('auto_pad', 'NOTSET');
        const kernel = (a.ints('kernel_shape') ?? dims.slice(2)) as Pair;
        const strides = (a.ints('strides') ?? [1, 1]) as Pair;
        let pad: Pads | 'same';
        const extra = takePad();
        if (autoPad === 'SAME_UPPER') {
          if (!zeroPads(extra)) fail(`expected no Pad before Conv ${nodeName} with auto_pad SAME_UPPER`);
          pad = 'same';
        } else if (autoPad === 'NOTSET' || autoPad === 'VALID') pad = addPads(autoPad === 'VALID' ? [0, 0, 0, 0] : pads2d(a.ints('pads'), fail), extra);
        else return fail(`expected auto_pad NOTSET, VALID or SAME_UPPER for Conv ${nodeName} but found ${autoPad}`);
        convCount++;
        const name = `conv${convCount}`;
        const group = a.int('group', 1);
        tensors.set(`${name}.weight`, { shape: dims, ...(w.externalLocation() ? { file: w.externalLocation() } : { data: w.floats() }) });
        if (node.input[2]) {
          const b = constant(node.input[2], 'Conv');
          tensors.set(`${name}.bias`, { shape: [dims[0]], data: b.floats() });
        }
        push({ type: 'conv2d', name, outChannels: dims[0], kernel, stride: strides, pad, groups: group, bias: !!node.input[2], relu: false }, out);
        nonNegative = false;
        break;
      }
      case 'Relu':
        if (lastLayer && (lastLayer.type === 'conv2d' || lastLayer.type === 'linear') && !lastLayer.relu && lastOutput === current) {
          lastLayer.relu = true;
          lastOutput = out;
          current = out;
        } else push({ type: 'relu', name: `relu${layers.length + 1}` }, out);
        nonNegative = true;
        break;
      case 'MaxPool':
      case 'AveragePool': {
        if (flat) fail(`expected a 4-D input for ${op} ${nodeName} but it follows a Flatten`);
        if (!allOnes(a.ints('dilations'))) fail(`expected dilations 1 for ${op} ${nodeName} but found [${a.ints('dilations')!.join(',')}]`);
        const autoPad = a.string('auto_pad', 'NOTSET');
        if (autoPad !== 'NOTSET' && autoPad !== 'VALID') fail(`expected auto_pad NOTSET or VALID for ${op} ${nodeName} but found ${autoPad}`);
        const own = autoPad === 'VALID' ? [0, 0, 0, 0] as Pads : pads2d(a.ints('pads'), fail);
        const extra = takePad();
        let countIncludePad = a.int('count_include_pad', 0) === 1;
        if (!zeroPads(extra)) {
          // a zero Pad equals max-pool padding only when the values are >= 0 (after a ReLU), and equals
          // average-pool padding only when the padded zeros are counted
          if (op === 'MaxPool' && !nonNegative) fail(`expected a non-negative input for MaxPool ${nodeName} to fold the preceding Pad into it`);
          if (op === 'AveragePool') {
            if (!zeroPads(own) && !countIncludePad) fail(`expected count_include_pad 1 for AveragePool ${nodeName} to fold the preceding Pad into it`);
            countIncludePad = true;
          }
        }
        const spec: LayerSpec = {
          type: op === 'MaxPool' ? 'maxPool2d' : 'avgPool2d',
          name: `pool${convCount}`,
          kernel: a.ints('kernel_shape') as Pair,
          stride: (a.ints('strides') ?? [1, 1]) as Pair,
          pad: addPads(own, extra),
          ceil: a.int('ceil_mode', 0) === 1,
        };
        if (op === 'AveragePool') spec.countIncludePad = countIncludePad;
        push(spec, out);
        break;
      }
      case 'GlobalAveragePool':
        push({ type: 'adaptiveAvgPool2d', name: 'avgpool', output: [1, 1] }, out);
        break;
      case 'LRN':
        push({ type: 'lrn', name: `norm${convCount}`, size: a.int('size', 5), alpha: a.float('alpha', 1e-4), beta: a.float('beta', 0.75), k: a.float('bias', 1) }, out);
        break;
      case 'Flatten': {
        const axis = a.int('axis', 1);
        if (axis !== 1) fail(`expected Flatten axis 1 for ${nodeName} but found ${axis}`);
        if (!flat) push({ type: 'flatten', name: 'flatten' }, out);
        else current = out;
        flat = true;
        break;
      }
      case 'Reshape': {
        // opset < 5 (the zoo's oldest models) has the shape as an attribute
        const shape = a.ints('shape') ?? constant(node.input[1], 'Reshape').ints();
        // [1, -1] (zoo: batch fixed at 1), [-1, n], [0, -1], [N, n]: a flatten to [batch, features]
        if (shape.length !== 2) fail(`expected Reshape ${nodeName} to flatten to [batch, features] but its shape is [${shape.join(',')}]`);
        if (!flat) push({ type: 'flatten', name: 'flatten' }, out);
        else current = out;
        flat = true;
        break;
      }
      case 'Gemm':
      case 'MatMul': {
        if (!flat) {
          // MatMul/Gemm straight after a pool without Flatten: only valid on [N, features] inputs
          fail(`expected a Flatten or Reshape before ${op} ${nodeName}`);
        }
        const w = constant(node.input[1], op);
        const dims = w.dims;
        if (dims.length !== 2) fail(`expected a 2-D weight for ${op} ${nodeName} but found [${dims.join(',')}]`);
        if (a.int('transA', 0) !== 0) fail(`expected transA 0 for Gemm ${nodeName}`);
        const transB = op === 'Gemm' ? a.int('transB', 0) === 1 : false;
        const alpha = op === 'Gemm' ? a.float('alpha', 1) : 1;
        const beta = op === 'Gemm' ? a.float('beta', 1) : 1;
        const [outFeatures, inFeatures] = transB ? dims : [dims[1], dims[0]];
        linearCount++;
        // fully connected layers are numbered after the convolutions: conv1..conv5 then fc6..fc8
        const name = `fc${convCount + linearCount}`;
        const external = transB && alpha === 1 ? w.externalLocation() : undefined;
        const weight = external ? { file: external } : { data: scale(transB ? w.floats() : transpose2d(w.floats(), dims[0], dims[1]), alpha) };
        tensors.set(`${name}.weight`, { shape: [outFeatures, inFeatures], ...weight });
        const hasBias = op === 'Gemm' && !!node.input[2];
        if (hasBias) {
          const b = constant(node.input[2], 'Gemm');
          if (b.count !== outFeatures) fail(`expected a bias of ${outFeatures} values for Gemm ${nodeName} but found [${b.dims.join(',')}]`);
          tensors.set(`${name}.bias`, { shape: [outFeatures], data: scale(b.floats(), beta) });
        }
        const spec: LinearSpec = { type: 'linear', name, outFeatures, bias: hasBias, relu: false };
        linears.push(spec);
        push(spec, out);
        nonNegative = false;
        break;
      }
      case 'Add': {
        // MatMul + Add(bias): the bias joins the linear layer just before
        const other = node.input[1] === current ? node.input[0] : node.input[1];
        // not after a ReLU folded into the layer: relu(x W) + b is not relu(x W + b)
        if (!(lastLayer?.type === 'linear' && !lastLayer.bias && !lastLayer.relu && lastOutput === current && constants.has(other))) {
          fail(`expected Add ${nodeName} to add a constant bias to a MatMul output`);
        }
        const spec = lastLayer as LinearSpec;
        const b = constant(other, 'Add');
        if (b.count !== spec.outFeatures) fail(`expected a bias of ${spec.outFeatures} values for Add ${nodeName} but found [${b.dims.join(',')}]`);
        tensors.set(`${spec.name}.bias`, { shape: [spec.outFeatures], data: b.floats() });
        spec.bias = true;
        lastOutput = out;
        current = out;
        break;
      }
      case 'Softmax': {
        const axis = a.int('axis', -1);
        if (axis !== 1 && axis !== -1) fail(`expected Softmax over axis 1 for ${nodeName} but found axis ${axis}`);
        push({ type: 'softmax', name: 'prob' }, out);
        break;
      }
    }
  }
  if (unsupported.length > 0) fail(`unsupported ONNX operators: ${unsupported.join(', ')}`);
  if (pendingPad) fail('expected a Conv or pool after the last Pad but the graph ends');
  const outputs = (graph.output ?? []).map((v: Message) => v.name);
  if (!outputs.includes(current)) fail(`expected the chain of layers to end in the graph output ${outputs.join(', ')} but it ends in ${current}`);
  if (linears.length === 0) fail('expected at least one Gemm or MatMul (the classifier) but found none');

  const last = layers[layers.length - 1];
  const head = linears[linears.length - 1];
  const arch: Architecture = {
    name: graph.name || 'onnx',
    input,
    layers,
    preprocess: PREPROCESS.torchvision,
    output: last.type === 'softmax' ? 'probabilities' : 'logits',
    numClasses: head.outFeatures,
  };
  arch.preprocess = guessPreprocess(model, arch, inputInfo.name);
  return { arch, tensors };
}

/** torch.onnx.export -> torchvision's; Caffe-converted graphs (LRN, data_0 input) -> the zoo's */
function guessPreprocess(model: Message, arch: Architecture, inputName: string): Preprocess {
  if (model.producer_name === 'pytorch') return PREPROCESS.torchvision;
  if (inputName === 'data_0' || arch.layers.some((l) => l.type === 'lrn')) return PREPROCESS['bvlc-zoo'];
  return PREPROCESS.torchvision;
}

export function decodeOnnx(path: string, bytes: Uint8Array): Message {
  try {
    return onnxRoot().lookupType('onnx.ModelProto').decode(bytes);
  } catch (e) {
    throw weightsError(path, `expected an ONNX ModelProto but it does not decode (${(e as Error).message}; truncated?)`);
  }
}

export async function readOnnx(path: string): Promise<WeightSet> {
  const bytes = readWeightsFile(path);
  const model = decodeOnnx(path, bytes);
  const { arch, tensors } = graphToArchitecture(path, model);
  const metadata: Record<string, string> = {};
  if (model.producer_name) metadata.producer = `${model.producer_name} ${model.producer_version ?? ''}`.trim();
  const opset = (model.opset_import ?? []).find((o: Message) => !o.domain || o.domain === 'ai.onnx');
  if (opset) metadata.opset = String(num(opset.version));
  for (const p of model.metadata_props ?? []) metadata[p.key] = p.value;
  return { format: 'onnx', path, tensors, arch, preprocess: arch.preprocess, metadata };
}
