// The download code against a local HTTP server on 127.0.0.1 that serves generated files and
// misbehaves on request (truncates, drops the connection, ignores Range, redirects, never answers).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readdir, readFile, rm, truncate, utimes, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, before, beforeEach, describe, it } from 'node:test';
import { formatVerify } from '../lib/commands/weights.js';
import { AlexnetError } from '../lib/errors.js';
import {
  cacheDir, convertedPath, ensurePretrained, ensureSource, sourceUrl, verifyCache, PRETRAINED, type PretrainedWeights,
} from '../lib/weights/cache.js';
import { download, progressBar } from '../lib/weights/download.js';

const DATA = randomBytes(200_000);
const SHA = createHash('sha256').update(DATA).digest('hex');
const HALF = 80_000;

type Route = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** Serve `data`, honouring `Range: bytes=N-` with a 206 unless `range` is false. */
function sendFile(req: http.IncomingMessage, res: http.ServerResponse, data: Buffer, range = true): void {
  const match = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  if (range && match) {
    const start = Number(match[1]);
    if (start >= data.length) {
      res.writeHead(416, { 'content-range': `bytes */${data.length}` }).end();
      return;
    }
    res.writeHead(206, {
      'content-length': data.length - start,
      'content-range': `bytes ${start}-${data.length - 1}/${data.length}`,
    });
    res.end(data.subarray(start));
    return;
  }
  res.writeHead(200, { 'content-length': data.length, 'accept-ranges': range ? 'bytes' : 'none' });
  res.end(data);
}

/** Send the headers of the whole file, then only `cut` bytes, then close (gracefully or not). */
function sendCut(res: http.ServerResponse, data: Buffer, cut: number, how: 'end' | 'destroy'): void {
  res.writeHead(200, { 'content-length': data.length });
  res.write(data.subarray(0, cut), () => {
    if (how === 'end') res.socket?.end();
    else res.socket?.destroy();
  });
}

/** A route whose first response stops after HALF of DATA (`how`), and whose later ones serve DATA (Range too) */
function cutOnce(how: 'end' | 'destroy'): Route {
  let calls = 0;
  return (req, res) => {
    calls += 1;
    if (calls === 1) sendCut(res, DATA, HALF, how);
    else sendFile(req, res, DATA);
  };
}

let server: http.Server;
let base: string;
const routes = new Map<string, Route>();
const requests: { url: string; range?: string }[] = [];

let dir: string;
const dirs: string[] = [];

before(async () => {
  server = http.createServer((req, res) => {
    requests.push({ url: req.url ?? '', range: req.headers.range });
    const route = routes.get(req.url ?? '');
    if (route) route(req, res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(async () => {
  routes.clear();
  requests.length = 0;
  dir = await mkdtemp(join(tmpdir(), 'alexnet-cli-download-'));
  dirs.push(dir);
});

describe('download', () => {
  it('downloads, verifies and renames into place', async () => {
    routes.set('/good.bin', (req, res) => sendFile(req, res, DATA));
    const dest = join(dir, 'sub', 'good.bin');
    const progress: number[] = [];
    const result = await download(`${base}/good.bin`, dest, {
      sha256: SHA, size: DATA.length, onProgress: (done, total) => { progress.push(done); assert.equal(total, DATA.length); },
    });
    assert.deepEqual(result, { sha256: SHA, size: DATA.length, resumed: false });
    assert.deepEqual(await readFile(dest), DATA);
    assert.equal(existsSync(`${dest}.part`), false);
    assert.equal(progress.at(-1), DATA.length);
    assert.equal(requests[0].range, undefined);
  });

  it('accepts a SHA-256 prefix (torchvision file names) and rejects a wrong one', async () => {
    routes.set('/good.bin', (req, res) => sendFile(req, res, DATA));
    const dest = join(dir, 'good.bin');
    await download(`${base}/good.bin`, dest, { sha256Prefix: SHA.slice(0, 8) });
    assert.deepEqual(await readFile(dest), DATA);

    const other = join(dir, 'other.bin');
    await assert.rejects(download(`${base}/good.bin`, other, { sha256Prefix: '00000000' }), {
      code: 'ERR_CHECKSUM',
      message: `Expected SHA-256 00000000... for other.bin but found ${SHA}`,
    });
    assert.equal(existsSync(other), false);
  });

  it('keeps a truncated transfer as .part and resumes it with a Range request', async () => {
    routes.set('/cut.bin', cutOnce('end'));
    const url = `${base}/cut.bin`;
    const dest = join(dir, 'cut.bin');
    await assert.rejects(download(url, dest, { sha256: SHA }), {
      code: 'ERR_DOWNLOAD',
      message: `Could not download ${url}: connection lost after ${HALF} of ${DATA.length} bytes; run again to resume. Download it elsewhere and pass --weights FILE, or set ALEXNET_CLI_CACHE to a folder that has cut.bin.`,
    });
    assert.equal(existsSync(dest), false);
    assert.deepEqual(await readFile(`${dest}.part`), DATA.subarray(0, HALF));

    const result = await download(url, dest, { sha256: SHA, size: DATA.length });
    assert.deepEqual(result, { sha256: SHA, size: DATA.length, resumed: true });
    assert.equal(requests[1].range, `bytes=${HALF}-`);
    assert.deepEqual(await readFile(dest), DATA);
    assert.equal(existsSync(`${dest}.part`), false);
  });

  it('keeps what arrived before a dropped connection and completes on the next call', async () => {
    routes.set('/drop.bin', cutOnce('destroy'));
    const dest = join(dir, 'drop.bin');
    await assert.rejects(download(`${base}/drop.bin`, dest, { sha256: SHA }), { code: 'ERR_DOWNLOAD' });
    assert.equal(existsSync(dest), false);
    await download(`${base}/drop.bin`, dest, { sha256: SHA });
    assert.deepEqual(await readFile(dest), DATA);
    assert.equal(existsSync(`${dest}.part`), false);
  });

  it('deletes the .part and names expected and found hashes on a wrong hash', async () => {
    const corrupt = Buffer.from(DATA);
    corrupt[1234] ^= 0xff;
    const found = createHash('sha256').update(corrupt).digest('hex');
    routes.set('/bad.bin', (req, res) => sendFile(req, res, corrupt));
    const dest = join(dir, 'bad.bin');
    await assert.rejects(download(`${base}/bad.bin`, dest, { sha256: SHA }), {
      code: 'ERR_CHECKSUM',
      message: `Expected SHA-256 ${SHA} for bad.bin but found ${found}`,
    });
    assert.equal(existsSync(dest), false);
    assert.equal(existsSync(`${dest}.part`), false);
  });

  it('rejects a file of the wrong size even when no length header says so', async () => {
    routes.set('/long.bin', (_req, res) => {
      res.writeHead(200, { connection: 'close' }); // no content-length: read until close
      res.end(DATA);
    });
    const dest = join(dir, 'long.bin');
    await assert.rejects(download(`${base}/long.bin`, dest, { sha256: SHA, size: DATA.length - 1 }), {
      code: 'ERR_CHECKSUM',
      message: `Expected SHA-256 ${SHA} for long.bin but found ${DATA.length} bytes instead of ${DATA.length - 1}`,
    });
    assert.equal(existsSync(dest), false);
    assert.equal(existsSync(`${dest}.part`), false);
  });

  it('starts over when the server ignores Range and answers 200', async () => {
    routes.set('/norange.bin', (req, res) => sendFile(req, res, DATA, false));
    const dest = join(dir, 'norange.bin');
    // a .part whose bytes are wrong: appending the rest to it would fail the hash
    await writeFile(`${dest}.part`, randomBytes(HALF));
    const result = await download(`${base}/norange.bin`, dest, { sha256: SHA });
    assert.equal(requests[0].range, `bytes=${HALF}-`);
    assert.deepEqual(result, { sha256: SHA, size: DATA.length, resumed: false });
    assert.deepEqual(await readFile(dest), DATA);
  });

  it('starts over when the .part is as long as the file but wrong, or the server answers 416', async () => {
    routes.set('/good.bin', (req, res) => sendFile(req, res, DATA));
    const dest = join(dir, 'good.bin');
    await writeFile(`${dest}.part`, randomBytes(DATA.length));
    await download(`${base}/good.bin`, dest, { sha256: SHA, size: DATA.length });
    assert.deepEqual(await readFile(dest), DATA);

    const dest2 = join(dir, 'good2.bin');
    await writeFile(`${dest2}.part`, randomBytes(DATA.length + 10)); // no size given: the server says 416
    requests.length = 0;
    await download(`${base}/good.bin`, dest2, { sha256: SHA });
    assert.deepEqual(requests.map((r) => r.range), [`bytes=${DATA.length + 10}-`, undefined]);
    assert.deepEqual(await readFile(dest2), DATA);
  });

  it('follows relative and absolute redirects, keeping the Range header', async () => {
    routes.set('/models/a.bin', (_req, res) => res.writeHead(302, { location: '/mirror/a.bin' }).end());
    routes.set('/mirror/a.bin', (_req, res) => res.writeHead(301, { location: `${base}/cdn/a.bin?sig=1` }).end());
    routes.set('/cdn/a.bin?sig=1', (req, res) => sendFile(req, res, DATA));
    const dest = join(dir, 'a.bin');
    await writeFile(`${dest}.part`, DATA.subarray(0, HALF));
    const result = await download(`${base}/models/a.bin`, dest, { sha256: SHA });
    assert.equal(result.resumed, true);
    assert.deepEqual(requests.map((r) => [r.url, r.range]), [
      ['/models/a.bin', `bytes=${HALF}-`], ['/mirror/a.bin', `bytes=${HALF}-`], ['/cdn/a.bin?sig=1', `bytes=${HALF}-`],
    ]);
    assert.deepEqual(await readFile(dest), DATA);
  });

  it('reports an HTTP error status in the one-line message', async () => {
    const url = `${base}/missing.bin`;
    await assert.rejects(download(url, join(dir, 'missing.bin'), { sha256: SHA }), {
      code: 'ERR_DOWNLOAD',
      message: `Could not download ${url}: HTTP 404 Not Found. Download it elsewhere and pass --weights FILE, or set ALEXNET_CLI_CACHE to a folder that has missing.bin.`,
    });
  });

  it('says so in one line when the connection is refused', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const url = `http://127.0.0.1:${port}/alexnet-owt-7be5be79.pth`;
    const dest = join(dir, 'alexnet-owt-7be5be79.pth');
    await assert.rejects(download(url, dest, { sha256Prefix: '7be5be79' }), {
      code: 'ERR_DOWNLOAD',
      message: `Could not download ${url}: connection refused. Download it elsewhere and pass --weights FILE, or set ALEXNET_CLI_CACHE to a folder that has alexnet-owt-7be5be79.pth.`,
    });
    assert.equal(existsSync(dest), false);
  });

  it('gives up on a server that never answers after timeoutMs', async () => {
    routes.set('/silent.bin', () => { /* never answers */ });
    const url = `${base}/silent.bin`;
    await assert.rejects(download(url, join(dir, 'silent.bin'), { sha256: SHA, timeoutMs: 200 }), {
      code: 'ERR_DOWNLOAD',
      message: `Could not download ${url}: no answer in 0.2 s. Download it elsewhere and pass --weights FILE, or set ALEXNET_CLI_CACHE to a folder that has silent.bin.`,
    });
  });

  it('stops on abort and keeps the .part', async () => {
    const controller = new AbortController();
    routes.set('/slow.bin', (_req, res) => {
      res.writeHead(200, { 'content-length': DATA.length });
      res.write(DATA.subarray(0, HALF)); // and never the rest
    });
    const dest = join(dir, 'slow.bin');
    await assert.rejects(download(`${base}/slow.bin`, dest, {
      sha256: SHA, signal: controller.signal, onProgress: (done) => { if (done >= HALF) controller.abort(); },
    }), { name: 'AbortError' });
    assert.equal(existsSync(dest), false);
    assert.deepEqual(await readFile(`${dest}.part`), DATA.subarray(0, HALF));
  });

  it('gives up on a transfer that stalls after timeoutMs and keeps the .part', async () => {
    routes.set('/stall.bin', (_req, res) => {
      res.writeHead(200, { 'content-length': DATA.length });
      res.write(DATA.subarray(0, HALF)); // and never the rest
    });
    const url = `${base}/stall.bin`;
    const dest = join(dir, 'stall.bin');
    await assert.rejects(download(url, dest, { sha256: SHA, timeoutMs: 200 }), {
      code: 'ERR_DOWNLOAD',
      message: `Could not download ${url}: connection lost after ${HALF} of ${DATA.length} bytes (no answer in 0.2 s); run again to resume. Download it elsewhere and pass --weights FILE, or set ALEXNET_CLI_CACHE to a folder that has stall.bin.`,
    });
    assert.deepEqual(await readFile(`${dest}.part`), DATA.subarray(0, HALF));
  });
});

describe('progressBar', () => {
  it('draws nothing when the stream is not a terminal', () => {
    assert.equal(progressBar('x', { isTTY: false, write: () => assert.fail('wrote') }), undefined);
  });

  it('shows bytes done/total, MB/s and ETA on a terminal', () => {
    const out: string[] = [];
    let clock = 1000;
    const bar = progressBar('torchvision', { isTTY: true, columns: 120, write: (text) => out.push(text) }, () => clock);
    assert.ok(bar);
    bar.update(0, 100_000_000);
    clock += 2000;
    bar.update(20_000_000, 100_000_000);
    bar.end();
    assert.equal(out[1], `\rtorchvision 20.0/100.0 MB  10.0 MB/s  ETA 0:08  [######------------------------]\x1b[K`);
    assert.equal(out.at(-1), '\n');
  });

  it('redraws at most 10 times a second: not 99 ms after a draw, again at 100 ms, always at the last byte', () => {
    const out: string[] = [];
    let clock = 5000;
    const bar = progressBar('w', { isTTY: true, columns: 120, write: (text) => out.push(text) }, () => clock)!;
    bar.update(0, 1000);
    assert.equal(out.length, 1);
    clock += 99;
    bar.update(100, 1000);
    assert.equal(out.length, 1, 'a redraw 99 ms after the last one');
    clock += 1;
    bar.update(200, 1000);
    assert.equal(out.length, 2, 'no redraw 100 ms after the last one');
    assert.match(out[1], /^\rw 0\.0\/0\.0 MB/);
    bar.update(1000, 1000);
    assert.equal(out.length, 3, 'the last byte is drawn at once');
  });
});

describe('cache', () => {
  it('finds the cache folder from ALEXNET_CLI_CACHE, XDG_CACHE_HOME, HOME', () => {
    assert.equal(cacheDir({ ALEXNET_CLI_CACHE: '/c', XDG_CACHE_HOME: '/x', HOME: '/h' }), '/c');
    assert.equal(cacheDir({ XDG_CACHE_HOME: '/x', HOME: '/h' }), join('/x', 'alexnet-cli'));
    assert.equal(cacheDir({ XDG_CACHE_HOME: 'relative', HOME: '/h' }), join('/h', '.cache', 'alexnet-cli'));
    assert.equal(cacheDir({ HOME: '/h' }), join('/h', '.cache', 'alexnet-cli'));
  });

  it('knows torchvision and bvlc, with hashes and a mirror override', () => {
    const torchvision = PRETRAINED.torchvision;
    assert.ok(torchvision.sha256?.startsWith(torchvision.sha256Prefix ?? 'missing'));
    assert.equal(torchvision.size, 244408911);
    assert.equal(sourceUrl(torchvision, {}), 'https://download.pytorch.org/models/alexnet-owt-7be5be79.pth');
    assert.equal(sourceUrl(PRETRAINED.bvlc, { ALEXNET_CLI_WEIGHTS_URL: 'http://127.0.0.1:9/w/' }), 'http://127.0.0.1:9/w/bvlcalexnet-12.onnx');
  });

  const registry: Record<string, PretrainedWeights> = {
    tiny: { name: 'tiny', description: 'test', arch: 'torchvision', url: 'https://invalid.example/tiny-0000.pth', fileName: 'tiny.pth', size: DATA.length, sha256: SHA },
  };

  it('ensurePretrained downloads and converts once, then uses the cache', async () => {
    routes.set('/tiny.pth', (req, res) => sendFile(req, res, DATA));
    const env = { ALEXNET_CLI_CACHE: join(dir, 'cache'), ALEXNET_CLI_WEIGHTS_URL: base };
    const converted: [string, string][] = [];
    const convert = async (src: string, dst: string) => {
      converted.push([src, dst]);
      await copyFile(src, dst);
    };
    const path = await ensurePretrained('tiny', { env, registry, convert, onProgress: () => {} });
    assert.equal(path, join(dir, 'cache', 'tiny.safetensors'));
    assert.deepEqual(await readFile(path), DATA);
    assert.equal(converted.length, 1);
    assert.equal(converted[0][0], join(dir, 'cache', 'tiny.pth'));
    assert.notEqual(converted[0][1], path); // written elsewhere, then renamed
    assert.equal(existsSync(converted[0][1]), false);

    assert.equal(await ensurePretrained('tiny', { env, registry, convert }), path);
    assert.equal(converted.length, 1);
    assert.equal(requests.length, 1);
    // the converted file removed afterwards (rm): the next call converts again, from the cached source
    await rm(path);
    assert.equal(await ensurePretrained('tiny', { env, registry, convert }), path);
    assert.equal(converted.length, 2);
    assert.equal(requests.length, 1);
    assert.deepEqual(await readFile(path), DATA);
  });

  it('ensurePretrained: a write error during the conversion names the cache file, not its temporary name', async () => {
    routes.set('/tiny.pth', (req, res) => sendFile(req, res, DATA));
    const env = { ALEXNET_CLI_CACHE: join(dir, 'cache-full'), ALEXNET_CLI_WEIGHTS_URL: base };
    // what the atomic writer throws on a full disk, naming the path it was given
    const convert = async (_src: string, dst: string) => {
      throw new AlexnetError(`${dst}: could not write (ENOSPC: no space left on device)`, 'ERR_WRITE');
    };
    await assert.rejects(ensurePretrained('tiny', { env, registry, convert }),
      { code: 'ERR_WRITE', message: `${convertedPath('tiny', env)}: could not write (ENOSPC: no space left on device)` });
    assert.equal(existsSync(convertedPath('tiny', env)), false);
  });

  it('ensurePretrained leaves no converted file when the converter fails', async () => {
    routes.set('/tiny.pth', (req, res) => sendFile(req, res, DATA));
    const env = { ALEXNET_CLI_CACHE: join(dir, 'cache'), ALEXNET_CLI_WEIGHTS_URL: base };
    const convert = async (_src: string, dst: string) => {
      await writeFile(dst, 'half');
      throw new Error('converter failed');
    };
    await assert.rejects(ensurePretrained('tiny', { env, registry, convert }), { message: 'converter failed' });
    assert.equal(existsSync(convertedPath('tiny', env)), false);
    assert.equal(existsSync(join(dir, 'cache', 'tiny.pth')), true); // the verified source stays
    // the next call (in the same process) converts again, and this time it works
    const path = await ensurePretrained('tiny', { env, registry, convert: (src: string, dst: string) => copyFile(src, dst) });
    assert.deepEqual(await readFile(path), DATA);
  });

  it('ensureSource refuses a wrong file already in the cache and leaves it alone', async () => {
    const env = { ALEXNET_CLI_CACHE: dir, ALEXNET_CLI_WEIGHTS_URL: base };
    await writeFile(join(dir, 'tiny.pth'), 'not the weights');
    const found = createHash('sha256').update('not the weights').digest('hex');
    await assert.rejects(ensureSource('tiny', { env, registry }), {
      code: 'ERR_CHECKSUM',
      message: `Expected SHA-256 ${SHA} for ${join(dir, 'tiny.pth')} but found ${found}; remove it (rm ${join(dir, 'tiny.pth')}) and run \`alexnet-cli weights download tiny\` to fetch it again`,
    });
    assert.equal(await readFile(join(dir, 'tiny.pth'), 'utf8'), 'not the weights');
    assert.equal(requests.length, 0);
  });

  it('ensurePretrained names the choices for an unknown name', async () => {
    await assert.rejects(ensurePretrained('vgg', { env: { ALEXNET_CLI_CACHE: dir }, convert: () => {} }), {
      code: 'ERR_INVALID_ARG_VALUE',
      message: 'Expected one of torchvision, bvlc for pretrained weights but received vgg',
    });
  });

  it('processes sharing a cache download and convert once: the others wait for the lock', async () => {
    // a slow transfer, so that all three are running while the first downloads
    routes.set('/tiny.pth', (_req, res) => {
      res.writeHead(200, { 'content-length': DATA.length });
      let sent = 0;
      const step = () => {
        if (sent >= DATA.length) {
          res.end();
          return;
        }
        res.write(DATA.subarray(sent, sent + 20_000));
        sent += 20_000;
        setTimeout(step, 40);
      };
      step();
    });
    const cache = join(dir, 'shared-cache');
    const log = join(dir, 'converted.log');
    const child = join(dir, 'child.mjs');
    await writeFile(child, `
      const [cacheJs, registry, cache, base, log] = process.argv.slice(2);
      const { ensurePretrained } = await import(cacheJs);
      const { appendFileSync, copyFileSync } = await import('node:fs');
      const path = await ensurePretrained('tiny', {
        env: { ALEXNET_CLI_CACHE: cache, ALEXNET_CLI_WEIGHTS_URL: base }, registry: JSON.parse(registry), onProgress: () => {},
        onWait: (holder) => appendFileSync(log + '.waited', holder + '\\n'),
        convert: (src, dst) => { appendFileSync(log, process.pid + '\\n'); copyFileSync(src, dst); },
      });
      process.stdout.write(path);
    `);
    const cacheJs = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '..', 'lib', 'weights', 'cache.js')).href;
    const run = () => new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const p = spawn(process.execPath, [child, cacheJs, JSON.stringify(registry), cache, base, log]);
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d) => { stdout += d; });
      p.stderr.on('data', (d) => { stderr += d; });
      p.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    const results = await Promise.all([run(), run(), run()]);
    for (const r of results) {
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, join(cache, 'tiny.safetensors'));
    }
    assert.equal(requests.filter((r) => r.url === '/tiny.pth').length, 1, 'one download');
    assert.equal((await readFile(log, 'utf8')).trim().split('\n').length, 1, 'one conversion');
    assert.ok(existsSync(`${log}.waited`), 'the others waited for the lock');
    assert.deepEqual(await readFile(join(cache, 'tiny.safetensors')), DATA);
    assert.deepEqual((await readdir(cache)).sort(), ['tiny.pth', 'tiny.safetensors']); // no lock, no .part left
  });

  it('a lock whose holder is gone is taken over; a live one is waited for', async () => {
    routes.set('/tiny.pth', (req, res) => sendFile(req, res, DATA));
    const env = { ALEXNET_CLI_CACHE: dir, ALEXNET_CLI_WEIGHTS_URL: base };
    const lock = join(dir, 'tiny.pth.lock');
    const waited: string[] = [];
    const onWait = (holder: string) => waited.push(holder);

    // a process of this host that has exited
    const gone = spawnSync(process.execPath, ['-e', '']).pid;
    await writeFile(lock, `${hostname()} ${gone}\n`);
    assert.equal(await ensureSource('tiny', { env, registry, onWait, onProgress: () => {} }), join(dir, 'tiny.pth'));
    assert.deepEqual(waited, []);
    assert.equal(existsSync(lock), false);

    // another host's lock, untouched for a minute
    await rm(join(dir, 'tiny.pth'));
    await writeFile(lock, 'elsewhere 4242\n');
    const old = new Date(Date.now() - 60_000);
    await utimes(lock, old, old);
    await ensureSource('tiny', { env, registry, onWait, onProgress: () => {} });
    assert.deepEqual(waited, []);

    // another host's lock in use: wait until it is released
    await rm(join(dir, 'tiny.pth'));
    await writeFile(lock, 'elsewhere 4242\n');
    const pending = ensureSource('tiny', { env, registry, onWait, onProgress: () => {} });
    await new Promise((resolve) => setTimeout(resolve, 600));
    assert.deepEqual(waited, ['elsewhere 4242']);
    assert.equal(existsSync(join(dir, 'tiny.pth')), false, 'nothing downloaded while the lock is held');
    await rm(lock);
    assert.equal(await pending, join(dir, 'tiny.pth'));
    assert.deepEqual(await readFile(join(dir, 'tiny.pth')), DATA);

    // without onWait, the wait is said on stderr, naming the holder and the file
    await rm(join(dir, 'tiny.pth'));
    await writeFile(lock, 'elsewhere 4242\n');
    const said: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string | Uint8Array) => { said.push(String(chunk)); return true; }) as typeof process.stderr.write;
    try {
      const quiet = ensureSource('tiny', { env, registry, onProgress: () => {} });
      await new Promise((resolve) => setTimeout(resolve, 600));
      await rm(lock);
      await quiet;
    } finally {
      process.stderr.write = write;
    }
    assert.deepEqual(said, ['alexnet-cli: waiting for elsewhere 4242, which is writing tiny.pth into the cache\n']);
  });

  it('ensurePretrained refuses a converted file whose safetensors header cannot be right, with the command that repairs it', async () => {
    const env = { ALEXNET_CLI_CACHE: dir };
    const path = convertedPath('tiny', env);
    const header = (length: number, size: number) => { const b = Buffer.alloc(size); b.writeBigUInt64LE(BigInt(length), 0); return b; };
    // [what the file holds, the header length and file size the message names], each found by hand
    const cases: [string, () => Promise<void>, number, number][] = [
      ['4 bytes: no room for the length', () => writeFile(path, Buffer.alloc(4)), 0, 4],
      ['a header of 1 byte (the shortest JSON object is {})', () => writeFile(path, header(1, 16)), 1, 16],
      ['a header past the end of the file', () => writeFile(path, header(20, 16)), 20, 16],
      // a sparse file of 100 MB and a bit: the header fits, but 100e6 bytes is past the limit on headers
      ['a header over 100e6 bytes', async () => { await writeFile(path, header(100e6 + 1, 8)); await truncate(path, 100e6 + 10); }, 100e6 + 1, 100e6 + 10],
    ];
    for (const [what, make, length, size] of cases) {
      await make();
      await assert.rejects(ensurePretrained('tiny', { env, registry }), {
        code: 'ERR_WEIGHTS',
        message: `${path}: expected the converted weights in the cache to be complete safetensors but found a header of ${length} bytes in a file of ${size}; `
          + `remove it (rm ${path}) and run \`alexnet-cli weights download tiny\` to convert them again`,
      }, what);
    }
    await rm(path);
  });

  it('weights verify reports OK, MISMATCH (with the command that fixes it) and missing files; nothing downloaded fails', async () => {
    const env = { ALEXNET_CLI_CACHE: dir };
    const empty = await formatVerify(undefined, env);
    assert.deepEqual(empty, {
      ok: false,
      lines: [
        `torchvision: not downloaded (${join(dir, 'alexnet-owt-7be5be79.pth')})`,
        `bvlc: not downloaded (${join(dir, 'bvlcalexnet-12.onnx')})`,
        `nothing to verify: no pretrained weights are downloaded in ${dir}; run \`alexnet-cli weights download [NAME]\` first`,
      ],
    });
    const cli = fileURLToPath(new URL('../bin/alexnet-cli.js', import.meta.url));
    const run = spawnSync(process.execPath, [cli, 'weights', 'verify', 'bvlc'], { encoding: 'utf8', env: { ...process.env, ...env } });
    assert.equal(run.status, 1);
    assert.equal(run.stdout, `bvlc: not downloaded (${join(dir, 'bvlcalexnet-12.onnx')})\nnothing to verify: bvlc is not downloaded in ${dir}; run \`alexnet-cli weights download bvlc\` first\n`);
    await writeFile(join(dir, 'bvlcalexnet-12.onnx'), 'corrupt');
    const found = createHash('sha256').update('corrupt').digest('hex');
    const bad = await formatVerify(['bvlc'], env);
    assert.deepEqual(bad, {
      ok: false,
      lines: [`bvlc: MISMATCH ${join(dir, 'bvlcalexnet-12.onnx')}: expected SHA-256 ${PRETRAINED.bvlc.sha256} but found ${found}; remove it (rm ${join(dir, 'bvlcalexnet-12.onnx')}) and run \`alexnet-cli weights download bvlc\` to fetch it again`],
    });
    await writeFile(join(dir, 'tiny.pth'), DATA);
    assert.deepEqual(await verifyCache(undefined, env, registry), [
      { name: 'tiny', path: join(dir, 'tiny.pth'), status: 'ok', expected: SHA, found: SHA },
    ]);
  });
});

after(async () => {
  for (const made of dirs) await rm(made, { recursive: true, force: true });
});
