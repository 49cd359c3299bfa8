// The per-image output of `score` (JSONL or CSV), its header line, and reading it back for
// --resume and `merge`.
//
// JSONL: line 1 {"alexnetCliScore":2, ...header}, then one object per image:
//   {"path":"n01440764/x.JPEG","label":0,"top":[0,391,...],"prob":[0.93,0.01,...]}
//   {"path":"n01440764/y.JPEG","label":0,"error":"... expected a JPEG or PNG image but found ..."}
// CSV: line 1 "# alexnet-cli score " + the header as JSON, line 2 the column names, then
//   path,label,top1..topK,prob1..probK,error   (RFC 4180 quoting)
//
// Lines are appended a batch at a time and fsync'd, so after a crash or kill -9 the file holds
// whole batches plus at most one torn last line (no newline yet), which readOutput() drops.
import { closeSync, existsSync, ftruncateSync, openSync, readFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { AlexnetError } from '../errors.js';
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

const CSV_HEADER_PREFIX = '# alexnet-cli score ';

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** 7 significant digits: float32 probabilities round-trip closely enough for any metric */
const formatProbability = (p: number): number => Number(p.toPrecision(7));

export function formatHeader(header: ScoreHeader, format: OutputFormat): string {
  if (format === 'jsonl') return `${JSON.stringify(header)}\n`;
  const columns = ['path', 'label'];
  for (let k = 1; k <= header.top; k++) columns.push(`top${k}`);
  for (let k = 1; k <= header.top; k++) columns.push(`prob${k}`);
  columns.push('error');
  return `${CSV_HEADER_PREFIX}${JSON.stringify(header)}\n${columns.join(',')}\n`;
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
  try {
    const text = format === 'csv' ? lines[0].slice(CSV_HEADER_PREFIX.length) : lines[0];
    if (format === 'csv' && !lines[0].startsWith(CSV_HEADER_PREFIX)) throw new Error('no header');
    header = JSON.parse(text) as ScoreHeader;
  } catch {
    throw new AlexnetError(`${path}: expected an alexnet-cli score output (header line version ${FORMAT_VERSION}) but found other text on line 1`);
  }
  if (header?.alexnetCliScore !== FORMAT_VERSION) {
    const found = typeof header?.alexnetCliScore === 'number' ? `version ${header.alexnetCliScore} (another alexnet-cli release; score again, or merge with that release)` : 'other text';
    throw new AlexnetError(`${path}: expected an alexnet-cli score output (header line version ${FORMAT_VERSION}) but found ${found} on line 1`);
  }
  if (format === 'csv') {
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

/** Appends batches of records, each fsync'd before the next is accepted */
export class OutputWriter {
  private constructor(private readonly handle: FileHandle, readonly format: OutputFormat, private readonly top: number) {}

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
    const handle = await open(path, resumeAt ? 'a' : 'w');
    const writer = new OutputWriter(handle, format, header.top);
    if (!resumeAt || resumeAt.validBytes === 0) await writer.writeRaw(formatHeader(header, format));
    else if (format === 'csv' && !resumeAt.hasColumns) await writer.writeRaw(formatHeader(header, format).split('\n')[1] + '\n');
    return writer;
  }

  private async writeRaw(text: string): Promise<void> {
    await this.handle.write(text);
    await this.handle.sync();
  }

  async append(records: ScoreRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.writeRaw(records.map((r) => formatRecord(r, this.format, this.top)).join(''));
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
