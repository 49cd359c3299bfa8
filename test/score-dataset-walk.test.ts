// lib/score/dataset.ts walking real folders with what a dataset on disk may hold besides images: a
// FIFO, a link to a device, a link back to a folder already walked, a dangling link, a folder named
// like an image, hidden files, a class folder that is a link, two folders naming one class, an empty
// class; a flat folder whose ground truth lists missing images and misses others. Every item, warning
// and ignored file is written out by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { ClassResolver, compareBytes, readDataset } from '../lib/score/dataset.js';

const mkfifo = existsSync('/usr/bin/mkfifo') ? '/usr/bin/mkfifo' : undefined;
const skip = mkfifo ? false : 'mkfifo (coreutils) is not installed: the walk test needs a FIFO';

function files(root: string, paths: string[]): void {
  for (const p of paths) {
    mkdirSync(join(root, p, '..'), { recursive: true });
    writeFileSync(join(root, p), '');
  }
}

test('ImageFolder: special entries are reported, not scored; links are followed once', { skip }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'alexnet-walk-'));
  files(root, ['n0/a.jpg', 'n0/.hidden.jpg', 'n0/sub/b.png', 'n0/folder.jpg/c.jpg', 'n0/notes.txt', 'n1/x.jpg', '1/y.jpg', 'README', '.git/HEAD']);
  mkdirSync(join(root, 'n3'));
  assert.equal(spawnSync(mkfifo!, [join(root, 'n0', 'pipe.jpg')]).status, 0);
  symlinkSync('.', join(root, 'n0', 'loop'));
  symlinkSync('nowhere.jpg', join(root, 'n0', 'dangling.jpg'));
  symlinkSync('/dev/null', join(root, 'n0', 'devnull.jpg'));
  symlinkSync('n1', join(root, 'n2'));
  symlinkSync('/nonexistent-folder', join(root, 'broken'));
  const socket = createServer();
  await new Promise<void>((resolve) => socket.listen(join(root, 'n0', 'sock.jpg'), resolve));
  const labels = ['n0', 'n1', 'n2', 'n3'].map((wnid, index) => ({ index, wnid, label: `class ${wnid}` }));
  const ds = readDataset(root, undefined, new ClassResolver(labels), 'labels.txt');
  assert.equal(ds.layout, 'image-folder');
  assert.deepEqual(ds.items, [
    { path: '1/y.jpg', label: 1 }, { path: 'n0/a.jpg', label: 0 }, { path: 'n0/dangling.jpg', label: 0 }, { path: 'n0/folder.jpg/c.jpg', label: 0 },
    { path: 'n0/sub/b.png', label: 0 }, { path: 'n1/x.jpg', label: 1 }, { path: 'n2/x.jpg', label: 2 },
  ]);
  assert.deepEqual(ds.ignored, ['README', 'broken', 'n0/notes.txt']);
  assert.deepEqual(ds.warnings, [
    'folders 1 and n1 name the same class 1; both are scored as class 1',
    '5 entries are not a regular image file (not scored): n0/devnull.jpg (a character device), n0/folder.jpg (a folder named like an image; what it holds is listed), n0/loop (a link back to a folder already listed), n0/pipe.jpg (a FIFO), n0/sock.jpg (a socket)',
    'no image files in 1 class folder: n3',
  ]);
  socket.close();
});

test('ImageFolder: unknown and ambiguous folder names are refused with a hint', () => {
  const root = mkdtempSync(join(tmpdir(), 'alexnet-walk-'));
  files(root, ['crane/a.jpg', 'mystery/b.jpg', 'c/x.jpg', 'd/x.jpg']);
  const labels = [{ index: 0, wnid: 'n0', label: 'crane' }, { index: 1, wnid: 'n1', label: 'crane' }, { index: 2, wnid: '', label: 'c' }, { index: 3, wnid: '', label: 'd' }];
  assert.throws(() => readDataset(root, undefined, new ClassResolver(labels), 'my-labels.txt'), {
    code: 'ERR_INPUT',
    message: `Expected the folders of ${root} to name classes of the 4-class head (a WNID, a name from my-labels.txt, or an index 0-3) but found 2 unknown: crane, mystery; crane name more than one class, use the WNID or index`,
  });
  // two empty classes: the plural
  const two = mkdtempSync(join(tmpdir(), 'alexnet-walk-'));
  mkdirSync(join(two, 'c'));
  mkdirSync(join(two, 'd'));
  files(two, ['n0/a.jpg']);
  assert.deepEqual(readDataset(two, undefined, new ClassResolver(labels), 'l').warnings, ['no image files in 2 class folders: c, d']);
});

test('a flat folder: listed images missing, images not listed, a FIFO; paths normalised', { skip }, () => {
  const root = mkdtempSync(join(tmpdir(), 'alexnet-flat-'));
  files(root, ['a.jpg', 'b.jpg', 'c.jpg', 'd.jpg', 'sub/e.jpg', 'notes.txt']);
  assert.equal(spawnSync(mkfifo!, [join(root, 'pipe.jpg')]).status, 0);
  const gt = join(mkdtempSync(join(tmpdir(), 'alexnet-gt-')), 'truth.csv');
  writeFileSync(gt, 'a.jpg,0\n./b.jpg,1\nsub\\e.jpg,1\nx.jpg,0\ny.jpg,1\n');
  const labels = [{ index: 0, wnid: 'n0', label: 'zero' }, { index: 1, wnid: 'n1', label: 'one' }];
  const ds = readDataset(root, gt, new ClassResolver(labels), 'l');
  assert.deepEqual(ds.items, [{ path: 'a.jpg', label: 0 }, { path: 'b.jpg', label: 1 }, { path: 'sub/e.jpg', label: 1 }, { path: 'x.jpg', label: 0 }, { path: 'y.jpg', label: 1 }]);
  assert.deepEqual(ds.ignored, ['c.jpg', 'd.jpg']);
  assert.deepEqual(ds.warnings, [
    `${gt} lists 5 images, ${root} holds 5 image files`,
    '2 listed images are missing (scored as unreadable): x.jpg, y.jpg',
    `2 image files are not in ${gt} (not scored): c.jpg, d.jpg`,
    '1 entry is not a regular image file (not scored): pipe.jpg (a FIFO)',
  ]);
  // the same count on disk as listed, but other names: still warned
  writeFileSync(gt, 'a.jpg,0\nb.jpg,1\nc.jpg,0\nd.jpg,1\nz.jpg,0\n');
  assert.deepEqual(readDataset(root, gt, new ClassResolver(labels), 'l').warnings.slice(0, 3), [
    `${gt} lists 5 images, ${root} holds 5 image files`,
    '1 listed image is missing (scored as unreadable): z.jpg',
    `1 image file is not in ${gt} (not scored): sub/e.jpg`,
  ]);
  // labels unknown to the head: each named once
  writeFileSync(gt, 'a.jpg,7\nb.jpg,7\nc.jpg,n9\n');
  assert.throws(() => readDataset(root, gt, new ClassResolver(labels), 'labels.txt'), {
    message: `Expected the labels in ${gt} to name classes of the 2-class head (a WNID, a name from labels.txt, or an index 0-1) but found 2 unknown: 7, n9`,
  });
  // a BVLC line without its index, a Kaggle line without a prediction
  writeFileSync(gt, 'a.jpg 0\nb.jpg\nc.jpg 1\n');
  assert.throws(() => readDataset(root, gt, new ClassResolver(labels), 'l'), { message: `${gt}: expected "file index" (BVLC val.txt) on every line but found other text on line 2` });
  writeFileSync(gt, 'ImageId,PredictionString\na,n0 1 2 3 4\n,n1\nc, \n');
  assert.throws(() => readDataset(root, gt, new ClassResolver(labels), 'l'), { message: `${gt}: expected ImageId,PredictionString (Kaggle LOC_val_solution.csv) on every line but found other text on line 3, line 4` });
  // a header row other than path,label is a bad row; Windows line ends are read
  writeFileSync(gt, 'file,class\r\na.jpg,0\r\n');
  assert.throws(() => readDataset(root, gt, new ClassResolver(labels), 'l'), { message: /^Expected the labels in .* but found 1 unknown: class$/ });
});

test('ClassResolver: indices of more than one digit; compareBytes orders by code point (UTF-8 bytes)', () => {
  const labels = Array.from({ length: 20 }, (_, index) => ({ index, wnid: '', label: `name ${index}` }));
  const r = new ClassResolver(labels);
  assert.deepEqual(['12', '19', '20', '1x', 'x1', ' 1'].map((n) => r.resolve(n)), [12, 19, undefined, undefined, undefined, undefined]);
  // UTF-16 puts U+10000 (a surrogate pair, from 0xD800) below U+E000..U+FFFF; UTF-8 and code points put it above
  const sorted = ['\uFFFD', '\u{10000}', '\uE000', '\uD7FF', 'z'].sort(compareBytes);
  assert.deepEqual(sorted, ['z', '\uD7FF', '\uE000', '\uFFFD', '\u{10000}']);
  assert.ok(compareBytes('a\u{10000}', 'a\uFFFF') > 0);
  assert.ok(compareBytes('a\uFFFF', 'a\u{10000}') < 0);
  assert.equal(compareBytes('ab', 'ab'), 0);
  assert.ok(compareBytes('ab', 'abc') < 0);
  assert.ok(compareBytes('b', 'abc') > 0);
});
