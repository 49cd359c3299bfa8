// lib/weights/onnx.ts on small graphs built here: one that uses every operator and attribute the reader
// maps (Pad from an input and from attributes, folded into Conv and MaxPool; LRN; grouped Conv with
// auto_pad VALID; AveragePool counting its pads; GlobalAveragePool; Reshape from a Constant; Dropout;
// MatMul + Add; Identity; Gemm transB with alpha and beta; Softmax), checked against the layer list and
// the tensor values written out by hand; then one graph per refusal, each message word for word.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs, { mkdtempSync, readFileSync, realpathSync, truncateSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildArchitecture, PREPROCESS } from '../lib/model/archs.js';
import { parameterShapes } from '../lib/model/shapes.js';
import { resolveWeights } from '../lib/weights/resolve.js';
import { encodeOnnx } from '../lib/weights/onnx-export.js';
import { onnxRoot, readOnnx } from '../lib/weights/onnx.js';
import { tensorValues } from '../lib/weights/safetensors.js';
import { assertUndecodableAndMissing } from './weights-fixtures.js';

const scratch = mkdtempSync(join(tmpdir(), 'weights-onnx-graphs-'));

type Init = { dims: number[]; values: number[]; type?: 'int64' };
interface Graph {
  nodes: object[];
  inits?: Record<string, Init>;
  inputDims?: number[];
  inputs?: string[];
  outputs?: string[];
  name?: string;
  producer?: string;
  noGraph?: boolean;
  opsets?: { domain?: string; version: number }[];
  /** metadata_props beside author: test */
  metadata?: Record<string, string>;
}

let fileCount = 0;
function write(g: Graph): string {
  const initializer = Object.entries(g.inits ?? {}).map(([name, t]) => (t.type === 'int64'
    ? { name, dims: t.dims, data_type: 7, int64_data: t.values }
    : { name, dims: t.dims, data_type: 1, float_data: t.values }));
  const input = (g.inputs ?? ['x']).map((name) => ({ name, type: { tensor_type: { elem_type: 1, shape: { dim: (g.inputDims ?? [1, 3, 16, 16]).map((d) => ({ dim_value: d })) } } } }));
  const model = {
    ir_version: 7, opset_import: g.opsets ?? [{ version: 13 }], producer_name: g.producer ?? 'hand',
    metadata_props: [{ key: 'author', value: 'test' }, ...Object.entries(g.metadata ?? {}).map(([key, value]) => ({ key, value }))],
    ...(g.noGraph ? {} : {
      graph: {
        name: g.name ?? 'g', node: g.nodes, initializer, input,
        output: (g.outputs ?? ['y']).map((name) => ({ name, type: { tensor_type: { elem_type: 1 } } })),
      },
    }),
  };
  const type = onnxRoot().lookupType('onnx.ModelProto');
  const path = join(scratch, `g${fileCount++}.onnx`);
  writeFileSync(path, type.encode(type.fromObject(model)).finish());
  return path;
}

const ints = (name: string, v: number[]) => ({ name, type: 7, ints: v });
const int = (name: string, v: number) => ({ name, type: 2, i: v });
const float = (name: string, v: number) => ({ name, type: 1, f: v });
const str = (name: string, v: string) => ({ name, type: 3, s: Buffer.from(v) });
const node = (op: string, input: string[], output: string, attribute: object[] = [], extra: object = {}) => ({ op_type: op, input, output: [output], attribute, ...extra });
const seq = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

test('every operator and attribute the reader maps, against the layer list and values by hand', async () => {
  const path = write({
    name: 'every-op', producer: 'hand',
    nodes: [
      node('Pad', ['x', 'pads'], 'p1'),
      node('Conv', ['p1', 'w1', 'b1'], 'c1', [ints('strides', [2, 2]), ints('pads', [0, 0, 1, 0]), ints('dilations', [1, 1])]),
      node('Relu', ['c1'], 'r1'),
      node('LRN', ['r1'], 'n1', [int('size', 3), float('alpha', 2e-4), float('beta', 0.5), float('bias', 2)]),
      node('Pad', ['n1'], 'p2', [ints('pads', [0, 0, 1, 0, 0, 0, 0, 1]), str('mode', 'constant')]),
      node('MaxPool', ['p2'], 'm1', [ints('kernel_shape', [3, 3]), ints('strides', [2, 2]), int('ceil_mode', 1)]),
      node('Conv', ['m1', 'w2'], 'c2', [int('group', 2), str('auto_pad', 'VALID')]),
      node('Relu', ['c2'], 'r2'),
      node('AveragePool', ['r2'], 'a1', [ints('kernel_shape', [2, 2]), ints('pads', [1, 1, 1, 1]), int('count_include_pad', 1)]),
      node('GlobalAveragePool', ['a1'], 'g1'),
      { op_type: 'Constant', input: [], output: ['shape'], attribute: [ints('value_ints', [0, -1])] },
      node('Reshape', ['g1', 'shape'], 'f1'),
      node('Dropout', ['f1'], 'd1', [float('ratio', 0.25)]),
      node('MatMul', ['d1', 'w3'], 'mm'),
      node('Add', ['b3', 'mm'], 'ad'),
      node('Relu', ['ad'], 'r3'),
      node('Identity', ['r3'], 'i1'),
      node('Gemm', ['i1', 'w4', 'b4'], 'gm', [int('transB', 1), float('alpha', 2), float('beta', 0.5)]),
      node('Softmax', ['gm'], 'y', [int('axis', 1)]),
    ],
    inits: {
      pads: { dims: [8], values: [0, 0, 1, 1, 0, 0, 1, 1], type: 'int64' },
      w1: { dims: [4, 3, 3, 3], values: seq(108) }, b1: { dims: [4], values: [1, 2, 3, 4] },
      w2: { dims: [6, 2, 1, 1], values: seq(12) },
      w3: { dims: [6, 5], values: seq(30) }, b3: { dims: [5], values: [5, 4, 3, 2, 1] },
      w4: { dims: [3, 5], values: seq(15) }, b4: { dims: [3], values: [2, 4, 6] },
    },
  });
  const set = await readOnnx(path);
  const f = Math.fround;
  assert.deepEqual(set.arch!.layers, [
    // Pad [1,1 | 1,1] + Conv pads [top 0, left 0, bottom 1, right 0]
    { type: 'conv2d', name: 'conv1', outChannels: 4, kernel: [3, 3], stride: [2, 2], pad: [1, 1, 2, 1], groups: 1, bias: true, relu: true },
    { type: 'lrn', name: 'norm1', size: 3, alpha: f(2e-4), beta: 0.5, k: 2 },
    // Pad [top 1, left 0, bottom 0, right 1] folds into the MaxPool: its input is a ReLU's, >= 0
    { type: 'maxPool2d', name: 'pool1', kernel: [3, 3], stride: [2, 2], pad: [1, 0, 0, 1], ceil: true },
    { type: 'conv2d', name: 'conv2', outChannels: 6, kernel: [1, 1], stride: [1, 1], pad: [0, 0, 0, 0], groups: 2, bias: false, relu: true },
    { type: 'avgPool2d', name: 'pool2', kernel: [2, 2], stride: [1, 1], pad: [1, 1, 1, 1], ceil: false, countIncludePad: true },
    { type: 'adaptiveAvgPool2d', name: 'avgpool', output: [1, 1] },
    { type: 'flatten', name: 'flatten' },
    { type: 'dropout', name: 'drop2', rate: 0.25 },
    { type: 'linear', name: 'fc3', outFeatures: 5, bias: true, relu: true },
    { type: 'linear', name: 'fc4', outFeatures: 3, bias: true, relu: false },
    { type: 'softmax', name: 'prob' },
  ]);
  assert.deepEqual([set.arch!.name, set.arch!.input, set.arch!.output, set.arch!.numClasses], ['every-op', [3, 16, 16], 'probabilities', 3]);
  // an LRN and no torch producer: the zoo's preprocessing
  assert.deepEqual(set.preprocess, PREPROCESS['bvlc-zoo']);
  assert.deepEqual(set.metadata, { producer: 'hand', opset: '13', author: 'test' });
  const values = (name: string) => Array.from(tensorValues(set.tensors.get(name)!));
  assert.deepEqual(set.tensors.get('conv1.weight')!.shape, [4, 3, 3, 3]);
  assert.deepEqual(values('conv1.bias'), [1, 2, 3, 4]);
  assert.equal(set.tensors.has('conv2.bias'), false);
  // MatMul's W [6 in, 5 out] transposed to [5, 6]: row j is column j of W (1-based values j+1, j+6, ...)
  assert.deepEqual(set.tensors.get('fc3.weight')!.shape, [5, 6]);
  assert.deepEqual(values('fc3.weight').slice(0, 12), [1, 6, 11, 16, 21, 26, 2, 7, 12, 17, 22, 27]);
  assert.deepEqual(values('fc3.bias'), [5, 4, 3, 2, 1]);
  // Gemm transB: W kept [3, 5], times alpha 2; bias times beta 0.5
  assert.deepEqual(values('fc4.weight'), seq(15).map((v) => 2 * v));
  assert.deepEqual(values('fc4.bias'), [1, 2, 3]);
  assert.deepEqual([...set.tensors.keys()].sort(), ['conv1.bias', 'conv1.weight', 'conv2.weight', 'fc3.bias', 'fc3.weight', 'fc4.bias', 'fc4.weight']);
});

// the smallest graph the reader takes: x -> Flatten -> Gemm -> y
const tail = (input: string) => [node('Flatten', [input], 'flat'), node('Gemm', ['flat', 'fw'], 'y', [int('transB', 1)])];
const tailInit = { fw: { dims: [2, 4], values: seq(8) } };

test('defaults: logits without Softmax, torchvision preprocessing, input sizes read or defaulted, Reshape from an attribute, repeated names', async () => {
  const set = await readOnnx(write({ nodes: tail('x'), inits: tailInit, inputDims: [1, 1, 2, 2], producer: 'pytorch' }));
  assert.deepEqual(set.arch!.layers, [{ type: 'flatten', name: 'flatten' }, { type: 'linear', name: 'fc1', outFeatures: 2, bias: false, relu: false }]);
  assert.deepEqual([set.arch!.output, set.arch!.input, set.arch!.numClasses], ['logits', [1, 2, 2], 2]);
  assert.deepEqual(set.preprocess, PREPROCESS.torchvision);
  // dims 0 (unknown) default to 3 x 224 x 224
  assert.deepEqual((await readOnnx(write({ nodes: tail('x'), inits: tailInit, inputDims: [0, 0, 0, 0] }))).arch!.input, [3, 224, 224]);
  // a data_0 input is the zoo's; Reshape with its shape as an attribute (opset < 5); a second Flatten is a no-op; two pools after conv0 keep unique names
  const zoo = await readOnnx(write({
    inputs: ['data_0'],
    nodes: [
      node('MaxPool', ['data_0'], 'm1', [ints('kernel_shape', [1, 1])]), node('AveragePool', ['m1'], 'm2', [ints('kernel_shape', [1, 1]), str('auto_pad', 'VALID')]),
      node('Reshape', ['m2'], 'r', [ints('shape', [1, -1])]), node('Flatten', ['r'], 'flat'), node('Gemm', ['flat', 'fw'], 'y', [int('transB', 1)]),
    ],
    inits: tailInit,
  }));
  assert.deepEqual(zoo.preprocess, PREPROCESS['bvlc-zoo']);
  assert.deepEqual(zoo.arch!.layers.map((l) => l.name), ['pool0', 'pool0_2', 'flatten', 'fc1']);
  assert.deepEqual(zoo.arch!.layers[1], { type: 'avgPool2d', name: 'pool0_2', kernel: [1, 1], stride: [1, 1], pad: [0, 0, 0, 0], ceil: false, countIncludePad: false });
  // Gemm without transB (W [in, out]) and a Relu that cannot fold (after a pool) is its own layer; Softmax axis -1
  const plain = await readOnnx(write({
    nodes: [node('MaxPool', ['x'], 'm', [ints('kernel_shape', [2, 2])]), node('Relu', ['m'], 'r'), node('Relu', ['r'], 'r2'), ...tail('r2').slice(0, 1),
      node('Gemm', ['flat', 'fw'], 'g'), node('Softmax', ['g'], 'y')],
    inits: { fw: { dims: [4, 2], values: seq(8) } },
  }));
  assert.deepEqual(plain.arch!.layers.map((l) => `${l.type}:${l.name}`), ['maxPool2d:pool0', 'relu:relu2', 'relu:relu3', 'flatten:flatten', 'linear:fc1', 'softmax:prob']);
  assert.deepEqual(Array.from(tensorValues(plain.tensors.get('fc1.weight')!)), [1, 3, 5, 7, 2, 4, 6, 8]);
});

test('refusals: one graph each, the message word for word', async () => {
  const conv = (attrs: object[] = [], input = 'x', w = 'w') => node('Conv', [input, w], 'c', attrs);
  const convInit = { w: { dims: [2, 3, 1, 1], values: seq(6) }, ...tailInit };
  const cases: [string, Graph, string][] = [
    ['no graph', { nodes: [], noGraph: true }, 'expected an ONNX model with a graph but it has none'],
    ['two inputs', { nodes: tail('x'), inits: tailInit, inputs: ['x', 'x2'] }, 'expected one graph input but found 2 (x, x2)'],
    ['3-D input', { nodes: tail('x'), inits: tailInit, inputDims: [1, 4, 4] }, 'expected a 4-D [N,C,H,W] graph input but x has 3 dimensions'],
    ['computed weight', { nodes: [conv([], 'x', 'nowhere'), ...tail('c')], inits: tailInit }, 'expected Conv input nowhere to be an initializer or Constant but it is computed by the graph'],
    ['branch', { nodes: [conv(), node('Relu', ['x'], 'r'), ...tail('r')], inits: convInit }, "expected node Relu -> r (Relu) to take the previous layer's output c but it takes x: only single-chain graphs are supported"],
    ['named branch', { nodes: [conv(), node('Relu', ['x'], 'r', [], { name: 'my relu' }), ...tail('r')], inits: convInit }, "expected node my relu (Relu) to take the previous layer's output c but it takes x: only single-chain graphs are supported"],
    ['pad then relu', { nodes: [node('Pad', ['x'], 'p', [ints('pads', [0, 0, 1, 1, 0, 0, 1, 1])]), node('Relu', ['p'], 'r'), ...tail('r')], inits: tailInit }, 'expected a Conv or pool after Pad but found Relu (Relu -> r)'],
    ['reflect pad', { nodes: [node('Pad', ['x'], 'p', [str('mode', 'reflect'), ints('pads', [0, 0, 1, 1, 0, 0, 1, 1])]), conv([], 'p'), ...tail('c')], inits: convInit }, 'expected Pad mode constant but node Pad -> p uses reflect'],
    ['4 pads', { nodes: [node('Pad', ['x'], 'p', [ints('pads', [1, 1, 1, 1])]), conv([], 'p'), ...tail('c')], inits: convInit }, 'expected 8 pads (N,C,H,W begin and end) for Pad Pad -> p'],
    ['no pads', { nodes: [node('Pad', ['x'], 'p'), conv([], 'p'), ...tail('c')], inits: convInit }, 'expected 8 pads (N,C,H,W begin and end) for Pad Pad -> p'],
    ['channel pad', { nodes: [node('Pad', ['x'], 'p', [ints('pads', [0, 1, 0, 0, 0, 0, 0, 0])]), conv([], 'p'), ...tail('c')], inits: convInit }, 'expected Pad Pad -> p to zero-pad height and width only but found pads [0,1,0,0,0,0,0,0] value 0'],
    ['batch pad', { nodes: [node('Pad', ['x'], 'p', [ints('pads', [0, 0, 0, 0, 1, 0, 0, 0])]), conv([], 'p'), ...tail('c')], inits: convInit }, 'expected Pad Pad -> p to zero-pad height and width only but found pads [0,0,0,0,1,0,0,0] value 0'],
    ['channel end pad', { nodes: [node('Pad', ['x'], 'p', [ints('pads', [0, 0, 0, 0, 0, 1, 0, 0])]), conv([], 'p'), ...tail('c')], inits: convInit }, 'expected Pad Pad -> p to zero-pad height and width only but found pads [0,0,0,0,0,1,0,0] value 0'],
    ['batch begin pad', { nodes: [node('Pad', ['x'], 'p', [ints('pads', [1, 0, 0, 0, 0, 0, 0, 0])]), conv([], 'p'), ...tail('c')], inits: convInit }, 'expected Pad Pad -> p to zero-pad height and width only but found pads [1,0,0,0,0,0,0,0] value 0'],
    ['negative pad', { nodes: [node('Pad', ['x'], 'p', [ints('pads', [0, 0, -1, 0, 0, 0, 0, 0])]), conv([], 'p'), ...tail('c')], inits: convInit }, 'expected Pad Pad -> p to zero-pad height and width only but found pads [0,0,-1,0,0,0,0,0] value 0'],
    ['pad value', { nodes: [node('Pad', ['x', 'pads', 'v'], 'p'), conv([], 'p'), ...tail('c')], inits: { ...convInit, pads: { dims: [8], values: [0, 0, 1, 0, 0, 0, 0, 0], type: 'int64' }, v: { dims: [], values: [1] } } }, 'expected Pad Pad -> p to zero-pad height and width only but found pads [0,0,1,0,0,0,0,0] value 1'],
    ['pad value attribute', { nodes: [node('Pad', ['x'], 'p', [ints('pads', [0, 0, 1, 0, 0, 0, 0, 0]), float('value', -1)]), conv([], 'p'), ...tail('c')], inits: convInit }, 'expected Pad Pad -> p to zero-pad height and width only but found pads [0,0,1,0,0,0,0,0] value -1'],
    ['conv after flatten', { nodes: [node('Flatten', ['x'], 'f'), conv([], 'f'), node('Gemm', ['c', 'fw'], 'y')], inits: convInit }, 'expected a 4-D input for Conv Conv -> c but it follows a Flatten'],
    ['3-D conv weight', { nodes: [conv(), ...tail('c')], inits: { ...tailInit, w: { dims: [2, 3, 1], values: seq(6) } } }, 'expected a 4-D Conv weight for Conv -> c but found [2,3,1]'],
    ['conv dilations', { nodes: [conv([ints('dilations', [1, 2])]), ...tail('c')], inits: convInit }, 'expected dilations 1 for Conv Conv -> c but found [1,2]'],
    ['pad before same', { nodes: [node('Pad', ['x'], 'p', [ints('pads', [0, 0, 1, 1, 0, 0, 1, 1])]), conv([str('auto_pad', 'SAME_UPPER')], 'p'), ...tail('c')], inits: convInit }, 'expected no Pad before Conv Conv -> c with auto_pad SAME_UPPER'],
    ['same lower', { nodes: [conv([str('auto_pad', 'SAME_LOWER')]), ...tail('c')], inits: convInit }, 'expected auto_pad NOTSET, VALID or SAME_UPPER for Conv Conv -> c but found SAME_LOWER'],
    ['2 conv pads', { nodes: [conv([ints('pads', [1, 1])]), ...tail('c')], inits: convInit }, 'expected 4 pads for a 2-D operator but found 2'],
    ['pool after flatten', { nodes: [node('Flatten', ['x'], 'f'), node('MaxPool', ['f'], 'm', [ints('kernel_shape', [1, 1])]), node('Gemm', ['m', 'fw'], 'y')], inits: tailInit }, 'expected a 4-D input for MaxPool MaxPool -> m but it follows a Flatten'],
    ['pool dilations', { nodes: [node('AveragePool', ['x'], 'm', [ints('kernel_shape', [1, 1]), ints('dilations', [2, 2])]), ...tail('m')], inits: tailInit }, 'expected dilations 1 for AveragePool AveragePool -> m but found [2,2]'],
    ['pool same', { nodes: [node('MaxPool', ['x'], 'm', [ints('kernel_shape', [1, 1]), str('auto_pad', 'SAME_UPPER')]), ...tail('m')], inits: tailInit }, 'expected auto_pad NOTSET or VALID for MaxPool MaxPool -> m but found SAME_UPPER'],
    ['pad then max pool of signed values', { nodes: [node('Pad', ['x'], 'p', [ints('pads', [0, 0, 1, 1, 0, 0, 1, 1])]), node('MaxPool', ['p'], 'm', [ints('kernel_shape', [2, 2])]), ...tail('m')], inits: tailInit }, 'expected a non-negative input for MaxPool MaxPool -> m to fold the preceding Pad into it'],
    ['pad after conv then max pool', { nodes: [conv(), node('Pad', ['c'], 'p', [ints('pads', [0, 0, 1, 1, 0, 0, 1, 1])]), node('MaxPool', ['p'], 'm', [ints('kernel_shape', [2, 2])]), ...tail('m')], inits: convInit }, 'expected a non-negative input for MaxPool MaxPool -> m to fold the preceding Pad into it'],
    ['pad then padded avg pool', { nodes: [node('Pad', ['x'], 'p', [ints('pads', [0, 0, 1, 1, 0, 0, 1, 1])]), node('AveragePool', ['p'], 'm', [ints('kernel_shape', [2, 2]), ints('pads', [1, 0, 0, 0])]), ...tail('m')], inits: tailInit }, 'expected count_include_pad 1 for AveragePool AveragePool -> m to fold the preceding Pad into it'],
    ['flatten axis', { nodes: [node('Flatten', ['x'], 'flat', [int('axis', 2)]), node('Gemm', ['flat', 'fw'], 'y')], inits: tailInit }, 'expected Flatten axis 1 for Flatten -> flat but found 2'],
    ['reshape 3-D', { nodes: [node('Reshape', ['x', 's'], 'flat'), node('Gemm', ['flat', 'fw'], 'y')], inits: { ...tailInit, s: { dims: [3], values: [1, 2, -1], type: 'int64' } } }, 'expected Reshape Reshape -> flat to flatten to [batch, features] but its shape is [1,2,-1]'],
    ['gemm without flatten', { nodes: [node('Gemm', ['x', 'fw'], 'y')], inits: tailInit }, 'expected a Flatten or Reshape before Gemm Gemm -> y'],
    ['matmul without flatten', { nodes: [node('MatMul', ['x', 'fw'], 'y')], inits: tailInit }, 'expected a Flatten or Reshape before MatMul MatMul -> y'],
    ['3-D gemm weight', { nodes: tail('x'), inits: { fw: { dims: [2, 4, 1], values: seq(8) } } }, 'expected a 2-D weight for Gemm Gemm -> y but found [2,4,1]'],
    ['transA', { nodes: [node('Flatten', ['x'], 'flat'), node('Gemm', ['flat', 'fw'], 'y', [int('transA', 1)])], inits: tailInit }, 'expected transA 0 for Gemm Gemm -> y'],
    ['gemm bias', { nodes: [node('Flatten', ['x'], 'flat'), node('Gemm', ['flat', 'fw', 'fb'], 'y', [int('transB', 1)])], inits: { ...tailInit, fb: { dims: [3], values: [1, 2, 3] } } }, 'expected a bias of 2 values for Gemm Gemm -> y but found [3]'],
    ['add after gemm with bias', { nodes: [node('Flatten', ['x'], 'flat'), node('Gemm', ['flat', 'fw', 'fb'], 'g', [int('transB', 1)]), node('Add', ['g', 'fb'], 'y')], inits: { ...tailInit, fb: { dims: [2], values: [1, 2] } } }, 'expected Add Add -> y to add a constant bias to a MatMul output'],
    ['add of two outputs', { nodes: [node('Flatten', ['x'], 'flat'), node('MatMul', ['flat', 'fw'], 'g'), node('Add', ['g', 'flat'], 'y')], inits: { fw: { dims: [4, 2], values: seq(8) } } }, 'expected Add Add -> y to add a constant bias to a MatMul output'],
    ['add after relu', { nodes: [node('Flatten', ['x'], 'flat'), node('MatMul', ['flat', 'fw'], 'g'), node('Relu', ['g'], 'r'), node('Add', ['r', 'fb'], 'y')], inits: { fw: { dims: [4, 2], values: seq(8) }, fb: { dims: [2], values: [1, 2] } } }, 'expected Add Add -> y to add a constant bias to a MatMul output'],
    ['add bias size', { nodes: [node('Flatten', ['x'], 'flat'), node('MatMul', ['flat', 'fw'], 'g'), node('Add', ['g', 'fb'], 'y')], inits: { fw: { dims: [4, 2], values: seq(8) }, fb: { dims: [5], values: seq(5) } } }, 'expected a bias of 2 values for Add Add -> y but found [5]'],
    ['softmax axis', { nodes: [...tail('x').slice(0, 1), node('Gemm', ['flat', 'fw'], 'g', [int('transB', 1)]), node('Softmax', ['g'], 'y', [int('axis', 0)])], inits: tailInit }, 'expected Softmax over axis 1 for Softmax -> y but found axis 0'],
    ['unsupported', {
      nodes: [node('Sigmoid', ['x'], 's'), node('Relu', ['s'], 'q', [], { domain: 'com.example' }), { op_type: 'Constant', input: [], output: ['k'], attribute: [float('value_float', 1)] }, ...tail('q')],
      inits: tailInit,
    }, 'unsupported ONNX operators: Sigmoid (Sigmoid -> s), Relu (Relu -> q), Constant (Constant -> k: only value, value_ints, value_int)'],
    ['pad at the end', { nodes: [...tail('x').slice(0, 1), node('Gemm', ['flat', 'fw'], 'g', [int('transB', 1)]), node('Pad', ['g'], 'y', [ints('pads', [0, 0, 1, 1, 0, 0, 1, 1])])], inits: tailInit }, 'expected a Conv or pool after the last Pad but the graph ends'],
    ['other output', { nodes: tail('x'), inits: tailInit, outputs: ['z'] }, 'expected the chain of layers to end in the graph output z but it ends in y'],
    ['no classifier', { nodes: [node('Flatten', ['x'], 'y')] }, 'expected at least one Gemm or MatMul (the classifier) but found none'],
  ];
  for (const [what, graph, message] of cases) {
    const path = write(graph);
    await assert.rejects(readOnnx(path), { code: 'ERR_WEIGHTS', message: `${path}: ${message}` }, what);
  }
  await assertUndecodableAndMissing(readOnnx, scratch, '.onnx', 'an ONNX ModelProto');
});

test('Constant nodes: value, value_ints and value_int feed Reshape and Pad', async () => {
  const viaValue = await readOnnx(write({
    nodes: [
      { op_type: 'Constant', input: [], output: ['s'], attribute: [{ name: 'value', type: 4, t: { dims: [2], data_type: 7, int64_data: [1, -1] } }] },
      node('Reshape', ['x', 's'], 'flat'), node('Gemm', ['flat', 'fw'], 'y', [int('transB', 1)]),
    ],
    inits: tailInit,
  }));
  assert.deepEqual(viaValue.arch!.layers.map((l) => l.type), ['flatten', 'linear']);
  // value_int: a scalar Pad value 0 (the pad amounts from an initializer)
  const viaInt = await readOnnx(write({
    nodes: [
      { op_type: 'Constant', input: [], output: ['v'], attribute: [int('value_int', 0)] },
      node('Pad', ['x', 'pads'], 'p'), node('AveragePool', ['p'], 'm', [ints('kernel_shape', [2, 2])]), ...tail('m'),
    ],
    inits: { ...tailInit, pads: { dims: [8], values: [0, 0, 0, 1, 0, 0, 2, 0], type: 'int64' } },
  }));
  // a Pad before an average pool is counted: count_include_pad becomes 1
  assert.deepEqual(viaInt.arch!.layers[0], { type: 'avgPool2d', name: 'pool0', kernel: [2, 2], stride: [1, 1], pad: [0, 1, 2, 0], ceil: false, countIncludePad: true });
  // value_int is one INT64 value: as a Reshape shape it is [7] (refused: not [batch, features], and named as read)
  await assert.rejects(readOnnx(write({
    nodes: [{ op_type: 'Constant', input: [], output: ['k'], attribute: [int('value_int', 7)] }, node('Reshape', ['x', 'k'], 'flat'), node('Gemm', ['flat', 'fw'], 'y', [int('transB', 1)])],
    inits: tailInit,
  })), /expected Reshape .+ to flatten to \[batch, features\] but its shape is \[7\]$/);
  // and it is a scalar (dims []): as a Gemm weight it is refused as 0-D, its dims named
  const scalarWeight = write({
    nodes: [{ op_type: 'Constant', input: [], output: ['k'], attribute: [int('value_int', 7)] }, node('Flatten', ['x'], 'flat'), node('Gemm', ['flat', 'k'], 'y', [int('transB', 1)])],
  });
  await assert.rejects(readOnnx(scalarWeight), { code: 'ERR_WEIGHTS', message: `${scalarWeight}: expected a 2-D weight for Gemm Gemm -> y but found []` });
  // an integer tensor where a float weight goes: refused with its ONNX data type (INT64 is 7)
  const intWeight = write({ nodes: [node('Flatten', ['x'], 'flat'), node('Gemm', ['flat', 'fw'], 'y', [int('transB', 1), float('alpha', 2)])], inits: { fw: { dims: [2, 4], values: seq(8), type: 'int64' } } });
  await assert.rejects(readOnnx(intWeight), { code: 'ERR_WEIGHTS', message: `${intWeight}: expected a float tensor for fw but found ONNX data type 7` });
});

test('integer initializers as raw little-endian bytes (INT64 and INT32) feed Pad', async () => {
  const le64 = (v: number[]) => { const b = Buffer.alloc(8 * v.length); v.forEach((x, i) => b.writeBigInt64LE(BigInt(x), 8 * i)); return b; };
  const le32 = (v: number[]) => { const b = Buffer.alloc(4 * v.length); v.forEach((x, i) => b.writeInt32LE(x, 4 * i)); return b; };
  for (const [dataType, raw] of [[7, le64([0, 0, 1, 2, 0, 0, 3, 4])], [6, le32([0, 0, 1, 2, 0, 0, 3, 4])]] as [number, Buffer][]) {
    const path = write({ nodes: [node('Pad', ['x', 'pads'], 'p'), node('Conv', ['p', 'w'], 'c'), ...tail('c')], inits: { w: { dims: [2, 3, 1, 1], values: seq(6) }, ...tailInit } });
    // swap in the raw initializer (write() writes int64_data / float_data only)
    const type = onnxRoot().lookupType('onnx.ModelProto');
    const model = type.toObject(type.decode(readFileSync(path))) as { graph: { initializer: object[] } };
    model.graph.initializer.push({ name: 'pads', dims: [8], data_type: dataType, raw_data: raw });
    writeFileSync(path, type.encode(type.fromObject(model)).finish());
    const set = await readOnnx(path);
    assert.deepEqual((set.arch!.layers[0] as { pad: number[] }).pad, [1, 2, 3, 4], `data type ${dataType}`);
  }
});

test('exported graphs declare their input and output shapes: a batch parameter, then C, H, W / classes', () => {
  const arch = buildArchitecture('torchvision', 5);
  const tensors = new Map([...parameterShapes(arch)].map(([k, shape]) => [k, { shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) }]));
  const type = onnxRoot().lookupType('onnx.ModelProto');
  const model = type.toObject(type.decode(encodeOnnx(arch, tensors)), { longs: Number }) as { graph: { input: { type: { tensor_type: { shape: { dim: object[] } } } }[]; output: { type: { tensor_type: { shape: { dim: object[] } } } }[] } };
  assert.deepEqual(model.graph.input[0].type.tensor_type.shape.dim, [{ dim_param: 'batch' }, { dim_value: 3 }, { dim_value: 224 }, { dim_value: 224 }]);
  assert.deepEqual(model.graph.output[0].type.tensor_type.shape.dim, [{ dim_param: 'batch' }, { dim_value: 5 }]);
});

test('the opset is the default domain\'s, named "" or "ai.onnx", not another domain\'s', async () => {
  for (const [opsets, expected] of [
    [[{ domain: 'ai.onnx.ml', version: 3 }, { domain: 'ai.onnx', version: 11 }], '11'],
    [[{ domain: 'ai.onnx.ml', version: 3 }, { version: 12 }], '12'],
    [[{ domain: 'ai.onnx.ml', version: 3 }], undefined],
  ] as [{ domain?: string; version: number }[], string | undefined][]) {
    const set = await readOnnx(write({ nodes: tail('x'), inits: tailInit, inputDims: [1, 1, 2, 2], opsets }));
    assert.equal(set.metadata.opset, expected, JSON.stringify(opsets));
  }
});

test('Reshape from an INT32 initializer without values is refused, naming the empty shape', async () => {
  const path = write({ nodes: [node('Reshape', ['x', 'shape'], 'flat'), node('Gemm', ['flat', 'fw'], 'y', [int('transB', 1)])], inits: tailInit, inputDims: [1, 1, 2, 2] });
  const type = onnxRoot().lookupType('onnx.ModelProto');
  const model = type.toObject(type.decode(readFileSync(path))) as { graph: { initializer: object[] } };
  // INT32 (6), no int32_data and no raw_data: zero values
  model.graph.initializer.push({ name: 'shape', dims: [0], data_type: 6 });
  writeFileSync(path, type.encode(type.fromObject(model)).finish());
  await assert.rejects(readOnnx(path), /expected Reshape .+ to flatten to \[batch, features\] but its shape is \[\]$/);
});

test('external data: offset and length must be plain non-negative integers ("-8", " 8", "8 ", "+8" are refused)', async () => {
  const dir = mkdtempSync(join(scratch, 'external-'));
  const data = Buffer.alloc(64);
  for (let i = 0; i < 8; i++) data.writeFloatLE(i + 1, 32 + 4 * i);
  writeFileSync(join(dir, 'fw.data'), data);
  const withExternal = (entries: { key: string; value: string }[]) => {
    const inner = write({ nodes: tail('x'), inits: {}, inputDims: [1, 1, 2, 2] });
    const type = onnxRoot().lookupType('onnx.ModelProto');
    const model = type.toObject(type.decode(readFileSync(inner))) as { graph: { initializer?: object[] } };
    model.graph.initializer = [...(model.graph.initializer ?? []), { name: 'fw', dims: [2, 4], data_type: 1, data_location: 1, external_data: [{ key: 'location', value: 'fw.data' }, ...entries] }];
    const path = join(dir, `m${fileCount++}.onnx`);
    writeFileSync(path, type.encode(type.fromObject(model)).finish());
    return path;
  };
  // the values at byte 32: 1..8
  const good = await readOnnx(withExternal([{ key: 'offset', value: '32' }, { key: 'length', value: '32' }]));
  assert.deepEqual(Array.from(tensorValues(good.tensors.get('fc1.weight')!)), seq(8));
  for (const [key, text] of [['offset', '-8'], ['offset', ' 32'], ['offset', '32 '], ['offset', '+32'], ['length', '-32'], ['length', ' 32']]) {
    const entries = [{ key: 'offset', value: '32' }, { key: 'length', value: '32' }].map((e) => (e.key === key ? { key, value: text } : e));
    await assert.rejects(readOnnx(withExternal(entries)), { message: new RegExp(`expected a non-negative integer ${key} for external tensor fw but found "${text.replace('+', '\\+')}"$`) }, `${key} "${text}"`);
  }
  // a length that is not the tensor's 2x4 float32s (32 bytes), named with its dims
  const short = withExternal([{ key: 'offset', value: '32' }, { key: 'length', value: '16' }]);
  await assert.rejects(readOnnx(short), { code: 'ERR_WEIGHTS', message: `${short}: expected 32 bytes of external data for tensor fw [2,4] but its length is 16` });
});

test('a QDQ export: per-tensor activation scale and zero point are scalars (dims []), weight scales one per output', () => {
  // conv 1x1 (2 out) -> flatten -> fc (2 out), the fc in int8; ONNX QuantizeLinear: a per-tensor y_scale / y_zero_point is a scalar
  const arch = {
    name: 'qdq', input: [1, 2, 2] as [number, number, number], preprocess: PREPROCESS.torchvision, output: 'logits' as const, numClasses: 2,
    layers: [
      { type: 'conv2d' as const, name: 'c1', outChannels: 2, kernel: [1, 1] as [number, number], stride: [1, 1] as [number, number], pad: [0, 0, 0, 0] as [number, number, number, number], groups: 1, bias: true, relu: true },
      { type: 'flatten' as const, name: 'f' },
      { type: 'linear' as const, name: 'fc', outFeatures: 2, bias: true, relu: false },
    ],
  };
  const tensors = new Map([...parameterShapes(arch)].map(([k, shape]) => [k, { shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.5) }]));
  const int8 = new Map([['fc', { weight: { q: new Int8Array(16).fill(3), scales: Float32Array.of(0.25, 0.5) }, input: { scale: 0.125, zeroPoint: 7 } }]]);
  const type = onnxRoot().lookupType('onnx.ModelProto');
  const model = type.toObject(type.decode(encodeOnnx(arch, tensors, { int8 })), { longs: Number }) as { graph: { initializer: { name: string; dims?: number[]; data_type: number }[] } };
  const dims = (prefix: string) => model.graph.initializer.filter((t) => t.name.startsWith(prefix)).map((t) => [t.name, t.dims ?? [], t.data_type]);
  // FLOAT is 1, UINT8 2, INT8 3 (TensorProto.DataType)
  assert.deepEqual(dims('fc.input_scale'), dims('fc.input_scale').map(([name]) => [name, [], 1]));
  assert.deepEqual(dims('fc.input_zero_point'), dims('fc.input_zero_point').map(([name]) => [name, [], 2]));
  assert.ok(dims('fc.input_scale').length >= 1 && dims('fc.input_zero_point').length >= 1);
  assert.deepEqual(dims('fc.weight_scale'), [['fc.weight_scale', [2], 1]]);
  assert.deepEqual(dims('fc.weight_quantized'), [['fc.weight_quantized', [2, 8], 3]]);
  assert.deepEqual(dims('fc.bias_quantized'), [['fc.bias_quantized', [2], 6]]);
  // the same fc without a bias: no bias initializers, the Gemm takes the dequantized weight only
  const noBias = { ...arch, layers: arch.layers.map((l) => (l.name === 'fc' ? { ...l, bias: false } : l)) };
  const noBiasTensors = new Map([...tensors].filter(([k]) => k !== 'fc.bias'));
  const m2 = type.toObject(type.decode(encodeOnnx(noBias, noBiasTensors, { int8 })), { longs: Number }) as { graph: { initializer: { name: string }[]; node: { op_type: string; input: string[] }[] } };
  assert.deepEqual(m2.graph.initializer.map((t) => t.name).filter((n) => n.startsWith('fc.bias')), []);
  assert.deepEqual(m2.graph.node.filter((n) => n.op_type === 'Gemm').map((n) => n.input.slice(1)), [['fc.weight']]);
});

test('export: an average pool and an adaptive pool to 3x1 become AveragePool nodes (kernel = input / output), only 1x1 becomes GlobalAveragePool', () => {
  // input 2x6x4: conv 1x1 (2 out) 6x4 -> avg pool 2x2/2 with pads [0,0,0,0] 3x2 -> adaptive 3x1 (kernel [1,2]) -> flatten 6 -> fc 2
  const arch = {
    name: 'pools', input: [2, 6, 4] as [number, number, number], preprocess: PREPROCESS.torchvision, output: 'logits' as const, numClasses: 2,
    layers: [
      { type: 'conv2d' as const, name: 'c1', outChannels: 2, kernel: [1, 1] as [number, number], stride: [1, 1] as [number, number], pad: [0, 0, 0, 0] as [number, number, number, number], groups: 1, bias: false, relu: false },
      { type: 'avgPool2d' as const, name: 'ap', kernel: [2, 2] as [number, number], stride: [2, 2] as [number, number], pad: [0, 0, 0, 0] as [number, number, number, number], ceil: false, countIncludePad: true },
      { type: 'adaptiveAvgPool2d' as const, name: 'aa', output: [3, 1] as [number, number] },
      { type: 'flatten' as const, name: 'f' },
      { type: 'linear' as const, name: 'fc', outFeatures: 2, bias: false, relu: false },
    ],
  };
  const tensors = new Map([...parameterShapes(arch)].map(([k, shape]) => [k, { shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) }]));
  const type = onnxRoot().lookupType('onnx.ModelProto');
  const decoded = (a: typeof arch) => (type.toObject(type.decode(encodeOnnx(a, tensors)), { longs: Number }) as { graph: { node: { op_type: string; attribute?: { name: string; i?: number; ints?: number[] }[] }[] } }).graph.node
    .map((n) => [n.op_type, ...(n.attribute ?? []).filter((x) => x.ints !== undefined || x.i !== undefined).map((x) => `${x.name}=${x.ints?.join(',') ?? x.i}`)].join(' '));
  assert.deepEqual(decoded(arch), [
    'Conv kernel_shape=1,1 strides=1,1 pads=0,0,0,0 group=1 dilations=1,1',
    'AveragePool kernel_shape=2,2 strides=2,2 pads=0,0,0,0 ceil_mode=0 count_include_pad=1',
    'AveragePool kernel_shape=1,2 strides=1,2',
    'Flatten axis=1',
    'Gemm transB=1',
  ]);
  // the same network pooling to 1x1: GlobalAveragePool (fc now takes 2 features)
  const global = { ...arch, layers: arch.layers.map((l) => (l.type === 'adaptiveAvgPool2d' ? { ...l, output: [1, 1] as [number, number] } : l)) };
  const fc = new Map([...tensors].map(([k, t]) => [k, k === 'fc.weight' ? { shape: [2, 2], data: new Float32Array(4) } : t]));
  const globalNodes = (type.toObject(type.decode(encodeOnnx(global, fc)), { longs: Number }) as { graph: { node: { op_type: string }[] } }).graph.node.map((n) => n.op_type);
  assert.deepEqual(globalNodes, ['Conv', 'AveragePool', 'GlobalAveragePool', 'Flatten', 'Gemm']);
});

test('float32 weights are carried bit for bit: a Gemm with alpha and beta 1 keeps a signaling NaN\'s bits (no scaling pass)', async () => {
  // IEEE 754 binary32: 0x7f800001 is a signaling NaN, 0x7fc00000 the quiet one; multiplying quiets it
  const bits = Uint32Array.of(0x3f800000, 0x7f800001, 0x80000000, 0x00000001, 0xff800001, 0x40000000, 0x7f7fffff, 0x00800000);
  const raw = (u: Uint32Array) => new Uint8Array(u.buffer.slice(0));
  const path = write({ nodes: [node('Flatten', ['x'], 'flat'), node('Gemm', ['flat', 'fw', 'fb'], 'y', [int('transB', 1)])], inputDims: [1, 1, 2, 2] });
  const type = onnxRoot().lookupType('onnx.ModelProto');
  const model = type.toObject(type.decode(readFileSync(path))) as { graph: { initializer?: object[] } };
  model.graph.initializer = [
    { name: 'fw', dims: [2, 4], data_type: 1, raw_data: raw(bits) },
    { name: 'fb', dims: [2], data_type: 1, raw_data: raw(bits.subarray(0, 2).slice()) },
  ];
  writeFileSync(path, type.encode(type.fromObject(model)).finish());
  const set = await readOnnx(path);
  const bitsOf = (name: string) => { const v = tensorValues(set.tensors.get(name)!); return Array.from(new Uint32Array(v.buffer, v.byteOffset, v.length)); };
  assert.deepEqual(bitsOf('fc1.weight'), Array.from(bits));
  assert.deepEqual(bitsOf('fc1.bias'), [0x3f800000, 0x7f800001]);
});

test('external data: a file cut between the size check and the read (another writer) is refused as shorter, not read short', async () => {
  const dir = mkdtempSync(join(scratch, 'external-cut-'));
  const data = Buffer.alloc(64);
  for (let i = 0; i < 8; i++) data.writeFloatLE(i + 1, 32 + 4 * i);
  writeFileSync(join(dir, 'fw.data'), data);
  const inner = write({ nodes: [node('Flatten', ['x'], 'flat'), node('Gemm', ['flat', 'fw'], 'y', [int('transB', 1), float('alpha', 2)])], inputDims: [1, 1, 2, 2] });
  const type = onnxRoot().lookupType('onnx.ModelProto');
  const model = type.toObject(type.decode(readFileSync(inner))) as { graph: { initializer?: object[] } };
  model.graph.initializer = [{ name: 'fw', dims: [2, 4], data_type: 1, data_location: 1, external_data: [{ key: 'location', value: 'fw.data' }, { key: 'offset', value: '32' }, { key: 'length', value: '32' }] }];
  const path = join(dir, 'cut.onnx');
  writeFileSync(path, type.encode(type.fromObject(model)).finish());
  // alpha 2: the values are read (and scaled) while the graph is read; uncut they are 2, 4, ..., 16
  assert.deepEqual(Array.from(tensorValues((await readOnnx(path)).tensors.get('fc1.weight')!)), seq(8).map((v) => 2 * v));
  // the file is cut to 40 bytes right after the reader's stat of it, before it opens it
  const location = realpathSync(join(dir, 'fw.data'));
  const statSync = fs.statSync;
  let cuts = 0;
  fs.statSync = ((p: string, o?: object) => {
    const stats = statSync(p, o as undefined);
    if (p === location && cuts++ === 0) truncateSync(location, 40);
    return stats;
  }) as typeof fs.statSync;
  syncBuiltinESMExports();
  try {
    await assert.rejects(readOnnx(path), { code: 'ERR_WEIGHTS', message: `${path}: expected 32 bytes of tensor fw at offset 32 of ${location} but the file is shorter` });
  } finally {
    fs.statSync = statSync;
    syncBuiltinESMExports();
  }
  assert.equal(cuts, 1);
});

test('metadata_props preprocess is checked like safetensors metadata: one line naming the file', async () => {
  const good = JSON.stringify({ ...PREPROCESS.torchvision, resize: [2, 2], crop: null, resizeMode: 'exact' });
  const graph = (preprocess: string) => write({ nodes: tail('x'), inits: tailInit, inputDims: [1, 1, 2, 2], metadata: { preprocess } });
  assert.equal(resolveWeights(await readOnnx(graph(good))).preprocess.resizeMode, 'exact');
  for (const [preprocess, message] of [
    ['{bad', 'expected JSON in the metadata preprocess but found text that does not parse: "{bad"'],
    [good.replace('"mean":[0.485,0.456,0.406]', '"mean":"x"'), 'expected metadata preprocess.mean to be 3 numbers finite in float32 but found "x"'],
    [good.replace('"std":[0.229,0.224,0.225]', '"std":[0,0,0]'), 'expected metadata preprocess.std to be 3 numbers above 0 whose reciprocals are finite in float32 but found [0,0,0]'],
    [good.replace('"resize":[2,2]', '"resize":[100000,100000]'), 'expected metadata preprocess.resize to be a size of at most 67108864 pixels but found [100000,100000]'],
  ]) {
    const path = graph(preprocess);
    const set = await readOnnx(path);
    assert.throws(() => resolveWeights(set), { code: 'ERR_WEIGHTS', message: `${path}: ${message}` });
  }
});

test('a graph\'s sizes, strides and pads are checked where the network is built from it, naming the file', async () => {
  const conv = (attrs: object[]) => node('Conv', ['x', 'w'], 'c', attrs);
  const convInit = { w: { dims: [2, 3, 1, 1], values: seq(6) }, ...tailInit };
  // the control: the same graph with plain attributes resolves
  // 2 channels of 1x2 into the 4 features of the tail's Gemm
  const good = write({ nodes: [conv([ints('strides', [1, 1])]), ...tail('c')], inits: convInit, inputDims: [1, 3, 1, 2] });
  assert.equal(resolveWeights(await readOnnx(good)).arch.layers[0].type, 'conv2d');
  const cases: [string, object[], RegExp][] = [
    ['a zero stride', [ints('strides', [0, 1])], /: expected a graph\.layers\[0\]\.stride \(conv2d .*\) to be 2 integers from 1 to 16777216 but found \[0,1\]$/],
    ['a negative pad', [ints('pads', [0, -1, 0, 0])], /: expected a graph\.layers\[0\]\.pad \(conv2d .*\) to be 'same' or 4 integers from 0 to 16777216 but found \[0,-1,0,0\]$/],
  ];
  for (const [what, attrs, message] of cases) {
    const path = write({ nodes: [conv(attrs), ...tail('c')], inits: convInit, inputDims: [1, 3, 1, 2] });
    const set = await readOnnx(path);
    assert.throws(() => resolveWeights(set), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'ERR_WEIGHTS', what);
      assert.ok(e.message.startsWith(`${path}: `), `${what}: ${e.message}`);
      assert.match(e.message, message, what);
      return true;
    });
  }
});
