// Every output file alexnet-cli writes (results, reports, plots, converted weights) goes through here:
// a temporary file in the destination's folder, fsync'd, then renamed onto the destination, so a full
// disk or a kill mid-write leaves the previous file whole instead of a truncated one. At the bottom of
// lib/, beside errors.ts: weights/ (the lowest layer that writes files) and every layer above import it.
import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fsyncSync, openSync, realpathSync, renameSync, rmSync, statSync, writeSync, type Stats } from 'node:fs';
import { getSystemErrorMap } from 'node:util';
import { AlexnetError } from './errors.js';

/** Writes bytes to the file being written: what a large file (250 MB of weights) is written through, in chunks */
export type ChunkWriter = (bytes: Uint8Array) => void;

/** A whole file's contents, or a function that writes them in chunks (so they are never one Buffer) */
export type FileContents = string | Uint8Array | ((write: ChunkWriter) => void);

/**
 * Replace `path` with `contents`, whole or not at all. On any failure the temporary file is removed, the
 * previous file is left as it was, and the error is an AlexnetError naming `path`:
 * `out.json: could not write (ENOSPC: no space left on device)`. An error thrown by a contents
 * callback that is not a system error (a validation error) is passed on as it is, after the clean-up.
 *
 * A symbolic link is written through (the link stays a link), an existing file keeps its permissions,
 * and a destination that is not a regular file (/dev/stdout, a named pipe) is written directly, as
 * there is nothing to rename onto.
 */
export function writeFileAtomic(path: string, contents: FileContents): void {
  let existing: Stats | undefined;
  try {
    existing = statSync(path);
  } catch {
    // a new file (or a path that cannot be one: the write below says why)
  }
  if (existing && !existing.isFile() && !existing.isDirectory()) {
    writeDirect(path, contents);
    return;
  }
  const target = existing ? realpathSync(path) : path;
  // pid for concurrent processes, random bits for concurrent writers in one (worker threads included)
  const tmp = `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  let fd: number | undefined;
  let created = false;
  try {
    fd = openSync(tmp, 'wx', 0o666);
    created = true;
    if (existing) fchmodSync(fd, existing.mode & 0o7777);
    writeContents(fd, contents);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, target);
  } catch (e) {
    if (fd !== undefined) {
      try { closeSync(fd); } catch { /* the error below is the one to report */ }
    }
    if (created) {
      try { rmSync(tmp, { force: true }); } catch { /* the error below is the one to report */ }
    }
    throw writeError(path, e);
  }
}

function writeDirect(path: string, contents: FileContents): void {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'w');
    writeContents(fd, contents);
    closeSync(fd);
    fd = undefined;
  } catch (e) {
    if (fd !== undefined) {
      try { closeSync(fd); } catch { /* the error below is the one to report */ }
    }
    throw writeError(path, e);
  }
}

function writeContents(fd: number, contents: FileContents): void {
  // write(2) may write less than asked: loop until every byte is out
  const write: ChunkWriter = (bytes) => {
    for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done, bytes.length - done);
  };
  if (typeof contents === 'function') contents(write);
  else write(typeof contents === 'string' ? Buffer.from(contents, 'utf8') : contents);
}

/** A system error (ENOSPC, EACCES, ...) as one line naming the destination; any other error unchanged */
function writeError(path: string, e: unknown): unknown {
  const err = e as NodeJS.ErrnoException;
  if (typeof err?.code !== 'string' || typeof err.syscall !== 'string') return e;
  // Node's message ends in ", write '/tmp/out.json.tmp-123-ab12cd34'": the temporary name means nothing to the user
  const description = (err.errno !== undefined ? getSystemErrorMap().get(err.errno)?.[1] : undefined) ?? err.message.replace(/^[A-Z0-9_]+: /, '').replace(/, \w+( '.*)?$/, '');
  const wrapped = new AlexnetError(`${path}: could not write (${err.code}: ${description})`, 'ERR_WRITE');
  wrapped.cause = e;
  return wrapped;
}
