// Output files are replaced whole or not at all (lib/atomic-write.ts): a write that fails part way
// (a full disk, a file size limit, a path that cannot be a file) leaves the previous file's bytes and no
// temporary file, and the user sees one line naming the destination; a write that succeeds replaces the
// file by a rename. Through the helper itself, the weights writers, and every command that writes a file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync, closeSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync,
  readSync, statSync, symlinkSync, writeFileSync, writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { discardStagedFiles, stageFile, writeFileAtomic } from '../lib/atomic-write.js';
import { AlexnetError } from '../lib/errors.js';
import { writeNpy } from '../lib/weights/npy.js';
import { writeTinyWeights } from './score-dataset.js';

const cli = fileURLToPath(new URL('../bin/alexnet-cli.js', import.meta.url));
const jpeg = fileURLToPath(new URL('../../test/fixtures/images/coffee-baseline.jpg', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'alexnet-atomic-write-'));
const PREVIOUS = 'the previous contents, which a failed write must leave as they are\n';

let cases = 0;
/** a fresh folder per case, so that "no temporary file left" looks at that case's files only */
function folder(): string {
  const dir = join(work, `case-${cases++}`);
  mkdirSync(dir);
  return dir;
}

/** the temporary files of lib/atomic-write.ts left in a folder */
const leftovers = (dir: string): string[] => readdirSync(dir).filter((name) => name.includes('.tmp-'));

/** the CLI, with SLURM's variables removed (score would read a shard from them); fileSizeKiB: `ulimit -f` */
function run(args: string[], fileSizeKiB?: number) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(SLURM_|JOB_COMPLETION_INDEX$|ALEXNET_CLI_SHARD_COUNT$)/.test(k)));
  // bash's ulimit -f counts 1024-byte blocks; a write past the limit fails with EFBIG (Node ignores SIGXFSZ)
  const r = fileSizeKiB === undefined
    ? spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env })
    : spawnSync('bash', ['-c', `ulimit -f ${fileSizeKiB} && exec "$0" "$@"`, process.execPath, cli, ...args], { encoding: 'utf8', env });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** exit 1 (not a signal), and exactly one line on stderr: the destination and what failed, no stack */
function assertWriteFailure(r: ReturnType<typeof run>, destination: string, reason: string): void {
  assert.equal(r.signal, null, `ended by ${r.signal}: ${r.stderr}`);
  assert.equal(r.stderr, `alexnet-cli: ${destination}: could not write (${reason})\n`);
  assert.equal(r.status, 1);
}

/** a real ENOSPC from the kernel: /dev/full takes no bytes */
function diskFull(): Error {
  const fd = openSync('/dev/full', 'w');
  try {
    writeSync(fd, Buffer.alloc(1));
  } catch (e) {
    return e as Error;
  } finally {
    closeSync(fd);
  }
  throw new Error('/dev/full took a byte');
}

// ---------------------------------------------------------------- the helper

test('a write that fails part way leaves the previous file whole and no temporary file', (t) => {
  const dir = folder();
  const out = join(dir, 'out.json');
  writeFileSync(out, PREVIOUS);
  if (!existsSync('/dev/full')) t.diagnostic('no /dev/full here: the ENOSPC below is built by hand');
  const enospc = existsSync('/dev/full') ? diskFull() : Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
  let tmpDuringWrite: string[] = [];
  assert.throws(() => writeFileAtomic(out, (write) => {
    write(Buffer.alloc(1 << 20, 0x61));
    tmpDuringWrite = leftovers(dir);
    throw enospc;
  }), (err: unknown) => {
    assert.ok(err instanceof AlexnetError);
    assert.equal(err.message, `${out}: could not write (ENOSPC: no space left on device)`);
    assert.equal(err.code, 'ERR_WRITE');
    assert.equal(err.cause, enospc, 'the system error stays reachable as the cause');
    return true;
  });
  assert.equal(tmpDuringWrite.length, 1, 'the bytes went to a temporary file beside the destination');
  assert.equal(readFileSync(out, 'utf8'), PREVIOUS);
  assert.deepEqual(leftovers(dir), []);
});

test('an error that is not a system error (a validation error) is passed on as it is, after the clean-up', () => {
  const dir = folder();
  const out = join(dir, 'weights.safetensors');
  writeFileSync(out, PREVIOUS);
  const invalid = new AlexnetError('conv1.weight: expected 4 values but received 3', 'ERR_WEIGHTS');
  assert.throws(() => writeFileAtomic(out, (write) => {
    write(Buffer.from('partial'));
    throw invalid;
  }), (err: unknown) => err === invalid);
  assert.equal(readFileSync(out, 'utf8'), PREVIOUS);
  assert.deepEqual(leftovers(dir), []);
});

test('a successful write replaces the file by a rename: a reader of the old file keeps the old bytes', () => {
  const dir = folder();
  const out = join(dir, 'report.html');
  writeFileSync(out, PREVIOUS);
  chmodSync(out, 0o640);
  const before = statSync(out);
  const reader = openSync(out, 'r');
  try {
    writeFileAtomic(out, (write) => {
      write(Buffer.from('<html>'));
      write(new Uint8Array(0));
      write(Buffer.from('</html>\n'));
    });
    const after = statSync(out);
    assert.notEqual(after.ino, before.ino, 'a new file renamed onto the name, not the old one truncated');
    assert.equal(after.mode & 0o777, 0o640, 'the permissions of the file it replaces');
    const old = Buffer.alloc(PREVIOUS.length);
    readSync(reader, old, 0, old.length, 0);
    assert.equal(old.toString('utf8'), PREVIOUS);
  } finally {
    closeSync(reader);
  }
  assert.equal(readFileSync(out, 'utf8'), '<html></html>\n');
  writeFileAtomic(join(dir, 'new.txt'), 'a new file\n');
  writeFileAtomic(join(dir, 'new.bin'), Uint8Array.of(0, 255, 7));
  assert.equal(readFileSync(join(dir, 'new.txt'), 'utf8'), 'a new file\n');
  assert.deepEqual([...readFileSync(join(dir, 'new.bin'))], [0, 255, 7]);
  assert.deepEqual(leftovers(dir), []);
});

test('a symbolic link is written through: the link stays, its target gets the new bytes', () => {
  const dir = folder();
  writeFileSync(join(dir, 'target.csv'), PREVIOUS);
  symlinkSync('target.csv', join(dir, 'link.csv'));
  writeFileAtomic(join(dir, 'link.csv'), 'a,b\n');
  assert.ok(lstatSync(join(dir, 'link.csv')).isSymbolicLink());
  assert.equal(readlinkSync(join(dir, 'link.csv')), 'target.csv');
  assert.equal(readFileSync(join(dir, 'target.csv'), 'utf8'), 'a,b\n');
  assert.deepEqual(leftovers(dir), []);
});

test('two writes of one file at once in one process use two temporary files; the last rename wins', () => {
  const dir = folder();
  const out = join(dir, 'out.txt');
  let during: string[] = [];
  writeFileAtomic(out, (write) => {
    write(Buffer.from('outer, '));
    writeFileAtomic(out, 'inner\n');
    during = leftovers(dir);
    write(Buffer.from('written last\n'));
  });
  assert.equal(during.length, 1, 'the outer write\'s temporary file survived the inner write');
  assert.equal(readFileSync(out, 'utf8'), 'outer, written last\n');
  assert.deepEqual(leftovers(dir), []);
});

test('a destination that is not a regular file (a named pipe, /dev/stdout) is written directly', async (t) => {
  const dir = folder();
  const fifo = join(dir, 'pipe');
  const made = spawnSync('mkfifo', [fifo], { encoding: 'utf8' });
  if (made.status !== 0) {
    t.skip(`cannot make a named pipe (mkfifo): ${(made.stderr || made.error?.message || '').trim()}`);
    return;
  }
  const reader = spawn('cat', [fifo]);
  let received = '';
  reader.stdout.on('data', (chunk: Buffer) => { received += chunk.toString('utf8'); });
  const closed = new Promise((resolve) => reader.on('close', resolve));
  try {
    writeFileAtomic(fifo, 'through the pipe\n');
    assert.ok(lstatSync(fifo).isFIFO(), 'the pipe is still a pipe');
  } catch (e) {
    reader.kill(); // its pipe was never written: it would wait forever
    throw e;
  }
  await closed;
  assert.equal(received, 'through the pipe\n');
  assert.deepEqual(leftovers(dir), []);
});

test('writeNpy onto a folder: one line naming it, the folder untouched, no temporary file', () => {
  const dir = folder();
  const taken = join(dir, 'input.npy');
  mkdirSync(taken);
  writeFileSync(join(taken, 'inside'), PREVIOUS);
  assert.throws(() => writeNpy(taken, [2, 3], new Float32Array(6)), { code: 'ERR_WRITE', message: `${taken}: could not write (EISDIR: illegal operation on a directory)` });
  assert.deepEqual(readdirSync(taken), ['inside']);
  assert.deepEqual(leftovers(dir), []);
});

test('a dangling symbolic link is written through: its target is created, the link stays a link', () => {
  const dir = folder();
  mkdirSync(join(dir, 'results'));
  symlinkSync('results/real.json', join(dir, 'link.json'));
  writeFileAtomic(join(dir, 'link.json'), '{"a": 1}\n');
  assert.ok(lstatSync(join(dir, 'link.json')).isSymbolicLink());
  assert.equal(readlinkSync(join(dir, 'link.json')), 'results/real.json');
  assert.equal(readFileSync(join(dir, 'results', 'real.json'), 'utf8'), '{"a": 1}\n');
  assert.deepEqual(leftovers(dir), []);
  assert.deepEqual(leftovers(join(dir, 'results')), []);
});

test('a chain of symbolic links is followed to its end, dangling or not; a loop is one line naming the destination', () => {
  const dir = folder();
  mkdirSync(join(dir, 'sub'));
  // first -> sub/second -> ../third (relative to sub/) -> fourth, which does not exist yet
  symlinkSync('sub/second', join(dir, 'first'));
  symlinkSync('../third', join(dir, 'sub', 'second'));
  symlinkSync('fourth', join(dir, 'third'));
  writeFileAtomic(join(dir, 'first'), 'created at the end of the chain\n');
  for (const link of ['first', 'sub/second', 'third']) assert.ok(lstatSync(join(dir, link)).isSymbolicLink(), link);
  assert.equal(readFileSync(join(dir, 'fourth'), 'utf8'), 'created at the end of the chain\n');
  // and again, now that the chain leads to a file: its permissions are kept
  chmodSync(join(dir, 'fourth'), 0o600);
  writeFileAtomic(join(dir, 'first'), 'replaced\n');
  assert.equal(readFileSync(join(dir, 'fourth'), 'utf8'), 'replaced\n');
  assert.equal(statSync(join(dir, 'fourth')).mode & 0o777, 0o600);
  assert.ok(lstatSync(join(dir, 'third')).isSymbolicLink());

  symlinkSync('loop-b', join(dir, 'loop-a'));
  symlinkSync('loop-a', join(dir, 'loop-b'));
  assert.throws(() => writeFileAtomic(join(dir, 'loop-a'), 'x'), {
    code: 'ERR_WRITE', message: `${join(dir, 'loop-a')}: could not write (ELOOP: too many symbolic links encountered)`,
  });
  assert.deepEqual(leftovers(dir), []);
  assert.deepEqual(leftovers(join(dir, 'sub')), []);
});

test('a file name near the 255-byte limit is written: the temporary file gets a short name in the same folder', () => {
  const dir = folder();
  const out = join(dir, `${'a'.repeat(245)}.json`);
  let during: string[] = [];
  writeFileAtomic(out, (write) => {
    write(Buffer.from('[]\n'));
    during = leftovers(dir);
  });
  assert.equal(during.length, 1);
  assert.ok(Buffer.byteLength(during[0]) <= 255, during[0]);
  assert.equal(readFileSync(out, 'utf8'), '[]\n');
  // a name at the limit, replaced (the permissions of the file it replaces)
  const longest = join(dir, `${'b'.repeat(250)}.json`);
  writeFileSync(longest, PREVIOUS);
  chmodSync(longest, 0o640);
  writeFileAtomic(longest, 'new\n');
  assert.equal(readFileSync(longest, 'utf8'), 'new\n');
  assert.equal(statSync(longest).mode & 0o777, 0o640);
  assert.deepEqual(leftovers(dir), []);
});

test('stageFile: the contents under a temporary name until commit(); discard() and discardStagedFiles() leave the destination as it was', () => {
  const dir = folder();
  const out = join(dir, 'model.safetensors');
  writeFileSync(out, PREVIOUS);
  chmodSync(out, 0o600);
  const committed = stageFile(out, 'the new contents\n');
  assert.equal(committed.path, out);
  assert.deepEqual(leftovers(dir), [committed.tmp.slice(dir.length + 1)]);
  assert.equal(readFileSync(committed.tmp, 'utf8'), 'the new contents\n');
  assert.equal(readFileSync(out, 'utf8'), PREVIOUS, 'not in place before commit()');
  committed.commit();
  assert.equal(readFileSync(out, 'utf8'), 'the new contents\n');
  assert.equal(statSync(out).mode & 0o777, 0o600);
  committed.discard(); // nothing to do after a commit
  assert.equal(readFileSync(out, 'utf8'), 'the new contents\n');

  const discarded = stageFile(out, 'never in place\n');
  discarded.discard();
  assert.equal(existsSync(discarded.tmp), false);
  // what a signal handler does: every file staged and not yet committed is removed
  const first = stageFile(out, 'one\n');
  const second = stageFile(join(dir, 'other.json'), 'two\n');
  discardStagedFiles();
  assert.equal(existsSync(first.tmp), false);
  assert.equal(existsSync(second.tmp), false);
  assert.equal(readFileSync(out, 'utf8'), 'the new contents\n');
  assert.equal(existsSync(join(dir, 'other.json')), false);
  assert.deepEqual(leftovers(dir), []);
  // a destination that is not a regular file: staged in the system's temporary folder, copied into it by commit()
  const device = stageFile('/dev/null', 'into the device\n');
  assert.equal(readFileSync(device.tmp, 'utf8'), 'into the device\n');
  device.commit();
  assert.ok(statSync('/dev/null').isCharacterDevice());
  assert.equal(existsSync(device.tmp), false);
});

test('stageFile onto a folder: refused before anything is written; a commit that fails names the destination and leaves no temporary file', () => {
  const dir = folder();
  const taken = join(dir, 'taken.safetensors');
  mkdirSync(taken);
  let called = false;
  assert.throws(() => stageFile(taken, () => { called = true; }), { code: 'ERR_WRITE', message: `${taken}: could not write (EISDIR: illegal operation on a directory)` });
  assert.equal(called, false);
  // the folder appears between stage and commit: the rename fails
  const late = join(dir, 'late.safetensors');
  const staged = stageFile(late, 'x');
  mkdirSync(late);
  writeFileSync(join(late, 'inside'), PREVIOUS);
  assert.throws(() => staged.commit(), { code: 'ERR_WRITE', message: `${late}: could not write (EISDIR: illegal operation on a directory)` });
  assert.deepEqual(readdirSync(late), ['inside']);
  assert.deepEqual(leftovers(dir), []);
});

// ---------------------------------------------------------------- through the CLI

test('classify -o --force: a write that fails part way (a file size limit) keeps the previous file', () => {
  const dir = folder();
  const out = join(dir, 'preds.json');
  writeFileSync(out, PREVIOUS);
  // the top 1000 of one image as JSON is about 90 kB; 16 KiB get written before EFBIG
  const r = run(['classify', '--weights', 'random:1', '--arch', 'seed', '--top', '1000', '--json', '-o', out, '--force', jpeg], 16);
  assertWriteFailure(r, out, 'EFBIG: file too large');
  assert.equal(readFileSync(out, 'utf8'), PREVIOUS);
  assert.deepEqual(leftovers(dir), []);
});

test('convert to .safetensors and .onnx: a write that fails part way keeps the previous file', () => {
  const dir = folder();
  const tiny = join(work, 'tiny.safetensors');
  if (!existsSync(tiny)) writeTinyWeights(tiny, 4, 3);
  assert.ok(statSync(tiny).size > 32 * 1024, 'the converted weights are larger than the limit below');
  for (const name of ['copy.safetensors', 'copy.onnx']) {
    const out = join(dir, name);
    writeFileSync(out, PREVIOUS);
    const r = run(['convert', tiny, out, '--force'], 32);
    assertWriteFailure(r, out, 'EFBIG: file too large');
    assert.equal(readFileSync(out, 'utf8'), PREVIOUS, name);
    assert.deepEqual(leftovers(dir), [], name);
  }
});

test('every option that writes a file names it in one line when it cannot be written', () => {
  const dir = folder();
  // a file where a folder should be: every path under it fails with ENOTDIR
  const blocker = join(dir, 'blocker');
  writeFileSync(blocker, PREVIOUS);
  const bad = (name: string) => join(blocker, name);
  const tiny = join(work, 'tiny-2.safetensors');
  writeTinyWeights(tiny, 2, 5);
  // a dataset of two classes and its shard output, for score and merge
  const data = join(dir, 'data');
  for (const cls of ['first', 'second']) {
    mkdirSync(join(data, cls), { recursive: true });
    copyFileSync(jpeg, join(data, cls, 'coffee.jpg'));
  }
  const labels = join(dir, 'labels.txt');
  writeFileSync(labels, 'first\nsecond\n');
  const scored = join(dir, 'scored.jsonl');
  const score = ['score', data, '--labels', labels, '--weights', tiny, '--workers', '1', '--out', scored];
  const ok = run(score);
  assert.equal(ok.status, 0, ok.stderr);
  const goodTrace = join(dir, 'trace.json');

  const cases: [string[], string][] = [
    [['classify', '--weights', 'random:1', '--arch', 'seed', '-o', bad('preds.txt'), jpeg], bad('preds.txt')],
    [['plot', '--arch', 'seed', '-o', bad('graph.svg')], bad('graph.svg')],
    [['plot', '--arch', 'seed', '-o', bad('graph.png')], bad('graph.png')],
    // the trace is written, then the HTML page fails
    [['profile', '--arch', 'seed', '--batch', '1', '--warmup', '0', '--iters', '1', '--trace', goodTrace, '--html', bad('profile.html')], bad('profile.html')],
    [['convert', tiny, bad('tiny.onnx')], bad('tiny.onnx')],
    [['convert', tiny, bad('tiny.safetensors')], bad('tiny.safetensors')],
    [['merge', scored, '--out', bad('merged.jsonl')], bad('merged.jsonl')],
    [['merge', scored, '--out', bad('merged.csv')], bad('merged.csv')],
    [['merge', scored, '--confusion', bad('confusion.csv')], bad('confusion.csv')],
    // the run that scores, and a resubmitted run that finds its output complete
    [[...score, '--force', '--confusion', bad('confusion.csv')], bad('confusion.csv')],
    [[...score, '--resume', '--confusion', bad('confusion.csv')], bad('confusion.csv')],
  ];
  for (const [args, destination] of cases) {
    const r = run(args);
    assert.equal(r.signal, null, `${args.join(' ')}: ended by ${r.signal}`);
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    // warnings before it are allowed (the trace's "Wrote ...", score's notes); the failure is the last line, alone
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.at(-1), `alexnet-cli: ${destination}: could not write (ENOTDIR: not a directory)`, `${args.join(' ')}:\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
  assert.equal(readFileSync(blocker, 'utf8'), PREVIOUS);
  assert.ok(JSON.parse(readFileSync(goodTrace, 'utf8')), 'the trace before the failed page was written whole');
  assert.deepEqual(leftovers(dir), []);
});

test('an output path that is a folder: refused in one line, the folder untouched', () => {
  const dir = folder();
  const taken = join(dir, 'preds.json');
  mkdirSync(taken);
  writeFileSync(join(taken, 'inside'), PREVIOUS);
  const r = run(['classify', '--weights', 'random:1', '--arch', 'seed', '--json', '-o', taken, '--force', jpeg]);
  assertWriteFailure(r, taken, 'EISDIR: illegal operation on a directory');
  assert.deepEqual(readdirSync(taken), ['inside']);
  assert.deepEqual(leftovers(dir), []);
});

test('classify -o --force that succeeds replaces the file whole, by a rename', () => {
  const dir = folder();
  const out = join(dir, 'preds.json');
  writeFileSync(out, PREVIOUS);
  const before = statSync(out).ino;
  const args = ['classify', '--weights', 'random:1', '--arch', 'seed', '--top', '3', '--json', jpeg];
  const r = run([...args, '-o', out, '--force']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(readFileSync(out, 'utf8'), run(args).stdout);
  assert.notEqual(statSync(out).ino, before);
  assert.deepEqual(leftovers(dir), []);
});

test('a full disk (a small tmpfs, as root): the previous file stays, no temporary file, one line naming ENOSPC', (t) => {
  if (process.getuid?.() !== 0) {
    t.skip('not running as root: this case mounts a small tmpfs to fill; the file size limit cases above cover a write failing part way');
    return;
  }
  const disk = join(folder(), 'disk');
  mkdirSync(disk);
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', disk], { encoding: 'utf8' });
  if (mount.status !== 0) {
    t.skip(`cannot mount a small tmpfs even as root: ${(mount.stderr || mount.error?.message || '').trim()}`);
    return;
  }
  try {
    const out = join(disk, 'preds.json');
    writeFileSync(out, PREVIOUS);
    // fill what is left
    try {
      writeFileSync(join(disk, 'fill'), Buffer.alloc(1 << 20));
      assert.fail('a 1 MB file fitted on a 256 kB tmpfs');
    } catch (e) {
      assert.equal((e as NodeJS.ErrnoException).code, 'ENOSPC');
    }
    const r = run(['classify', '--weights', 'random:1', '--arch', 'seed', '--top', '1000', '--json', '-o', out, '--force', jpeg]);
    assertWriteFailure(r, out, 'ENOSPC: no space left on device');
    assert.equal(readFileSync(out, 'utf8'), PREVIOUS);
    const tiny = join(work, 'tiny.safetensors');
    if (!existsSync(tiny)) writeTinyWeights(tiny, 4, 3);
    const onnx = join(disk, 'tiny.onnx');
    assertWriteFailure(run(['convert', tiny, onnx]), onnx, 'ENOSPC: no space left on device');
    assert.ok(!existsSync(onnx));
    assert.deepEqual(leftovers(disk), []);
  } finally {
    spawnSync('umount', [disk]);
  }
});

test('classify -o with a 250-byte file name (legal: NAME_MAX is 255) writes it', () => {
  const dir = folder();
  const out = join(dir, `${'a'.repeat(245)}.json`);
  const r = run(['classify', '--weights', 'random:1', '--arch', 'seed', '--json', '-o', out, jpeg]);
  assert.equal(r.stderr, '');
  assert.equal(r.status, 0);
  assert.ok(JSON.parse(readFileSync(out, 'utf8')));
  assert.deepEqual(leftovers(dir), []);
});

test('classify -o onto a dangling symbolic link writes its target; the link stays a link', () => {
  const dir = folder();
  mkdirSync(join(dir, 'results'));
  symlinkSync('results/real.json', join(dir, 'link.json'));
  const r = run(['classify', '--weights', 'random:1', '--arch', 'seed', '--json', '-o', join(dir, 'link.json'), jpeg]);
  assert.equal(r.stderr, '');
  assert.equal(r.status, 0);
  assert.ok(lstatSync(join(dir, 'link.json')).isSymbolicLink());
  assert.ok(JSON.parse(readFileSync(join(dir, 'results', 'real.json'), 'utf8')));
  assert.deepEqual(leftovers(dir), []);
});

test('merge --out X.csv whose table cannot be put in place: X.csv.meta.json is left as it was', () => {
  const dir = folder();
  const tiny = join(dir, 'tiny.safetensors');
  writeTinyWeights(tiny, 2, 5);
  const data = join(dir, 'data');
  for (const cls of ['first', 'second']) {
    mkdirSync(join(data, cls), { recursive: true });
    copyFileSync(jpeg, join(data, cls, 'coffee.jpg'));
  }
  writeFileSync(join(dir, 'labels.txt'), 'first\nsecond\n');
  const scored = join(dir, 'scored.jsonl');
  const ok = run(['score', data, '--labels', join(dir, 'labels.txt'), '--weights', tiny, '--workers', '1', '--out', scored]);
  assert.equal(ok.status, 0, ok.stderr);
  // the table's destination is a folder: its rename would fail after its header file was written
  const merged = join(dir, 'merged.csv');
  mkdirSync(merged);
  const meta = `${merged}.meta.json`;
  writeFileSync(meta, PREVIOUS);
  const r = run(['merge', scored, '--out', merged]);
  assertWriteFailure(r, merged, 'EISDIR: illegal operation on a directory');
  assert.equal(readFileSync(meta, 'utf8'), PREVIOUS);
  assert.deepEqual(readdirSync(merged), []);
  assert.deepEqual(leftovers(dir), []);
});
