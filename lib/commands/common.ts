// What every sub-command shares: the error type users see, number formatting, common options.
import { statSync } from 'node:fs';
import type { Argv } from 'yargs';

/** An error meant for the user: one line, exit code 1 (bad input) or 2 (bad usage) */
export class CliError extends Error {
  code: string;
  constructor(message: string, code = 'ERR_INPUT') {
    super(message);
    this.code = code;
  }
}

export const usageError = (message: string): CliError => new CliError(message, 'ERR_USAGE');

/**
 * The one rule for files a command writes (classify -o, convert, score --out, profile --trace/--html):
 * an existing non-empty file is kept unless --force says to replace it. `alternative` names another
 * way out (score: '--resume to continue that run').
 */
export function checkNewOutput(path: string, force: boolean | undefined, alternative?: string): void {
  if (force) return;
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return;
  }
  if (size === 0) return;
  throw usageError(`${path}: expected a new output file but it exists; pass --force to overwrite it${alternative ? `, ${alternative},` : ''} or remove the file`);
}

export function exitCodeFor(err: unknown): number {
  const code = (err as { code?: string })?.code;
  return code === 'ERR_USAGE' || code === 'ERR_INVALID_ARG_VALUE' ? 2 : 1;
}

export const formatInt = (n: number): string => n.toLocaleString('en-US');

export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(u === 0 ? 0 : 2)} ${units[u]}`;
}

/** Render rows as a plain-text table with right-aligned numeric columns */
export function renderTable(header: string[], rows: string[][], rightAligned: boolean[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (rightAligned[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  const rule = '-'.repeat(widths.reduce((a, b) => a + b + 2, -2));
  return [line(header), rule, ...rows.map(line), rule].join('\n');
}

export function withArchOption<T>(y: Argv<T>) {
  return y.option('arch', { type: 'string', choices: ['seed', 'caffe', 'torchvision'], describe: 'architecture (default: what the weights say, else seed)' });
}

export function withDeviceOption<T>(y: Argv<T>) {
  return y.option('device', { type: 'string', default: 'cpu', describe: 'where to run: cpu (cuda where built)' });
}

export function withThreadsOption<T>(y: Argv<T>) {
  return y.option('threads', { type: 'number', describe: 'CPU threads for the kernels (default: all cores)' });
}
