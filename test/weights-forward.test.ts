// Every fixture format through loadModel: our forward pass against the output PyTorch recorded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadModel } from '../lib/index.js';
import { readWeights } from '../lib/weights/index.js';
import { SMALL_ARCHS, fixture, manifest, referenceIo, relativeL2 } from './weights-fixtures.js';

for (const [file, info] of Object.entries(manifest.files)) {
  test(`${file} (${info.format}) forward matches PyTorch within relative L2 1e-5`, async () => {
    // ONNX graphs carry their own architecture; the other formats get the small one they were made for
    const onnx = file.endsWith('.onnx');
    const model = await loadModel({ arch: onnx ? undefined : SMALL_ARCHS[info.arch], weights: fixture(file) });
    const { input, shape, output } = referenceIo(info.output ?? info.arch);
    const result = await model.forward(input, shape);
    const error = relativeL2(result, output);
    assert.ok(error <= 1e-5, `relative L2 ${error}`);
  });
}

test('a WeightSet read once can be passed to loadModel', async () => {
  const set = await readWeights(fixture('caffe_small_v1.caffemodel'));
  const model = await loadModel({ arch: SMALL_ARCHS['caffe-small'], weights: set });
  const { input, shape, output } = referenceIo('caffe-small');
  assert.ok(relativeL2(await model.forward(input, shape), output) <= 1e-5);
});
