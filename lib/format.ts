// How numbers, tables and layers are written for people: shared by every command's text output and by
// the reports below commands/ (score, profile, plot).
import type { LayerSpec } from './model/layers.js';

export const formatInt = (n: number): string => n.toLocaleString('en-US');

/**
 * A size for people, in the one unit system used everywhere (README, `weights list`, summaries, profiles,
 * messages): SI, 1 kB = 1000 B, 1 MB = 10^6 B, 1 GB = 10^9 B, as download sites and `ls --si` count;
 * one decimal (torchvision's AlexNet file: 244.4 MB)
 */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let u = 0;
  while (v >= 999.95 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(u === 0 ? 0 : 1)} ${units[u]}`;
}

/** bytes as MB (10^6 bytes), one decimal, without the unit: for a "done/total MB" progress line */
export const megabytes = (bytes: number): string => (bytes / 1e6).toFixed(1);

export interface TableOptions {
  /** rows below the closing rule (a total), aligned with the columns above */
  footer?: string[][];
  /**
   * fit lines into this many characters: the columns that do not fit go into further blocks below, each
   * repeating the first column (pandas' display of a wide DataFrame); undefined: one block, however wide
   */
  width?: number;
}

/** Render rows as a plain-text table with right-aligned numeric columns */
export function renderTable(header: string[], rows: string[][], rightAligned: boolean[], options: TableOptions = {}): string {
  const footer = options.footer ?? [];
  const all = [...rows, ...footer];
  const widths = header.map((h, i) => Math.max(h.length, ...all.map((r) => r[i].length)));
  const blocks: number[][] = [];
  let block = [0];
  let used = widths[0];
  for (let i = 1; i < header.length; i++) {
    if (options.width !== undefined && block.length > 1 && used + 2 + widths[i] > options.width) {
      blocks.push(block);
      block = [0];
      used = widths[0];
    }
    block.push(i);
    used += 2 + widths[i];
  }
  blocks.push(block);
  return blocks.map((columns) => {
    const line = (cells: string[]) => columns.map((i) => (rightAligned[i] ? cells[i].padStart(widths[i]) : cells[i].padEnd(widths[i]))).join('  ').trimEnd();
    const rule = '-'.repeat(columns.reduce((a, i) => a + widths[i] + 2, -2));
    return [line(header), rule, ...rows.map(line), rule, ...footer.map(line)].join('\n');
  }).join('\n\n');
}

/**
 * The width tables should fit: the terminal's columns when stdout is a terminal, else $COLUMNS when set
 * (as shells export it), else undefined: a pipe or a file gets whole lines, which tools read more easily
 */
export function terminalWidth(stream: { isTTY?: boolean; columns?: number } = process.stdout, env: NodeJS.ProcessEnv = process.env): number | undefined {
  if (stream.isTTY && stream.columns !== undefined && stream.columns > 0) return stream.columns;
  const columns = Number(env.COLUMNS);
  return Number.isInteger(columns) && columns > 0 ? columns : undefined;
}

/** Keras-style type names, with the fused activation and grouping visible */
export function layerTypeName(spec: LayerSpec): string {
  switch (spec.type) {
    case 'conv2d':
      return `Conv2D${spec.groups > 1 ? `/g${spec.groups}` : ''}${spec.relu ? '+ReLU' : ''}`;
    case 'maxPool2d':
      return `MaxPool2D${spec.ceil ? '/ceil' : ''}`;
    case 'avgPool2d':
      return `AvgPool2D${spec.ceil ? '/ceil' : ''}`;
    case 'lrn':
      return 'LRN';
    case 'adaptiveAvgPool2d':
      return 'AdaptiveAvgPool2D';
    case 'flatten':
      return 'Flatten';
    case 'linear':
      return `Dense${spec.relu ? '+ReLU' : ''}`;
    case 'relu':
      return 'ReLU';
    case 'dropout':
      return 'Dropout';
    case 'softmax':
      return 'Softmax';
  }
}
