// How `score --out` ends when it cannot go on, and who may write an output: a full disk (a real
// tmpfs far too small for the output, mounted by the test) exits 1 naming ENOSPC, never by a signal,
// leaves every complete line valid, and `--resume` on a roomy disk then gives exactly the
// uninterrupted run's records; a second run on an output in use is refused in one line naming the
// lock, a lock left by a dead process is taken over, and two runs started together leave one
// complete output with nothing twice. --batch 1: each image computed alone, so a resumed run's lines equal
// the uninterrupted run's to the last digit (the kernels' sums depend on the batch: docs/score.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeImageFolder, writeTinyWeights, type Generated } from './score-dataset.js';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'alexnet-cli.js');
const work = mkdtempSync(join(tmpdir(), 'alexnet-score-stop-'));
const TINY = join(work, 'tiny.safetensors');
let data: Generated;
// every copy under a long name, so that each output line is a few hundred bytes
const LONG = 'x'.repeat(180);

function cli(args: string[]) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(SLURM_|JOB_COMPLETION_INDEX$|ALEXNET_CLI_SHARD_COUNT$)/.test(k)));
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

const scoreArgs = (out: string) => ['score', join(work, 'data'), '--labels', data.labelsFile, '--weights', TINY, '--workers', '1', '--batch', '1', '--out', out];

/** the output's records by path (the header line first in JSONL); throws on a line that is not JSON */
function records(out: string): Map<string, unknown> {
  const lines = readFileSync(out, 'utf8').split('\n');
  const last = lines.pop();
  assert.equal(last, '', `${out} ends with a complete line`);
  const byPath = new Map<string, unknown>();
  for (const line of lines.slice(1)) {
    const rec = JSON.parse(line) as { path: string };
    assert.ok(!byPath.has(rec.path), `${rec.path} twice in ${out}`);
    byPath.set(rec.path, rec);
  }
  return byPath;
}

let reference: Map<string, unknown>;

test('the dataset (long names) and the uninterrupted run', async () => {
  data = await makeImageFolder(join(work, 'base', 'val'));
  writeTinyWeights(TINY, 4, 5);
  for (const path of [...data.truth.keys(), ...data.broken]) {
    const [cls, file] = path.split('/');
    mkdirSync(join(work, 'data', cls), { recursive: true });
    for (let k = 0; k < 2; k++) copyFileSync(join(data.root, path), join(work, 'data', cls, `${LONG}-${k}-${file}`));
  }
  const out = join(work, 'reference.jsonl');
  const r = cli(scoreArgs(out));
  assert.equal(r.status, 0, r.stderr);
  reference = records(out);
  assert.equal(reference.size, (data.truth.size + data.broken.length) * 2);
});

test('a full disk: exit 1 naming ENOSPC, no signal, complete lines valid, --resume exact', (t) => {
  const disk = join(work, 'disk');
  mkdirSync(disk);
  // 12 KiB: the header and a few records fit, the whole output (tens of KiB) does not
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=12k', 'tmpfs', disk], { encoding: 'utf8' });
  if (mount.status !== 0) {
    t.skip(`cannot mount a small tmpfs to fill (needs root and mount rights): ${(mount.stderr || mount.error?.message || '').trim()}`);
    return;
  }
  const out = join(disk, 'full.jsonl');
  const saved = join(work, 'after-full.jsonl');
  try {
    const r = cli(scoreArgs(out));
    assert.equal(r.signal, null, `ended by ${r.signal}: ${r.stderr}`);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /full\.jsonl.*no space left on device \(ENOSPC\)/);
    assert.doesNotMatch(r.stderr, /terminate called|Napi::Error|\n\s+at /, 'no C++ abort, no stack trace');
    assert.equal(r.stderr.trim().split('\n').filter((l) => /alexnet-cli:|error/i.test(l)).length, 1, r.stderr);
    // what is there: every line but a torn last one is a whole record of the reference run
    const text = readFileSync(out, 'utf8');
    const lines = text.split('\n');
    const torn = lines.pop();
    for (const line of lines.slice(1)) {
      const rec = JSON.parse(line) as { path: string };
      assert.deepEqual(rec, reference.get(rec.path), rec.path);
    }
    t.diagnostic(`${lines.length - 1} records written before the disk filled${torn ? ', then a torn line' : ''}`);
    assert.ok(lines.length - 1 < reference.size, 'the disk filled before the end');
    copyFileSync(out, saved);
  } finally {
    spawnSync('umount', [disk]);
  }
  assert.ok(!existsSync(`${saved}.lock`));
  const resumed = cli([...scoreArgs(saved), '--resume']);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.deepEqual(records(saved), reference);
});

test('an output in use by a live run is refused in one line; a dead run\'s lock is taken over', () => {
  const out = join(work, 'locked.jsonl');
  // a live holder: this test's own process
  writeFileSync(`${out}.lock`, `${process.pid} ${hostname()}\n`);
  const refused = cli(scoreArgs(out));
  assert.equal(refused.status, 1, refused.stderr);
  assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr);
  assert.match(refused.stderr, new RegExp(`locked\\.jsonl: expected no other run writing this output but .*${process.pid}.* holds .*locked\\.jsonl\\.lock`));
  assert.ok(!existsSync(out), 'the refused run wrote nothing');
  assert.equal(readFileSync(`${out}.lock`, 'utf8'), `${process.pid} ${hostname()}\n`, 'the holder\'s lock is left alone');

  // a dead holder on this host: a pid that is not running
  let dead = 4_000_000;
  while (spawnSync('kill', ['-0', String(dead)]).status === 0) dead++;
  writeFileSync(`${out}.lock`, `${dead} ${hostname()}\n`);
  const taken = cli(scoreArgs(out));
  assert.equal(taken.status, 0, taken.stderr);
  assert.deepEqual(records(out), reference);
  assert.ok(!existsSync(`${out}.lock`), 'the lock is removed at the end');
});

test('two --resume runs started together: one writes, the other is refused, nothing twice', async () => {
  const out = join(work, 'race.jsonl');
  const start = () => new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [BIN, ...scoreArgs(out), '--resume'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('close', (code) => resolve({ code, stderr }));
  });
  const runs = await Promise.all([start(), start(), start()]);
  const ok = runs.filter((r) => r.code === 0);
  const refused = runs.filter((r) => r.code !== 0);
  assert.ok(ok.length >= 1, runs.map((r) => r.stderr).join('\n'));
  for (const r of refused) {
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /race\.jsonl: expected no other run writing this output but .* holds .*race\.jsonl\.lock/);
  }
  assert.deepEqual(records(out), reference);
  assert.deepEqual(readdirSync(work).filter((f) => f.startsWith('race.jsonl.')), [], 'no lock or temporary file left');
});
