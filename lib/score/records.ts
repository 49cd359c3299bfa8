// The per-image output of `score` (JSONL or CSV), its header line, and reading it back for
// --resume and `merge`.
//
// JSONL: line 1 {"alexnetCliScore":2, ...header}, then one object per image:
//   {"path":"n01440764/x.JPEG","label":0,"top":[0,391,...],"prob":[0.93,0.01,...]}
//   {"path":"n01440764/y.JPEG","label":0,"error":"... expected a JPEG or PNG image but found ..."}
// CSV: a plain table that csv.DictReader / pandas read as it is: line 1 the column names, then
//   path,label,top1..topK,prob1..probK,error   (RFC 4180 quoting)
// and the header beside it, as JSON, in OUT.meta.json (metadataPath), written before the first line.
// (Outputs of earlier releases carried it in a first "# alexnet-cli score {...}" line: still read.)
//
// Lines are appended a batch at a time and fsync'd, so after a crash or kill -9 the file holds
// whole batches plus at most one torn last line (no newline yet), which readOutput() drops.
import { closeSync, existsSync, ftruncateSync, openSync, readFileSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { AlexnetError } from '../errors.js';
import { processRuns } from '../weights/lock.js';
import { defaultLabels, readLabels, type ClassLabel } from '../labels.js';
import { splitCsvLine } from './dataset.js';

// 2: the header names the dataset and the weights by their SHA-256 (datasetSha256, weightsSha256),
// and images are in UTF-8 byte order (version 1 sorted by UTF-16 code unit)
export const FORMAT_VERSION = 2;

export interface ScoreHeader {
  alexnetCliScore: number;
  /** the dataset folder as given (absolute), its layout and ground-truth file */
  dataset: string;
  layout: string;
  groundTruth: string | null;
  /** images in the whole dataset after --limit, before sharding */
  datasetSize: number;
  /** SHA-256 of those images' sorted `path<TAB>label` lines (dataset.ts datasetDigest): the dataset wherever it is mounted */
  datasetSha256: string;
  shard: { index: number; count: number };
  /** images in this shard */
  count: number;
  weights: string;
  /** SHA-256 of the weights file; null for random:SEED, which `weights` names exactly */
  weightsSha256: string | null;
  /** the --labels file (absolute), null for the built-in ImageNet list or numbered classes */
  labels: string | null;
  arch: string;
  numClasses: number;
  /** predictions stored per image */
  top: number;
  preprocess: unknown;
  exifOrientation: boolean;
  limit: number | null;
}

/** The class names of the head an output was scored with: `override`, else the run's --labels file where it is readable here, else the default ones */
export function headerLabels(header: ScoreHeader, override?: string): ClassLabel[] {
  if (override) return readLabels(override);
  if (header.labels && existsSync(header.labels)) return readLabels(header.labels);
  return defaultLabels(header.numClasses);
}

export interface ScoreRecord {
  path: string;
  label: number;
  /** class indices, best first (absent for unreadable images) */
  top?: number[];
  prob?: number[];
  error?: string;
}

export type OutputFormat = 'jsonl' | 'csv';

export function outputFormatFor(path: string): OutputFormat {
  const lower = path.toLowerCase();
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) return 'jsonl';
  if (lower.endsWith('.csv')) return 'csv';
  throw new AlexnetError(`Expected a .jsonl or .csv file for --out but received ${path}`, 'ERR_USAGE');
}

/** the first line of CSV outputs of earlier releases: the header as JSON after this prefix */
const LEGACY_CSV_HEADER_PREFIX = '# alexnet-cli score ';

/** where a CSV output's header (ScoreHeader as JSON) is: beside it, `OUT.meta.json` */
export const metadataPath = (path: string): string => `${path}.meta.json`;

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** 7 significant digits: float32 probabilities round-trip closely enough for any metric */
const formatProbability = (p: number): number => Number(p.toPrecision(7));

/**
 * The output's first line: JSONL the header itself, CSV the column names (the header goes to
 * metadataPath, formatMetadata)
 */
export function formatHeader(header: ScoreHeader, format: OutputFormat): string {
  if (format === 'jsonl') return `${JSON.stringify(header)}\n`;
  const columns = ['path', 'label'];
  for (let k = 1; k <= header.top; k++) columns.push(`top${k}`);
  for (let k = 1; k <= header.top; k++) columns.push(`prob${k}`);
  columns.push('error');
  return `${columns.join(',')}\n`;
}

/** the contents of a CSV output's metadata file */
export function formatMetadata(header: ScoreHeader): string {
  return `${JSON.stringify(header, null, 2)}\n`;
}

export function formatRecord(record: ScoreRecord, format: OutputFormat, top: number): string {
  const prob = record.prob?.map(formatProbability);
  if (format === 'jsonl') {
    const out: ScoreRecord = record.error !== undefined
      ? { path: record.path, label: record.label, error: record.error }
      : { path: record.path, label: record.label, top: record.top, prob };
    return `${JSON.stringify(out)}\n`;
  }
  const cells = [csvField(record.path), String(record.label)];
  for (let k = 0; k < top; k++) cells.push(record.top?.[k] !== undefined ? String(record.top[k]) : '');
  for (let k = 0; k < top; k++) cells.push(prob?.[k] !== undefined ? String(prob[k]) : '');
  cells.push(record.error !== undefined ? csvField(record.error.replace(/\r?\n/g, ' ')) : '');
  return `${cells.join(',')}\n`;
}

export interface OutputContents {
  header: ScoreHeader | null;
  records: ScoreRecord[];
  /** byte length of the whole lines kept (the file is cut here before appending) */
  validBytes: number;
  /** a last line without its newline was dropped (the process died while writing it) */
  tornTail: boolean;
  /** CSV: the column-name line is there (false when a kill came right after the header) */
  hasColumns: boolean;
}

function parseRecord(line: string, format: OutputFormat, top: number): ScoreRecord {
  if (format === 'jsonl') {
    const r = JSON.parse(line) as ScoreRecord;
    if (typeof r.path !== 'string' || typeof r.label !== 'number') throw new Error('missing path or label');
    return r;
  }
  const cells = splitCsvLine(line);
  if (cells.length !== 3 + 2 * top) throw new Error(`expected ${3 + 2 * top} columns, found ${cells.length}`);
  const label = Number(cells[1]);
  if (!cells[0] || !Number.isInteger(label)) throw new Error('missing path or label');
  const error = cells[2 + 2 * top];
  if (error !== '') return { path: cells[0], label, error };
  const nums = (from: number) => cells.slice(from, from + top).filter((c) => c !== '').map(Number);
  return { path: cells[0], label, top: nums(2), prob: nums(2 + top) };
}

function checkVersion(path: string, header: ScoreHeader, where: string): void {
  if (header?.alexnetCliScore !== FORMAT_VERSION) {
    const found = typeof header?.alexnetCliScore === 'number' ? `version ${header.alexnetCliScore} (another alexnet-cli release; score again, or merge with that release)` : 'other text';
    throw new AlexnetError(`${path}: expected an alexnet-cli score output (header line version ${FORMAT_VERSION}) but found ${found} ${where}`);
  }
}

/** the header of a CSV output, from its metadata file */
function readMetadata(path: string): ScoreHeader {
  const meta = metadataPath(path);
  let text: string;
  try {
    text = readFileSync(meta, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new AlexnetError(`${path}: expected an alexnet-cli score output with its header beside it in ${meta} but found ${code === 'ENOENT' ? 'no such file' : code}`);
  }
  let header: ScoreHeader;
  try {
    header = JSON.parse(text) as ScoreHeader;
  } catch {
    throw new AlexnetError(`${meta}: expected the JSON header of ${path} but found other text`);
  }
  checkVersion(meta, header, 'in it');
  return header;
}

/** Reads an output file; a torn last line is dropped, any other bad line is an error naming it */
export function readOutput(path: string): OutputContents {
  const format = outputFormatFor(path);
  const buffer = readFileSync(path);
  const lastNewline = buffer.lastIndexOf(0x0a);
  const validBytes = lastNewline + 1;
  const tornTail = validBytes < buffer.length;
  const lines = buffer.subarray(0, validBytes).toString('utf8').split('\n');
  lines.pop(); // after the last newline
  if (lines.length === 0) return { header: null, records: [], validBytes: 0, tornTail, hasColumns: false };
  let header: ScoreHeader;
  let first = 1;
  const legacyCsv = format === 'csv' && lines[0].startsWith(LEGACY_CSV_HEADER_PREFIX);
  if (format === 'csv' && !legacyCsv) {
    header = readMetadata(path);
    const columns = formatHeader(header, 'csv').trimEnd();
    if (lines[0] !== columns) {
      throw new AlexnetError(`${path}: expected the columns ${columns} on line 1 (as ${metadataPath(path)} describes) but found other text`);
    }
  } else {
    try {
      header = JSON.parse(legacyCsv ? lines[0].slice(LEGACY_CSV_HEADER_PREFIX.length) : lines[0]) as ScoreHeader;
    } catch {
      throw new AlexnetError(`${path}: expected an alexnet-cli score output (header line version ${FORMAT_VERSION}) but found other text on line 1`);
    }
    checkVersion(path, header, 'on line 1');
  }
  if (legacyCsv) {
    // the column-name line; when the header alone was written before a kill, it may be missing
    if (lines.length < 2) return { header, records: [], validBytes, tornTail, hasColumns: false };
    first = 2;
  }
  const records: ScoreRecord[] = [];
  for (let i = first; i < lines.length; i++) {
    if (lines[i] === '') continue;
    try {
      records.push(parseRecord(lines[i], format, header.top));
    } catch (e) {
      throw new AlexnetError(`${path}: expected a ${format.toUpperCase()} record on line ${i + 1} but found a bad line (${(e as Error).message})`);
    }
  }
  return { header, records, validBytes, tornTail, hasColumns: true };
}

/**
 * One run at a time per output file: `<out>.lock`, created with O_EXCL, holds "pid host". A lock whose
 * process is gone (same host, kill(pid, 0) fails with ESRCH) is stale and taken over; one from another
 * host is never guessed stale (shared file systems): the message says which file to remove.
 */
export class OutputLock {
  // process.exit (a second Ctrl-C) skips finally blocks: the lock goes with the process anyway
  private readonly onExit = () => this.release();

  private constructor(readonly lockPath: string, private fd: number) {
    process.on('exit', this.onExit);
  }

  static acquire(outPath: string): OutputLock {
    const lockPath = `${outPath}.lock`;
    const me = `${process.pid} ${hostname()}\n`;
    for (let attempt = 0; attempt < 2; attempt++) {
      let fd: number;
      try {
        fd = openSync(lockPath, 'wx');
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'EEXIST') throw new AlexnetError(`${lockPath}: cannot create the lock file of ${outPath} (${code ?? (e as Error).message})`);
        const holder = readLockHolder(lockPath);
        if (holder && holder.host === hostname() && !processRuns(holder.pid)) {
          try { unlinkSync(lockPath); } catch { /* another run took it over first: try again */ }
          continue;
        }
        const who = holder ? `process ${holder.pid} on ${holder.host}` : 'another run';
        throw new AlexnetError(`${outPath}: expected no other run writing this output but ${who} holds ${lockPath}; wait for it, or remove the lock file if that run is gone`);
      }
      writeSync(fd, me);
      return new OutputLock(lockPath, fd);
    }
    throw new AlexnetError(`${outPath}: expected to take the lock ${lockPath} but other runs keep taking it`);
  }

  release(): void {
    if (this.fd < 0) return;
    process.off('exit', this.onExit);
    closeSync(this.fd);
    this.fd = -1;
    try { unlinkSync(this.lockPath); } catch { /* already gone */ }
  }
}

function readLockHolder(lockPath: string): { pid: number; host: string } | undefined {
  try {
    const fd = openSync(lockPath, 'r');
    try {
      const buf = Buffer.alloc(512);
      const text = buf.toString('utf8', 0, readSync(fd, buf, 0, buf.length, 0));
      const m = /^(\d+) (\S+)/.exec(text);
      return m ? { pid: Number(m[1]), host: m[2] } : undefined;
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

/** A failed write of the output as one line naming the file; a full disk as ENOSPC */
function writeError(path: string, e: unknown): AlexnetError {
  const err = e as NodeJS.ErrnoException;
  const reason = err.code === 'ENOSPC' ? 'no space left on device (ENOSPC)' : err.code ? `${err.code}: ${err.message}` : String(err.message);
  return new AlexnetError(`${path}: cannot write the predictions: ${reason}; every batch written before is in the file, continue with --resume once it can be written`);
}

/** OUT.meta.json, whole or not at all: written to a temporary file, fsync'd, renamed into place */
async function writeMetadata(path: string, header: ScoreHeader): Promise<void> {
  const meta = metadataPath(path);
  const tmp = `${meta}.${process.pid}.tmp`;
  try {
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(formatMetadata(header));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, meta);
  } catch (e) {
    await rm(tmp, { force: true });
    throw writeError(meta, e);
  }
}

/** Appends batches of records, each fsync'd before the next is accepted */
export class OutputWriter {
  private constructor(private readonly handle: FileHandle, readonly format: OutputFormat, private readonly top: number,
    private readonly path: string) {}

  /** A new file with its header, or (resume) the existing one cut to `validBytes` */
  static async open(path: string, header: ScoreHeader, resumeAt?: { validBytes: number; hasColumns: boolean }): Promise<OutputWriter> {
    const format = outputFormatFor(path);
    if (resumeAt && existsSync(path)) {
      // cut a torn last line before appending after it
      const fd = openSync(path, 'r+');
      try {
        ftruncateSync(fd, resumeAt.validBytes);
      } finally {
        closeSync(fd);
      }
    }
    let handle: FileHandle;
    try {
      handle = await open(path, resumeAt ? 'a' : 'w');
    } catch (e) {
      throw writeError(path, e);
    }
    const writer = new OutputWriter(handle, format, header.top, path);
    if (!resumeAt || resumeAt.validBytes === 0) {
      if (format === 'csv') await writeMetadata(path, header);
      await writer.writeRaw(formatHeader(header, format));
    } else if (format === 'csv' && !resumeAt.hasColumns) {
      // an earlier release's CSV cut right after its header line
      await writer.writeRaw(formatHeader(header, format));
    }
    return writer;
  }

  private async writeRaw(text: string): Promise<void> {
    try {
      // write(2) may take part of a batch (a disk filling up): loop, so the error comes on the rest
      const bytes = Buffer.from(text, 'utf8');
      for (let done = 0; done < bytes.length;) done += (await this.handle.write(bytes, done, bytes.length - done)).bytesWritten;
      await this.handle.sync();
    } catch (e) {
      throw writeError(this.path, e);
    }
  }

  async append(records: ScoreRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.writeRaw(records.map((r) => formatRecord(r, this.format, this.top)).join(''));
  }

  async close(): Promise<void> {
    try {
      await this.handle.close();
    } catch (e) {
      throw writeError(this.path, e);
    }
  }
}
