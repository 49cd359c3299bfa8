// Downloading weight files: streamed to `<dest>.part`, hashed while streaming, renamed to `dest` only
// after the hash matched, so an interrupted or corrupt download never leaves a file under the final
// name. A `.part` left by an interrupted run is resumed with an HTTP Range request.
import { AlexnetError } from '../errors.js';
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import type http from 'node:http';
import { basename, dirname } from 'node:path';
import { finished } from 'node:stream/promises';
import { megabytes } from '../format.js';

export interface DownloadOptions {
  /** the full SHA-256 of the file (hex) ... */
  sha256?: string;
  /** ... or a prefix of it (torchvision's convention: the 8 hex digits in the file name) */
  sha256Prefix?: string;
  /** the size in bytes, when known: tells a truncated transfer (resumable) from a corrupt one */
  size?: number;
  /** called as bytes arrive; `total` is undefined when neither the server nor `size` says */
  onProgress?: (done: number, total: number | undefined) => void;
  signal?: AbortSignal;
  /** how long the connection may stay silent (connecting or mid-transfer); default 30 s */
  timeoutMs?: number;
}

export interface DownloadResult {
  sha256: string;
  size: number;
  /** true when an existing `.part` was continued with a Range request */
  resumed: boolean;
}

const DEFAULT_TIMEOUT_MS = 30_000;
// curl and browsers stop at 20-50; download.pytorch.org and github.com need one or two
const MAX_REDIRECTS = 10;

class NetworkError extends Error {}

export function downloadError(url: string, file: string, reason: string): AlexnetError {
  return new AlexnetError(
    `Could not download ${url}: ${reason}. Download it elsewhere and pass --weights FILE, ` +
    `or set ALEXNET_CLI_CACHE to a folder that has ${file}.`,
    'ERR_DOWNLOAD',
  );
}

export function checksumError(file: string, expected: string, found: string): AlexnetError {
  return new AlexnetError(`Expected SHA-256 ${expected} for ${file} but found ${found}`, 'ERR_CHECKSUM');
}

/** Whether `actual` (full hex SHA-256) satisfies the expectation in `options`. */
export function hashMatches(actual: string, options: Pick<DownloadOptions, 'sha256' | 'sha256Prefix'>): boolean {
  if (options.sha256 !== undefined && actual !== options.sha256.toLowerCase()) return false;
  if (options.sha256Prefix !== undefined && !actual.startsWith(options.sha256Prefix.toLowerCase())) return false;
  return true;
}

function expectedHash(options: Pick<DownloadOptions, 'sha256' | 'sha256Prefix'>): string {
  return options.sha256 ?? `${options.sha256Prefix}...`;
}

async function hashInto(hash: Hash, path: string, signal?: AbortSignal): Promise<void> {
  for await (const chunk of createReadStream(path, { signal })) hash.update(chunk as Buffer);
}

/** The hex SHA-256 of a file. */
export async function hashFile(path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  await hashInto(hash, path, signal);
  return hash.digest('hex');
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
}

/** Why a request failed, in words, for the one-line error. */
function networkReason(err: NodeJS.ErrnoException, timeoutMs: number): string {
  switch (err.code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN': return `host not found (${err.code}; offline?)`;
    case 'ECONNREFUSED': return 'connection refused';
    case 'ECONNRESET': return 'connection reset by the server';
    case 'ETIMEDOUT': return `no answer in ${timeoutMs / 1000} s`;
    case 'ENETUNREACH':
    case 'EHOSTUNREACH': return `network unreachable (${err.code})`;
    default: return err.code ? `${err.message} (${err.code})` : err.message;
  }
}

// node:http and node:https (TLS) load on the first request: every CLI command imports this module, and
// they would cost each of them ~3 MB of RSS and startup time
let clients: Promise<[typeof import('node:http'), typeof import('node:https')]> | undefined;

/** GET `url` following redirects; resolves with the final response (status 2xx or 416). */
async function request(url: string, headers: Record<string, string>, options: DownloadOptions, redirects = 0): Promise<http.IncomingMessage> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  clients ??= Promise.all([import('node:http'), import('node:https')]);
  const [http, https] = await clients;
  return new Promise((resolve, reject) => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      reject(new NetworkError(`not a valid URL`));
      return;
    }
    const client = parsed.protocol === 'https:' ? https : parsed.protocol === 'http:' ? http : undefined;
    if (!client) {
      reject(new NetworkError(`unsupported protocol ${parsed.protocol}`));
      return;
    }
    let response: http.IncomingMessage | undefined;
    const req = client.get(parsed, { headers, signal: options.signal }, (res) => {
      response = res;
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (redirects >= MAX_REDIRECTS) {
          reject(new NetworkError(`more than ${MAX_REDIRECTS} redirects`));
          return;
        }
        resolve(request(new URL(res.headers.location, parsed).href, headers, options, redirects + 1));
        return;
      }
      if ((status >= 200 && status < 300) || status === 416) {
        resolve(res);
        return;
      }
      res.resume();
      reject(new NetworkError(`HTTP ${status} ${res.statusMessage ?? ''}`.trimEnd()));
    });
    req.setTimeout(timeoutMs, () => {
      const err: NodeJS.ErrnoException = new Error('timeout');
      err.code = 'ETIMEDOUT';
      // mid-transfer the body stream is what the caller reads: fail it with the timeout, not a reset
      response?.destroy(err);
      req.destroy(err);
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.name === 'AbortError') reject(err);
      else reject(new NetworkError(networkReason(err, timeoutMs)));
    });
  });
}

/**
 * Download `url` to `dest`, checking its SHA-256 (and size, when given).
 *
 * Errors: ERR_DOWNLOAD (network, HTTP status, truncated transfer: the `.part` is kept so that the
 * next call resumes), ERR_CHECKSUM (wrong hash or size: the `.part` is deleted), AbortError.
 */
export async function download(url: string, dest: string, options: DownloadOptions): Promise<DownloadResult> {
  if (options.sha256 === undefined && options.sha256Prefix === undefined) {
    throw new TypeError('download() needs options.sha256 or options.sha256Prefix');
  }
  const part = `${dest}.part`;
  const file = basename(dest);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  await mkdir(dirname(dest), { recursive: true });

  const fail = async (found: string): Promise<never> => {
    await rm(part, { force: true });
    throw checksumError(file, expectedHash(options), found);
  };
  const finish = async (hash: Hash, size: number, resumed: boolean): Promise<DownloadResult> => {
    const sha256 = hash.digest('hex');
    if (!hashMatches(sha256, options)) await fail(sha256);
    if (options.size !== undefined && size !== options.size) await fail(`${size} bytes instead of ${options.size}`);
    // flush to disk before the rename makes the file visible under its final name
    const handle = await open(part, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(part, dest);
    return { sha256, size, resumed };
  };

  let hash = createHash('sha256');
  let have = await fileSize(part);
  if (options.size !== undefined && have > options.size) {
    await rm(part, { force: true });
    have = 0;
  }
  if (have > 0) {
    // re-hash what an earlier run left, so the final hash covers the whole file
    await hashInto(hash, part, options.signal);
    if (have === options.size) {
      if (hashMatches(hash.copy().digest('hex'), options)) return finish(hash, have, true);
      // complete but wrong: left by an older run against a file that changed; start over
      await rm(part, { force: true });
      have = 0;
      hash = createHash('sha256');
    }
  }

  const headers: Record<string, string> = { 'user-agent': 'alexnet-cli', 'accept-encoding': 'identity' };
  if (have > 0) headers.range = `bytes=${have}-`;

  let res: http.IncomingMessage;
  try {
    res = await request(url, headers, options);
    if (res.statusCode === 416) {
      // the server cannot serve the rest of our .part (it changed, or .part is bogus): start over
      res.resume();
      await rm(part, { force: true });
      have = 0;
      hash = createHash('sha256');
      delete headers.range;
      res = await request(url, headers, options);
      if (res.statusCode === 416) {
        res.resume();
        throw new NetworkError('HTTP 416 Range Not Satisfiable');
      }
    }
  } catch (err) {
    if (err instanceof NetworkError) throw downloadError(url, file, err.message);
    throw err;
  }

  const resumed = have > 0 && res.statusCode === 206 && contentRangeStart(res) === have;
  if (have > 0 && !resumed) {
    // 200 (no Range support) or a 206 for some other range: take the whole body from the start
    if (res.statusCode === 206) {
      res.resume();
      await rm(part, { force: true });
      return download(url, dest, options);
    }
    have = 0;
    hash = createHash('sha256');
  }
  const total = expectedTotal(res, have) ?? options.size;

  let done = have;
  options.onProgress?.(done, total);
  // Not stream.pipeline: on a read error it destroys the file stream and drops what is still buffered
  // there; here every byte received reaches the .part, so the next run resumes from all of it. The
  // large buffer keeps the response from being paused often: what a paused response still holds is
  // lost when the connection drops.
  const out = createWriteStream(part, { flags: resumed ? 'a' : 'w', highWaterMark: 1 << 20 });
  let writeError: Error | undefined;
  out.on('error', (err) => {
    writeError = err;
    res.destroy(err);
  });
  out.on('drain', () => res.resume());
  res.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    done += chunk.length;
    options.onProgress?.(done, total);
    if (!out.write(chunk)) res.pause();
  });
  let readError: NodeJS.ErrnoException | undefined;
  try {
    await finished(res);
  } catch (err) {
    readError = err as NodeJS.ErrnoException;
  }
  await new Promise((resolve) => {
    if (out.closed) {
      resolve(undefined); // closed by a write error, already recorded
      return;
    }
    out.once('close', resolve);
    out.end();
  });
  if (writeError) throw writeError;
  // an aborted request fails the response with a plain ECONNRESET; report the abort itself
  if (options.signal?.aborted) throw options.signal.reason;
  if (total !== undefined && done < total) {
    // a reset or early close says nothing the byte count does not; a timeout does
    const why = readError && readError.code !== 'ECONNRESET' ? ` (${networkReason(readError, timeoutMs)})` : '';
    throw downloadError(url, file, `connection lost after ${done} of ${total} bytes${why}; run again to resume`);
  }
  if (readError) throw downloadError(url, file, networkReason(readError, timeoutMs));
  return finish(hash, done, resumed);
}

/** The first byte position of a 206 response (`Content-Range: bytes 100-999/1000`). */
function contentRangeStart(res: http.IncomingMessage): number | undefined {
  const match = /^bytes (\d+)-/.exec(res.headers['content-range'] ?? '');
  return match ? Number(match[1]) : undefined;
}

/** The full file size as the response states it, or undefined. */
function expectedTotal(res: http.IncomingMessage, have: number): number | undefined {
  if (res.statusCode === 206) {
    const match = /\/(\d+)$/.exec(res.headers['content-range'] ?? '');
    if (match) return Number(match[1]);
  }
  const length = res.headers['content-length'];
  return length !== undefined ? Number(length) + (res.statusCode === 206 ? have : 0) : undefined;
}

interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

/**
 * A progress line for `download`'s onProgress (bytes done/total, MB/s, ETA), redrawn at most 10 times
 * a second; undefined when `stream` is not a terminal, so that logs and pipes get nothing.
 */
export function progressBar(label: string, stream: ProgressStream = process.stderr, now = () => Date.now()):
  { update: (done: number, total: number | undefined) => void; end: () => void } | undefined {
  if (!stream.isTTY) return undefined;
  const start = now();
  let lastDraw = 0;
  let firstDone: number | undefined;
  let drawn = false;
  const update = (done: number, total: number | undefined) => {
    firstDone ??= done;
    const t = now();
    if (drawn && t - lastDraw < 100 && done !== total) return;
    lastDraw = t;
    // the speed counts this run's bytes only, not the part resumed from disk
    const seconds = (t - start) / 1000;
    const rate = seconds > 0 ? (done - firstDone) / seconds : 0;
    let line = `${label} ${megabytes(done)}${total !== undefined ? `/${megabytes(total)}` : ''} MB  ${megabytes(rate)} MB/s`;
    if (total !== undefined) {
      const eta = rate > 0 ? Math.round((total - done) / rate) : undefined;
      line += `  ETA ${eta === undefined ? '--:--' : `${Math.floor(eta / 60)}:${String(eta % 60).padStart(2, '0')}`}`;
      const width = Math.max(0, Math.min(30, (stream.columns ?? 80) - line.length - 4));
      if (width >= 10) {
        const filled = Math.round((width * done) / Math.max(total, 1));
        line += `  [${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
      }
    }
    stream.write(`\r${line}\x1b[K`);
    drawn = true;
  };
  const end = () => {
    if (drawn) stream.write('\n');
  };
  return { update, end };
}
