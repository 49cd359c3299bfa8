// The int8 file (lib/quantize/file.ts) when it is not what quantize wrote: every reader of it refuses it with
// the same one line naming the file. `convert --precision int8` (the QDQ export) and the model loader
// (loadModel) are run on each hostile file, which is made here from a good one written by writeInt8Model.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../lib/index.js';
import { inferShapes } from '../lib/model/shapes.js';
import { readInt8Model, writeInt8Model, type Int8Layer } from '../lib/quantize/file.js';
import { quantizeWeights } from '../lib/quantize/quant.js';
import { randomArray, TINY_INT8_ARCH } from './reference.js';

const cli = fileURLToPath(new URL('../bin/alexnet-cli.js', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'alexnet-quantize-file-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const ARCH = TINY_INT8_ARCH;
const INPUT_QUANT: Record<string, { scale: number; zeroPoint: number }> = {
  conv1: { scale: 1 / 64, zeroPoint: 128 }, conv2: { scale: 1 / 32, zeroPoint: 0 }, fc6: { scale: 1 / 16, zeroPoint: 0 }, fc8: { scale: 1 / 8, zeroPoint: 0 },
};

/** a good int8 file of the tiny network, as quantize writes it */
function goodFile(path: string): void {
  const layers: Int8Layer[] = inferShapes(ARCH).filter((l) => l.spec.type === 'conv2d' || l.spec.type === 'linear').map((l, i) => {
    const name = l.spec.name;
    const weightShape = l.params.get(`${name}.weight`)!;
    const count = weightShape.reduce((a, b) => a * b, 1);
    return {
      name, weightShape, weight: quantizeWeights(randomArray(count, 10 + i, 0.2), weightShape[0]),
      bias: randomArray(weightShape[0], 20 + i, 0.1), input: INPUT_QUANT[name],
    };
  });
  writeInt8Model(path, { arch: ARCH, preprocess: ARCH.preprocess, calibration: { method: 'test' }, layers });
}

type Header = Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }> & { __metadata__: Record<string, string> };

/** `src` with its JSON header and data section edited (a safetensors file as a hostile tool would write it) */
function mutated(src: string, name: string, edit: (h: Header, data: Buffer) => void): string {
  const bytes = readFileSync(src);
  const length = Number(bytes.readBigUInt64LE(0));
  const h = JSON.parse(bytes.subarray(8, 8 + length).toString('utf8')) as Header;
  const data = Buffer.from(bytes.subarray(8 + length));
  edit(h, data);
  let json = JSON.stringify(h);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const path = join(scratch, `${name}.safetensors`);
  writeFileSync(path, Buffer.concat([head, Buffer.from(json), data]));
  return path;
}

/** every F32 value of tensor `name` set to `value` */
const setF32 = (name: string, value: number) => (h: Header, data: Buffer) => {
  const [begin, end] = h[name].data_offsets;
  for (let o = begin; o < end; o += 4) data.writeFloatLE(value, o);
};

function convertInt8(path: string) {
  const onnx = path.replace(/\.safetensors$/, '.onnx');
  const r = spawnSync(process.execPath, [cli, 'convert', '--precision', 'int8', path, onnx], { encoding: 'utf8' });
  return { ...r, wrote: existsSync(onnx) };
}

const GOOD = join(scratch, 'good.safetensors');
goodFile(GOOD);

test('the good file: convert exports it, the loader loads it, readInt8Model reads it back', async () => {
  const r = convertInt8(GOOD);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.wrote);
  const model = await loadModel({ weights: GOOD });
  model.dispose();
  const back = await readInt8Model(GOOD);
  assert.deepEqual(back.arch, ARCH);
  assert.deepEqual(back.layers.map((l) => l.input), ['conv1', 'conv2', 'fc6', 'fc8'].map((n) => INPUT_QUANT[n]));
});

/**
 * [case, edit, the one line (after "<file>: ")]: what the loader already refused before convert shared its
 * checks; both must now refuse it in the same words
 */
const REFUSED_BY_BOTH: Array<[string, (h: Header, data: Buffer) => void, string]> = [
  ['weight scales NaN', setF32('conv2.weight_scale', NaN), 'expected conv2.weight_scale values > 0 whose 127 steps stay finite in fp32 but found NaN at element 0'],
  ['weight scales negative', setF32('conv2.weight_scale', -1), 'expected conv2.weight_scale values > 0 whose 127 steps stay finite in fp32 but found -1 at element 0'],
  ['weight scales zero', setF32('conv2.weight_scale', 0), 'expected conv2.weight_scale values > 0 whose 127 steps stay finite in fp32 but found 0 at element 0'],
  ['weight scales infinite', setF32('conv2.weight_scale', Infinity), 'expected conv2.weight_scale values > 0 whose 127 steps stay finite in fp32 but found Infinity at element 0'],
  ['input scale zero', setF32('conv2.input_scale', 0), 'expected a conv2.input_scale > 0 whose reciprocal and 255 steps stay finite in fp32 but found 0'],
  ['input scale NaN', setF32('conv2.input_scale', NaN), 'expected a conv2.input_scale > 0 whose reciprocal and 255 steps stay finite in fp32 but found NaN'],
  ['input scale negative', setF32('conv2.input_scale', -0.5), 'expected a conv2.input_scale > 0 whose reciprocal and 255 steps stay finite in fp32 but found -0.5'],
  // finite and > 0, yet the runtime could not run them: 1 / 1e-45 and 127 x 3e38 overflow fp32
  ['an input scale whose reciprocal overflows fp32', setF32('conv2.input_scale', 1e-45),
    'expected a conv2.input_scale > 0 whose reciprocal and 255 steps stay finite in fp32 but found 1.401298464324817e-45'],
  ['an input scale whose range overflows fp32', setF32('conv2.input_scale', 3e38),
    'expected a conv2.input_scale > 0 whose reciprocal and 255 steps stay finite in fp32 but found 3.0000000054977558e+38'],
  ['a weight scale whose largest weight overflows fp32', setF32('conv2.weight_scale', 3e38),
    'expected conv2.weight_scale values > 0 whose 127 steps stay finite in fp32 but found 3.0000000054977558e+38 at element 0'],
  // metadata no reader could use: refused where the loader reads it, in its words, before any comparison
  ['preprocess with std 0', (h) => {
    h.__metadata__.preprocess = JSON.stringify({ ...ARCH.preprocess, std: [0, 0, 0] });
  }, 'expected metadata preprocess.std to be 3 numbers above 0 whose reciprocals are finite in float32 but found [0,0,0]'],
  ['preprocess that is not JSON', (h) => { h.__metadata__.preprocess = '{bad'; },
    'expected JSON in the metadata preprocess but found text that does not parse: "{bad"'],
  ['architecture that is not JSON', (h) => { h.__metadata__.architecture = '{bad'; },
    'expected JSON in the metadata architecture but found text that does not parse: "{bad"'],
  ['biases NaN', setF32('fc8.bias', NaN),
    'expected finite weights but tensor fc8.bias [5] holds 5 NaN or Inf values, the first at element 0 (NaN or Inf would make every prediction NaN)'],
  ['a zero point of shape [1]', (h) => { h['conv1.input_zero_point'].shape = [1]; },
    'expected int8 tensor conv1.weight to come with conv1.input_zero_point [] but found [1]'],
  ['a weight with a fifth dimension', (h) => { h['conv1.weight'].shape = [8, 3, 5, 5, 1]; },
    'expected the tensors of architecture tiny-int8: conv1.weight [8,3,5,5] but found [8,3,5,5,1]'],
  ['a scalar fc8.weight', (h) => {
    const [w, s] = [h['fc8.weight'], h['fc8.weight_scale']];
    w.shape = [];
    w.data_offsets = [w.data_offsets[0], w.data_offsets[0] + 1];
    s.shape = [];
    s.data_offsets = [s.data_offsets[0], s.data_offsets[0] + 4];
  }, 'expected the tensors of architecture tiny-int8: fc8.weight [5,20] but found []'],
  ['a weight whose shape is not the architecture\'s (same size)', (h) => { h['conv2.weight'].shape = [12, 3, 4, 3]; },
    'expected the tensors of architecture tiny-int8: conv2.weight [12,4,3,3] but found [12,3,4,3]'],
];

/** `path` (a mutated copy of GOOD) refused by convert --precision int8 with exactly `message`, writing nothing, and by `read` likewise */
async function refusedByConvertAnd(path: string, message: string, read: (path: string) => Promise<unknown>): Promise<void> {
  const r = convertInt8(path);
  assert.equal(r.stderr, `alexnet-cli: ${path}: ${message}\n`);
  assert.equal(r.status, 1);
  assert.equal(r.wrote, false, 'no ONNX file is written');
  await assert.rejects(read(path), { message: `${path}: ${message}`, code: 'ERR_WEIGHTS' });
}

describe('a corrupt int8 file: convert --precision int8 and the loader refuse it alike', () => {
  for (const [name, edit, message] of REFUSED_BY_BOTH) {
    test(name, () => refusedByConvertAnd(mutated(GOOD, name.replace(/\W+/g, '-'), edit), message, (path) => loadModel({ weights: path })));
  }
});

/**
 * What only an int8 reader checks (the loader runs the network from arch / numClasses / architecture and never
 * reads alexnet.architecture): convert refuses them
 */
const REFUSED_BY_CONVERT: Array<[string, (h: Header, data: Buffer) => void, string]> = [
  ['alexnet.architecture null', (h) => { h.__metadata__['alexnet.architecture'] = 'null'; },
    'expected metadata alexnet.architecture to be an object but found null'],
  ['alexnet.architecture {}', (h) => { h.__metadata__['alexnet.architecture'] = '{}'; },
    'expected metadata alexnet.architecture.name to be a non-empty string but found none'],
  ['alexnet.architecture of another network', (h) => {
    const arch = JSON.parse(h.__metadata__['alexnet.architecture']);
    arch.layers[2].stride = [2, 2];
    h.__metadata__['alexnet.architecture'] = JSON.stringify(arch);
  }, 'expected the metadata alexnet.architecture to agree with the network the loader builds from the metadata architecture, arch and numClasses (tiny-int8, 5 classes) but found layer 2 (conv2) stride [2,2] in alexnet.architecture, [1,1] in the loader\'s'],
  ['alexnet.preprocessing not the preprocessing loaded', (h) => {
    h.__metadata__.preprocess = JSON.stringify({ ...ARCH.preprocess, std: [0.5, 0.5, 0.5] });
  }, 'expected the metadata alexnet.preprocessing to agree with the preprocessing the loader uses (the metadata preprocess, else the architecture\'s) but found std [1,1,1] in alexnet.preprocessing, [0.5,0.5,0.5] in the loader\'s'],
];

describe('a corrupt int8 file: what convert checks beyond the loader', () => {
  for (const [name, edit, message] of REFUSED_BY_CONVERT) {
    test(name, () => refusedByConvertAnd(mutated(GOOD, name.replace(/\W+/g, '-'), edit), message, readInt8Model));
  }
});

// quantize before 7 Dec 2026 wrote a network that is not one of the named ones only as alexnet.architecture (no
// `architecture` key): convert --precision int8 still exports such a file, from that
test('an int8 file of a custom network without the architecture key (older quantize) still converts', async () => {
  const path = mutated(GOOD, 'no-architecture-key', (h) => { delete h.__metadata__.architecture; });
  const r = convertInt8(path);
  assert.equal(r.stderr, '');
  assert.equal(r.status, 0);
  assert.equal(r.wrote, true);
  assert.deepEqual((await readInt8Model(path)).arch, ARCH);
});
