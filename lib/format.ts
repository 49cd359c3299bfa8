// How numbers, tables and layers are written for people: shared by every command's text output and by
// the reports below commands/ (score, profile, plot).
import type { LayerSpec } from './model/layers.js';

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
