// `info` and `convert` as library functions (the CLI wiring is in bin/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { convertWeights } from '../lib/weights/convert.js';
import { formatInfo, weightsInfo } from '../lib/commands/info.js';
import { loadModel } from '../lib/index.js';
import { PREPROCESS } from '../lib/model/archs.js';
import { readSafetensors, tensorValues } from '../lib/weights/safetensors.js';
import { readTorch } from '../lib/weights/torch.js';
import { fixture, referenceIo, relativeL2 } from './weights-fixtures.js';

const scratch = mkdtempSync(join(tmpdir(), 'weights-commands-'));

test('info on an ONNX graph: format, its own architecture, tensors, parameter count, preprocessing', async () => {
  const info = await weightsInfo(fixture('bvlc_small.onnx'));
  assert.equal(info.format, 'onnx');
  assert.equal(info.architecture, 'bvlc_alexnet_small');
  assert.equal(info.numClasses, 10);
  assert.equal(info.tensors.length, 16);
  assert.deepEqual(info.tensors[0], { name: 'conv1.weight', shape: [8, 3, 11, 11], params: 8 * 3 * 121, storage: 'memory' });
  assert.equal(info.totalParams, info.tensors.reduce((a, t) => a + t.params, 0));
  // the zoo's preprocessing, at the 99x99 input the graph declares
  assert.deepEqual(info.preprocess, { ...PREPROCESS['bvlc-zoo'], resize: [99, 99] });
  assert.equal(info.metadata.producer, 'onnx-caffe2');
  const text = formatInfo(info);
  assert.match(text, /^format {8}onnx$/m);
  assert.match(text, /^preprocess {4}resize 99x99, BGR 0\.\.255, mean \[123\.68, 116\.779, 103\.939\], std \[1, 1, 1\]$/m);
});

test('info on weights that fit no named architecture says why', async () => {
  const info = await weightsInfo(fixture('tv_small.pth'));
  assert.equal(info.architecture, null);
  assert.match(info.architectureError!, /^expected the tensors of one of seed/);
  assert.equal(info.numClasses, 10);
  assert.equal(info.tensors.find((t) => t.name === 'conv1.weight')!.storage, 'file');
  assert.deepEqual(info.preprocess, PREPROCESS.torchvision);
});

test('convert ONNX -> safetensors keeps the graph; the result loads and matches PyTorch', async () => {
  const out = join(scratch, 'bvlc.safetensors');
  const result = await convertWeights(fixture('bvlc_small.onnx'), out);
  assert.equal(result.tensors, 16);
  const set = await readSafetensors(out);
  assert.equal(set.metadata.source, 'onnx');
  assert.equal(set.metadata.numClasses, '10');
  assert.deepEqual(JSON.parse(set.metadata.preprocess), { ...PREPROCESS['bvlc-zoo'], resize: [99, 99] });
  assert.equal(JSON.parse(set.metadata.architecture).name, 'bvlc_alexnet_small');
  const model = await loadModel({ weights: out });
  const { input, shape, output } = referenceIo('caffe-small');
  assert.ok(relativeL2(await model.forward(input, shape), output) <= 1e-5);
  const info = await weightsInfo(out);
  assert.equal(info.architecture, 'bvlc_alexnet_small');
});

test('convert .pth -> .onnx runs in onnxruntime-node', async () => {
  // the small torchvision net is no named architecture: convert it through its ONNX export's graph
  const viaOnnx = join(scratch, 'tv.safetensors');
  await convertWeights(fixture('tv_small_opset17.onnx'), viaOnnx);
  const out = join(scratch, 'tv.onnx');
  await convertWeights(viaOnnx, out);
  const session = await ort.InferenceSession.create(out);
  const { input, shape, output } = referenceIo('torchvision-small');
  const result = await session.run({ input: new ort.Tensor('float32', input, shape) });
  assert.ok(relativeL2(result.output.data as Float32Array, output) <= 1e-5);
  const original = await readTorch(fixture('tv_small.pth'));
  const converted = await readSafetensors(viaOnnx);
  for (const [name, t] of original.tensors) assert.deepEqual(tensorValues(converted.tensors.get(name)!), tensorValues(t), name);
});

test('convert refuses other output extensions and weights that do not fit --arch', async () => {
  await assert.rejects(convertWeights(fixture('tv_small.pth'), join(scratch, 'x.bin')), {
    code: 'ERR_USAGE', message: `Expected an output file ending in .safetensors or .onnx but received ${join(scratch, 'x.bin')}`,
  });
  await assert.rejects(convertWeights(fixture('tv_small.pth'), join(scratch, 'x.safetensors'), { arch: 'torchvision' }), {
    code: 'ERR_WEIGHTS', message: /tv_small\.pth: expected the tensors of architecture torchvision: conv1\.weight \[64,3,11,11\] but found \[8,3,11,11\];/,
  });
});

test('convert refuses an existing output without --force (the rule of classify -o and score --out), replaces it with --force', async () => {
  const { spawnSync } = await import('node:child_process');
  const { readFileSync, statSync, writeFileSync } = await import('node:fs');
  const { fileURLToPath } = await import('node:url');
  const cli = fileURLToPath(new URL('../bin/alexnet-cli.js', import.meta.url));
  const out = join(scratch, 'existing.safetensors');
  writeFileSync(out, 'keep me');
  const refused = spawnSync(process.execPath, [cli, 'convert', fixture('bvlc_small.onnx'), out], { encoding: 'utf8' });
  assert.equal(refused.status, 2);
  assert.equal(refused.stderr, `alexnet-cli: ${out}: expected a new output file but it exists; pass --force to overwrite it or remove the file\n`);
  assert.equal(readFileSync(out, 'utf8'), 'keep me');
  const forced = spawnSync(process.execPath, [cli, 'convert', '--force', fixture('bvlc_small.onnx'), out], { encoding: 'utf8' });
  assert.equal(forced.status, 0, forced.stderr);
  assert.ok(statSync(out).size > 1000);
});
