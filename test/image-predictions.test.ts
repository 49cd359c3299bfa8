// Photographs end to end against PyTorch: decode + torchvision preprocessing + a small network, compared
// with the probabilities torchvision and PyTorch compute (test/fixtures/make_weight_fixtures.py).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../lib/index.js';
import { hasNativeJpeg } from '../lib/image/decode.js';

const fixtures = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));
const manifest = JSON.parse(readFileSync(`${fixtures}weights/manifest.json`, 'utf8'));
const expected = manifest.imagePredictions as { weights: string; resize: number; crop: number; probabilities: Record<string, number[]> };

const argmax = (v: ArrayLike<number>) => Array.from(v).reduce((best, x, i, a) => (x > a[best] ? i : best), 0);

for (const decoder of ['native', 'js'] as const) {
  const skip = decoder === 'native' && !hasNativeJpeg() ? 'the addon was built without libjpeg-turbo (install libjpeg62-turbo-dev and rebuild)' : false;
  test(`photographs through the ${decoder} JPEG decoder: top-1 equals PyTorch's, probabilities within 1e-3`, { skip }, async () => {
    const previous = process.env.ALEXNET_CLI_JPEG;
    process.env.ALEXNET_CLI_JPEG = decoder;
    try {
      const model = await loadModel({ weights: `${fixtures}weights/${expected.weights}` });
      const preprocess = { ...model.preprocess, resize: [expected.resize, expected.resize] as [number, number], crop: [expected.crop, expected.crop] as [number, number] };
      const names = Object.keys(expected.probabilities);
      const results = await model.classify(names.map((n) => `${fixtures}images/${n}`), { top: 10, preprocess });
      results.forEach((r, i) => {
        const theirs = expected.probabilities[names[i]];
        const ours = new Array<number>(10);
        for (const p of r.predictions) ours[p.index] = p.probability;
        assert.equal(argmax(ours), argmax(theirs), `${names[i]} top-1`);
        const worst = Math.max(...ours.map((v, k) => Math.abs(v - theirs[k])));
        assert.ok(worst <= 1e-3, `${names[i]}: max probability difference ${worst}`);
      });
      // the comparison is not vacuous: every two photographs differ by more than 10x the tolerance
      for (let a = 0; a < names.length; a++) {
        for (let b = a + 1; b < names.length; b++) {
          const pa = expected.probabilities[names[a]];
          const pb = expected.probabilities[names[b]];
          assert.ok(Math.max(...pa.map((v, k) => Math.abs(v - pb[k]))) > 1e-2, `${names[a]} vs ${names[b]}`);
        }
      }
    } finally {
      if (previous === undefined) delete process.env.ALEXNET_CLI_JPEG;
      else process.env.ALEXNET_CLI_JPEG = previous;
    }
  });
}
