// Named pretrained weights (lib/weights/registry.ts): the registry's entries, and `--weights NAME` in
// every command that takes weights, resolved from the cache. The download is served from 127.0.0.1 (the
// real files are 244 MB and out of reach here): the torchvision entry, pointed at a small ONNX graph.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PRETRAINED } from '../lib/weights/cache.js';
import { WEIGHTS, getWeights, resolveWeightsArg, weightsNames } from '../lib/weights/registry.js';

const cli = fileURLToPath(new URL('../bin/alexnet-cli.js', import.meta.url));
const weightsDir = fileURLToPath(new URL('../../test/fixtures/weights/', import.meta.url));
const image = fileURLToPath(new URL('../../test/fixtures/images/astronaut.png', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'alexnet-registry-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

test('the registry: torchvision (IMAGENET1K_V1, DEFAULT) and bvlc with URL, SHA-256, preprocessing, categories, accuracy', () => {
  assert.deepEqual(weightsNames(), ['torchvision', 'IMAGENET1K_V1', 'DEFAULT', 'AlexNet_Weights.IMAGENET1K_V1', 'AlexNet_Weights.DEFAULT', 'bvlc']);
  const tv = getWeights('IMAGENET1K_V1');
  assert.equal(tv, WEIGHTS.torchvision);
  assert.equal(getWeights('DEFAULT'), tv);
  assert.equal(tv.url, 'https://download.pytorch.org/models/alexnet-owt-7be5be79.pth');
  assert.equal(tv.sha256, PRETRAINED.torchvision.sha256);
  // torchvision 0.14 AlexNet_Weights.IMAGENET1K_V1.meta
  assert.deepEqual(tv.meta.metrics, { 'ImageNet-1K': { 'acc@1': 56.522, 'acc@5': 79.066 } });
  assert.equal(tv.meta.numParams, 61_100_840);
  assert.equal(tv.meta.categories.length, 1000);
  assert.deepEqual(tv.meta.categories.slice(0, 3), ['tench', 'goldfish', 'great white shark']);
  assert.deepEqual(tv.transforms().outputShape, [3, 224, 224]);
  assert.equal(tv.transforms().preprocess.resize[0], 256);
  const bvlc = getWeights('bvlc');
  assert.equal(bvlc.sha256, '6b0da9510f27f234ee96a85dc3809dd210150fdefad87f6850f9788513216945');
  assert.deepEqual(bvlc.meta.metrics, { 'ImageNet-1K': { 'acc@1': 57.1, 'acc@5': 80.2 } });
  assert.deepEqual(bvlc.transforms().outputShape, [3, 224, 224]);
  assert.equal(bvlc.transforms().preprocess.bgr, true);
  assert.throws(() => getWeights('IMAGENET1K_V2'), {
    code: 'ERR_INVALID_ARG_VALUE',
    message: 'Expected one of torchvision, IMAGENET1K_V1, DEFAULT, AlexNet_Weights.IMAGENET1K_V1, AlexNet_Weights.DEFAULT, bvlc for pretrained weights but received IMAGENET1K_V2',
  });
});

test('the transforms of an entry give the tensor its model is fed', async () => {
  const tensor = await WEIGHTS.torchvision.transforms()(readFileSync(image));
  assert.equal(tensor.length, 3 * 224 * 224);
});

const onnx = readFileSync(join(weightsDir, 'bvlc_small.onnx'));
const server = http.createServer((req, res) => {
  if (req.url === '/bvlc_small.onnx') res.writeHead(200, { 'content-length': onnx.length }).end(onnx);
  else res.writeHead(404).end();
});

test('--weights IMAGENET1K_V1 / DEFAULT / torchvision in classify, info, summary, bench, convert, profile: one file from the cache', async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const cache = join(scratch, 'cache');
  const env = { ALEXNET_CLI_CACHE: cache, ALEXNET_CLI_WEIGHTS_URL: base };
  const registry = {
    ...PRETRAINED,
    torchvision: { ...PRETRAINED.torchvision, fileName: 'bvlc_small.onnx', size: onnx.length, sha256: createHash('sha256').update(onnx).digest('hex'), sha256Prefix: undefined },
  };
  // the first use downloads (verified) and converts, as `weights download` does
  const path = await resolveWeightsArg('IMAGENET1K_V1', { env, registry, onProgress: () => {} });
  server.close();
  assert.equal(path, join(cache, 'torchvision.safetensors'));
  assert.ok(statSync(join(cache, 'bvlc_small.onnx')).size === onnx.length);
  assert.equal(await resolveWeightsArg('DEFAULT', { env, registry }), path);
  // a file path and random[:SEED] pass through
  assert.equal(await resolveWeightsArg(join(weightsDir, 'bvlc_small.onnx')), join(weightsDir, 'bvlc_small.onnx'));
  assert.equal(await resolveWeightsArg('random:3'), 'random:3');

  const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  const byFile = run('classify', '--json', '--top', '2', '--weights', path, image);
  assert.equal(byFile.status, 0, byFile.stderr);
  for (const name of ['IMAGENET1K_V1', 'DEFAULT', 'torchvision', 'AlexNet_Weights.IMAGENET1K_V1']) {
    const r = run('classify', '--json', '--top', '2', '--weights', name, image);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, byFile.stdout, name);
  }
  const info = run('info', 'IMAGENET1K_V1');
  assert.equal(info.status, 0, info.stderr);
  assert.match(info.stdout, new RegExp(`^file +${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\n`));
  const summary = run('summary', '--weights', 'DEFAULT');
  assert.equal(summary.status, 0, summary.stderr);
  assert.match(summary.stdout, /^Model: "bvlc_alexnet_small" {2}input \(None, 3, 99, 99\) {2}10 classes/);
  const bench = run('bench', '--weights', 'torchvision', '--batch', '1', '--warmup', '0', '--iters', '1', '--json');
  assert.equal(bench.status, 0, bench.stderr);
  assert.deepEqual(JSON.parse(bench.stdout).rows.map((r: { arch: string }) => r.arch), ['torchvision (bvlc_alexnet_small)']);
  const converted = join(scratch, 'named.onnx');
  const convert = run('convert', 'IMAGENET1K_V1', converted);
  assert.equal(convert.status, 0, convert.stderr);
  assert.ok(existsSync(converted));
  const profile = run('profile', '--weights', 'torchvision', '--iters', '1', '--warmup', '0', '--json');
  assert.equal(profile.status, 0, profile.stderr);
});

test('an unknown name is one line listing the valid names, exit 2, in every command', () => {
  const names = 'torchvision, IMAGENET1K_V1, DEFAULT, AlexNet_Weights.IMAGENET1K_V1, AlexNet_Weights.DEFAULT, bvlc';
  for (const args of [['classify', '--weights', 'vgg16', image], ['summary', '--weights', 'vgg16'], ['info', 'vgg16'], ['bench', '--weights', 'vgg16'], ['convert', 'vgg16', join(scratch, 'x.onnx')]]) {
    const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr, `alexnet-cli: Expected a weights file, random[:SEED] or one of ${names} for --weights but received vgg16 (no such file or name)\n`, args.join(' '));
  }
});

test('a corrupt converted file in the cache says which command repairs it', async () => {
  const { copyFileSync, truncateSync, mkdirSync } = await import('node:fs');
  const cache = join(scratch, 'corrupt-cache');
  mkdirSync(cache, { recursive: true });
  const good = join(scratch, 'cache', 'torchvision.safetensors');
  const broken = join(cache, 'torchvision.safetensors');
  copyFileSync(good, broken);
  truncateSync(broken, statSync(good).size - 100);
  const r = spawnSync(process.execPath, [cli, 'classify', '--weights', 'DEFAULT', image], { encoding: 'utf8', env: { ...process.env, ALEXNET_CLI_CACHE: cache } });
  assert.equal(r.status, 1);
  assert.equal(r.stderr, `alexnet-cli: ${broken}: expected the converted weights in the cache to be complete safetensors but found ${statSync(good).size - 100} bytes where the header describes ${statSync(good).size}; remove it (rm ${broken}) and run \`alexnet-cli weights download torchvision\` to convert them again\n`);
});

test('sizes are in one unit everywhere: MB = 10^6 bytes (weights list, summary, the same formatter)', () => {
  const list = spawnSync(process.execPath, [cli, 'weights', 'list'], { encoding: 'utf8', env: { ...process.env, ALEXNET_CLI_CACHE: join(scratch, 'empty') } });
  assert.equal(list.status, 0, list.stderr);
  // 244,408,911 bytes (torchvision's file) and 61,100,840 float32 parameters (244,403,360 bytes)
  assert.match(list.stdout, /\n {2}source {4}244\.4 MB https:\/\/download\.pytorch\.org\/models\/alexnet-owt-7be5be79\.pth\n/);
  const summary = spawnSync(process.execPath, [cli, 'summary', '--arch', 'torchvision'], { encoding: 'utf8' });
  assert.match(summary.stdout, /\nTotal params: 61,100,840 \(244\.4 MB as float32\)\n/);
});
