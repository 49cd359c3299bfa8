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

// the public surface, by name: a rename or a dropped export is a breaking change and must fail here
const RUNTIME_EXPORTS = ['ARCH_NAMES', 'Classifier', 'Model', 'PREPROCESS', 'buildArchitecture', 'inferShapes', 'isFailure', 'loadModel', 'readLabels', 'softmaxRows', 'topK'];

test('the package exports exactly the documented values, each of the documented kind', async () => {
  const api = await import('alexnet-cli') as Record<string, unknown>;
  assert.deepEqual(Object.keys(api).sort(), RUNTIME_EXPORTS);
  for (const name of ['Classifier', 'Model', 'buildArchitecture', 'inferShapes', 'isFailure', 'loadModel', 'readLabels', 'softmaxRows', 'topK']) {
    assert.equal(typeof api[name], 'function', name);
  }
  assert.deepEqual(Object.keys(api.PREPROCESS as object).sort(), ['bvlc-zoo', 'caffe', 'seed', 'torchvision']);
  const arch = (api.buildArchitecture as (name: string, classes: number) => { numClasses: number })('caffe', 7);
  assert.equal(arch.numClasses, 7);
});

// A consumer written against the emitted declarations, type-checked by the TypeScript compiler the
// package builds with: the .d.ts files must describe the API (types included), not merely exist.
const CONSUMER = `
import { loadModel, topK, Classifier, Model, inferShapes, buildArchitecture, PREPROCESS, ARCH_NAMES, readLabels, softmaxRows } from 'alexnet-cli';
import type { Classification, Prediction, ModelOptions, Architecture, ArchName, LayerSpec, Preprocess, ForwardOptions, LayerTiming, WeightSet, WeightTensor } from 'alexnet-cli';
const options: ModelOptions = { arch: 'torchvision', weights: 'random:1', labels: 'labels.txt' };
async function main(): Promise<Prediction[]> {
  const model: Classifier = await loadModel(options);
  const results: Classification[] = await model.classify(['a.jpg'], { top: 3 });
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
