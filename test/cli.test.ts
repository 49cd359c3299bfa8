// The command line's habits, through the real CLI: -h, flags given twice, the aliases users type from
// other tools, --quiet; npm/npx from the repository without warnings; the README's library claims.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../lib/index.js';

const cli = fileURLToPath(new URL('../bin/alexnet-cli.js', import.meta.url));
const root = fileURLToPath(new URL('../../', import.meta.url));
const jpeg = fileURLToPath(new URL('../../test/fixtures/images/coffee-baseline.jpg', import.meta.url));

function run(...args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
}

test('-h is --help, for the tool and for each command', () => {
  for (const args of [['-h'], ['classify', '-h'], ['summary', '-h']]) {
    const r = run(...args);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, /--help/);
    assert.deepEqual(r.stdout, run(...args.slice(0, -1), '--help').stdout);
  }
});

test('a flag given twice takes its last value', () => {
  const json = (...args: string[]) => {
    const r = run('classify', '--arch', 'torchvision', '--json', ...args, jpeg);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout);
  };
  const seed2 = json('--weights', 'random:2', '--top', '1');
  assert.deepEqual(json('--weights', 'random:1', '--weights', 'random:2', '--top', '1'), seed2);
  assert.notDeepEqual(json('--weights', 'random:1', '--top', '1'), seed2);
  // a repeated value of 1 is not a count increment (yargs-parser would read --top 2 --top 1 as 3)
  assert.equal(json('--weights', 'random:2', '--top', '2', '--top', '1')[0].predictions.length, 1);
  assert.equal(json('--weights', 'random:2', '--top=4', '--topk', '3')[0].predictions.length, 3);
  const r = run('classify', '--weights', 'random:1', '--top', '2', '--top', '0', jpeg);
  assert.equal(r.status, 2);
  assert.equal(r.stderr, 'alexnet-cli: Expected a positive integer for --top but received 0\n');
});

test('aliases from habit: --topk, -b/--batch-size, -q/--quiet', () => {
  const r = run('classify', '--weights', 'random:1', '--arch', 'seed', '--topk', '2', '-b', '1', '-q', '--json', jpeg);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout)[0].predictions.length, 2);
  for (const flag of ['-b', '--batch-size']) {
    const bad = run('classify', '--weights', 'random:1', flag, '0', jpeg);
    assert.equal(bad.status, 2);
    assert.equal(bad.stderr, 'alexnet-cli: Expected a positive integer for --batch but received 0\n');
  }
});

test('npm in the repository does not warn about unknown project config', () => {
  const r = spawnSync('npm', ['pkg', 'get', 'name'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /Unknown project config/);
  // and CI still tells onnxruntime-node's install script not to download its CUDA provider
  assert.match(readFileSync(`${root}/.ci/run`, 'utf8'), /^export ONNXRUNTIME_NODE_INSTALL=skip\n(?:.*\n)*npm ci/m);
});

test('README: forward() returns logits for torchvision, probabilities() sums to 1', async () => {
  const readme = readFileSync(`${root}/README.md`, 'utf8');
  assert.match(readme, /model\.forward\(tensor, \[1, 3, 224, 224\]\);\s+\/\/ Float32Array \[N, classes\], before softmax/);
  assert.match(readme, /model\.probabilities\(tensor/);
  const model = await loadModel({ arch: 'torchvision', weights: 'random:1' });
  try {
    const input = new Float32Array(3 * 224 * 224).map((_, i) => Math.sin(i));
    const logits = await model.forward(input, [1, 3, 224, 224]);
    const probs = await model.probabilities(input, [1, 3, 224, 224]);
    const sum = (a: Float32Array) => a.reduce((s, v) => s + v, 0);
    assert.ok(Math.abs(sum(probs) - 1) < 1e-4, `probabilities sum to ${sum(probs)}`);
    assert.ok(logits.some((v) => v < 0), 'logits include negative values');
    assert.ok(Math.abs(sum(logits) - 1) > 1e-2, `logits sum to ${sum(logits)}`);
  } finally {
    model.dispose();
  }
});
