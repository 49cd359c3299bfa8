// Every output file alexnet-cli writes (results, reports, plots, converted weights) goes through here:
// a temporary file in the destination's folder, fsync'd, then renamed onto the destination, so a full
// disk or a kill mid-write leaves the previous file whole instead of a truncated one. At the bottom of
// lib/, beside errors.ts: weights/ (the lowest layer that writes files) and every layer above import it.
// A command that must read its output back before it replaces the destination (quantize) stages the file
// (stageFile) and commits it later; its signal handlers remove what is staged (discardStagedFiles).
import { randomBytes } from 'node:crypto';
import {
  closeSync, fchmodSync, fsyncSync, lstatSync, openSync, readlinkSync, readSync, realpathSync, renameSync, rmSync, statSync, writeSync, type Stats,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, sep } from 'node:path';
import { getSystemErrorMap } from 'node:util';
import { AlexnetError } from './errors.js';

/** Writes bytes to the file being written: what a large file (250 MB of weights) is written through, in chunks */
export type ChunkWriter = (bytes: Uint8Array) => void;

/** A whole file's contents, or a function that writes them in chunks (so they are never one Buffer) */
export type FileContents = string | Uint8Array | ((write: ChunkWriter) => void);

/**
 * A file written in full under a temporary name, not yet in place: what a command that checks its output
 * before it replaces the destination holds (quantize reads and measures the int8 file it wrote).
 */
export interface StagedFile {
  /** the destination as the caller named it: errors name it */
  readonly path: string;
  /** the temporary file holding the contents (in the folder of the file `path` resolves to, or the system's temporary folder for a destination that is not a regular file) */
  readonly tmp: string;
  /**
   * Put the contents in place: a rename onto the destination (through any symbolic links), or for a destination
   * that is not a regular file, a copy into it. On failure the temporary file is removed, the destination is as it
   * was, and the error is an AlexnetError naming `path` (ERR_WRITE).
   */
  commit(): void;
  /** Remove the temporary file, leaving the destination as it was; nothing to do after a commit */
  discard(): void;
}

/** The temporary files of every StagedFile not yet committed or discarded, for discardStagedFiles */
const staged = new Set<string>();

/**
 * Remove the temporary file of every staged file not yet committed or discarded. For a signal handler: a
 * process killed by a signal's default action runs no `finally`, so a command that holds a staged file across
 * awaits (quantize) removes it from its SIGINT / SIGTERM handler before it exits.
 */
export function discardStagedFiles(): void {
  for (const tmp of staged) {
    try { rmSync(tmp, { force: true }); } catch { /* the process is on its way out: remove what can be removed */ }
  }
  staged.clear();
}

/**
 * Replace `path` with `contents`, whole or not at all. On any failure the temporary file is removed, the
 * previous file is left as it was, and the error is an AlexnetError naming `path`:
 * `out.json: could not write (ENOSPC: no space left on device)`. An error thrown by a contents
 * callback that is not a system error (a validation error) is passed on as it is, after the clean-up.
 *
 * A symbolic link is written through (the link stays a link, a dangling one gets its target created), an
 * existing file keeps its permissions, and a destination that is not a regular file (/dev/stdout, a named
 * pipe) is written directly, as there is nothing to rename onto.
 */
export function writeFileAtomic(path: string, contents: FileContents): void {
  const destination = resolveDestination(path);
  if (destination.existing && !destination.existing.isFile() && !destination.existing.isDirectory()) {
    writeDirect(path, contents);
    return;
  }
  stageResolved(path, destination, contents).commit();
}

/**
 * writeFileAtomic in two steps: the contents written, fsync'd and closed under a temporary name now, put in place
 * by commit() (or removed by discard()). Failures as writeFileAtomic's, naming `path`. A destination that is a
 * folder is refused here, before the contents are written, rather than at the rename.
 */
export function stageFile(path: string, contents: FileContents): StagedFile {
  return stageResolved(path, resolveDestination(path), contents);
}

/** Linux's MAXSYMLINKS: a longer chain of links is ELOOP, as the kernel would say */
const MAX_SYMLINKS = 40;

interface Destination {
  /** the file to rename onto: `path` with its symbolic links followed (the last one may lead nowhere yet) */
  target: string;
  /** what is there now (after the links), or undefined for a new file */
  existing?: Stats;
}

function resolveDestination(path: string): Destination {
  try {
    let existing: Stats;
    try {
      existing = statSync(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      return { target: danglingTarget(path) };
    }
    return { target: existing.isFile() ? realpathSync(path) : path, existing };
  } catch (e) {
    throw writeError(path, e);
  }
}

/**
 * The file to create for a path that does not exist: the path itself, or where its chain of symbolic links leads
 * (realpath fails on a dangling link). Each link's text is taken relative to its folder's real path and not
 * normalized, so a `..` in it means what it means to the kernel.
 */
function danglingTarget(path: string): string {
  let target = path;
  for (let links = 0; ; links++) {
    try {
      if (!lstatSync(target).isSymbolicLink()) return target;
    } catch (e) {
      // nothing there: the file to create (or a path that cannot be one: the write says why)
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return target;
      throw e;
    }
    if (links === MAX_SYMLINKS) throw systemError('ELOOP', 'open');
    const link = readlinkSync(target);
    target = isAbsolute(link) ? link : `${realpathSync(dirname(target))}${sep}${link}`;
  }
}

function stageResolved(path: string, { target, existing }: Destination, contents: FileContents): StagedFile {
  if (existing?.isDirectory()) throw writeError(path, systemError('EISDIR', 'open'));
  const regular = existing === undefined || existing.isFile();
  // pid for concurrent processes, random bits for concurrent writers in one (worker threads included)
  const suffix = `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const folder = regular ? dirname(target) : tmpdir();
  // a file name is at most 255 bytes (NAME_MAX): a legal name near it gets a short temporary name instead
  const name = regular && Buffer.byteLength(basename(target) + suffix) <= 255 ? basename(target) + suffix : `.alexnet-cli${suffix}`;
  // not path.join: a `..` left in a followed link's text must keep the kernel's meaning (see danglingTarget)
  const tmp = `${folder}${sep}${name}`;
  let fd: number | undefined;
  let created = false;
  try {
    fd = openSync(tmp, 'wx', 0o666);
    created = true;
    staged.add(tmp);
    if (existing) fchmodSync(fd, existing.mode & 0o7777);
    writeContents(fd, contents);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
  } catch (e) {
    if (fd !== undefined) {
      try { closeSync(fd); } catch { /* the error below is the one to report */ }
    }
    if (created) remove(tmp);
    throw writeError(path, e);
  }
  let done = false;
  return {
    path,
    tmp,
    commit() {
      if (done) throw new Error(`${path}: the staged file was already committed or discarded`);
      done = true;
      try {
        if (regular) renameSync(tmp, target);
        else writeDirect(path, (write) => copyFile(tmp, write));
        staged.delete(tmp);
      } catch (e) {
        remove(tmp);
        throw writeError(path, e);
      }
      if (!regular) remove(tmp);
    },
    discard() {
      if (done) return;
      done = true;
      remove(tmp);
    },
  };
}

function remove(tmp: string): void {
  try { rmSync(tmp, { force: true }); } catch { /* the error being reported, if any, is the one that matters */ }
  staged.delete(tmp);
}

/** `path`'s bytes through `write`, 1 MB at a time */
function copyFile(path: string, write: ChunkWriter): void {
  const fd = openSync(path, 'r');
  try {
    const chunk = Buffer.alloc(1 << 20);
    for (let n; (n = readSync(fd, chunk, 0, chunk.length, null)) > 0;) write(chunk.subarray(0, n));
  } finally {
    closeSync(fd);
  }
}

/** A system error as Node throws it, for a failure found here rather than by a system call */
function systemError(code: string, syscall: string): NodeJS.ErrnoException {
  const errno = [...getSystemErrorMap()].find(([, [name]]) => name === code)?.[0];
  return Object.assign(new Error(`${code}, ${syscall}`), { code, errno, syscall });
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
