// The library as a user imports it: the package's own name, its exports and emitted types.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

test('import { loadModel } from "alexnet-cli": classify paths and forward a tensor', async () => {
  const api = await import('alexnet-cli');
  assert.equal(typeof api.loadModel, 'function');
  assert.deepEqual([...api.ARCH_NAMES], ['seed', 'caffe', 'torchvision']);
  const model = await api.loadModel({ arch: 'torchvision', weights: 'random:3' });
  const image = fileURLToPath(new URL('../../test/fixtures/images/coffee-baseline.jpg', import.meta.url));
  const [result] = await model.classify([image], { top: 2 });
  assert.equal(result.input, image);
  assert.equal(result.predictions.length, 2);
  const scores = await model.forward(new Float32Array(3 * 224 * 224), [1, 3, 224, 224]);
  assert.equal(scores.length, 1000);
  model.dispose();
});

test('model.classify takes encoded images as Buffers and raw pixels with their size; transforms() is the preprocessing', async () => {
  const api = await import('alexnet-cli');
  const { readFileSync } = await import('node:fs');
  const model = await api.loadModel({ arch: 'torchvision', weights: 'random:3' });
  const path = fileURLToPath(new URL('../../test/fixtures/images/astronaut.png', import.meta.url));
  const webp = fileURLToPath(new URL('../../test/fixtures/images/formats/lossless-alpha.webp', import.meta.url));
  const rgb = await api.decodeImage(path);
  const rgba = new Uint8Array(rgb.width * rgb.height * 4);
  for (let i = 0; i < rgb.width * rgb.height; i++) {
    rgba.set(rgb.data.subarray(3 * i, 3 * i + 3), 4 * i);
    rgba[4 * i + 3] = i % 256;  // alpha is dropped, as Pillow's convert('RGB')
  }
  const results = await model.classify([
    path,
    readFileSync(path),
    new Uint8Array(readFileSync(webp)),
    { data: readFileSync(path), name: 'named.png' },
    { data: rgb.data, width: rgb.width, height: rgb.height, channels: 3 },
    { data: rgba, width: rgb.width, height: rgb.height },
  ], { top: 3 });
  assert.deepEqual(results.map((r) => r.input), [path, '<buffer 1>', '<buffer 2>', 'named.png', '<buffer 4>', '<buffer 5>']);
  for (const i of [1, 3, 4, 5]) assert.deepEqual(results[i].predictions, results[0].predictions, results[i].input);
  // transforms(): the tensor classify feeds the network, for any input kind
  const transforms = model.transforms();
  assert.deepEqual(transforms.outputShape, [3, 224, 224]);
  assert.deepEqual(transforms.preprocess, model.preprocess);
  const tensor = await transforms(readFileSync(path));
  assert.equal(tensor.length, 3 * 224 * 224);
  const probs = await model.probabilities(tensor, [1, 3, 224, 224]);
  // batch of one here, of six above: the same up to the float32 summation order
  assert.ok(Math.abs(probs[results[0].predictions[0].index] - results[0].predictions[0].probability) < 1e-5);
  // a wrong size is one failure naming the input, the others still classified
  const mixed = await model.classifyEach([{ data: rgb.data, width: rgb.width + 1, height: rgb.height }, readFileSync(path)], { top: 1 });
  assert.deepEqual(mixed[0], { input: '<buffer 0>', error: `<buffer 0>: expected 1, 3 or 4 channels (grey, RGB, RGBA) but found ${rgb.data.length} bytes for ${rgb.width + 1}x${rgb.height}`, code: 'ERR_IMAGE' });
  assert.equal(mixed[1].input, '<buffer 1>');
  await assert.rejects(model.classify([{ data: rgb.data, width: rgb.width, height: rgb.height, channels: 4 }]), {
    code: 'ERR_IMAGE', message: `<buffer 0>: expected ${rgb.width * rgb.height * 4} bytes for ${rgb.width}x${rgb.height}x4 pixels but received ${rgb.data.length}`,
  });
  model.dispose();
});

// the public surface, by name: a rename or a dropped export is a breaking change and must fail here
const RUNTIME_EXPORTS = ['ARCH_NAMES', 'Classifier', 'Model', 'PREPROCESS', 'WEIGHTS', 'buildArchitecture', 'decodeImage', 'getWeights', 'imageTransforms', 'inferShapes', 'isFailure', 'loadModel', 'readLabels', 'softmaxRows', 'topK'];

test('the package exports exactly the documented values, each of the documented kind', async () => {
  const api = await import('alexnet-cli') as Record<string, unknown>;
  assert.deepEqual(Object.keys(api).sort(), RUNTIME_EXPORTS);
  for (const name of ['Classifier', 'Model', 'buildArchitecture', 'decodeImage', 'getWeights', 'imageTransforms', 'inferShapes', 'isFailure', 'loadModel', 'readLabels', 'softmaxRows', 'topK']) {
    assert.equal(typeof api[name], 'function', name);
  }
  assert.deepEqual(Object.keys(api.PREPROCESS as object).sort(), ['bvlc-zoo', 'caffe', 'seed', 'torchvision']);
  const arch = (api.buildArchitecture as (name: string, classes: number) => { numClasses: number })('caffe', 7);
  assert.equal(arch.numClasses, 7);
});

// A consumer written against the emitted declarations, type-checked by the TypeScript compiler the
// package builds with: the .d.ts files must describe the API (types included), not merely exist.
const CONSUMER = `
import { loadModel, topK, Classifier, Model, inferShapes, buildArchitecture, PREPROCESS, ARCH_NAMES, readLabels, softmaxRows, WEIGHTS, getWeights } from 'alexnet-cli';
import type { Classification, Prediction, ModelOptions, Architecture, ArchName, LayerSpec, Preprocess, ForwardOptions, LayerTiming, WeightSet, WeightTensor, ImageInput, RawPixels, ImageTransforms, WeightsEntry } from 'alexnet-cli';
const options: ModelOptions = { arch: 'torchvision', weights: 'random:1', labels: 'labels.txt' };
async function main(): Promise<Prediction[]> {
  const model: Classifier = await loadModel(options);
  const results: Classification[] = await model.classify(['a.jpg', new Uint8Array(8), { data: new Uint8Array(3), width: 1, height: 1, channels: 3 }], { top: 3 });
  const raw: RawPixels = { data: new Uint8Array(4), width: 1, height: 1 };
  const inputs: ImageInput[] = [raw, 'b.png'];
  const transforms: ImageTransforms = model.transforms();
  const entry: WeightsEntry = getWeights('IMAGENET1K_V1');
  const top1: number = WEIGHTS.bvlc.meta.metrics['ImageNet-1K']['acc@1'] + entry.meta.numParams;
  const shape: [number, number, number] = entry.transforms().outputShape;
  void [top1, shape];
  const tensor: Promise<Float32Array> = transforms(inputs[0]);
  void tensor;
  const scores: Float32Array = await model.forward(new Float32Array(3), [1, 3, 1, 1]);
  const best: number[] = topK(softmaxRows(scores, 1, 3), 1);
  const name: ArchName = ARCH_NAMES[0];
  const arch: Architecture = buildArchitecture(name, 10);
  const layers: LayerSpec[] = arch.layers;
  const p: Preprocess = PREPROCESS.torchvision;
  const macs: number = inferShapes(arch).reduce((a, s) => a + s.macs, 0);
  const label: string = readLabels()[best[0]].label;
  const m: Model = model.model;
  const o: ForwardOptions | undefined = undefined;
  const t: LayerTiming | undefined = undefined;
  const w: WeightSet | undefined = undefined;
  const wt: WeightTensor | undefined = undefined;
  void [layers, p, macs, label, m, o, t, w, wt];
  return results[0].predictions;
}
void main;
// @ts-expect-error: not part of the API
import { runScore } from 'alexnet-cli';
void runScore;
`;

test('the emitted declarations type-check a consumer of the whole API', (t) => {
  const require = createRequire(import.meta.url);
  let tsc: string;
  try {
    tsc = join(dirname(require.resolve('typescript/package.json')), 'bin', 'tsc');
  } catch {
    t.skip('typescript (a devDependency) is not installed here: nothing to type-check with');
    return;
  }
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'alexnet-api-'));
  try {
    writeFileSync(join(dir, 'consumer.ts'), CONSUMER);
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', skipLibCheck: true,
        types: ['node'], typeRoots: [join(root, 'node_modules', '@types')],
        paths: { 'alexnet-cli': [join(root, 'dist', 'lib', 'index.d.ts')] },
      },
      files: ['consumer.ts'],
    }));
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
    const r = spawnSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
