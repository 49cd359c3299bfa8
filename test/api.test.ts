// The library as a user imports it: the package's own name, its exports and emitted types.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
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

test('type declarations are emitted next to the JavaScript', () => {
  assert.ok(existsSync(fileURLToPath(new URL('../lib/index.d.ts', import.meta.url))));
});
