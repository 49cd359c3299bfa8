// The layer graph as SVG, one box per layer (Keras plot_model(show_shapes=True)), top to bottom or, with
// rankdir 'LR' (Keras plot_model(rankdir='LR'), graphviz's rankdir), left to right. Every box shows its
// parameter count; layers of the `fold` types (Dropout, Flatten, ...) become a '+ Flatten' line in the
// box before them instead of a box of their own.
// Grouped convolutions are drawn as side-by-side towers on a shaded 'groups=N' band, the way the
// AlexNet paper draws its two GPUs: the input splits into the towers, consecutive grouped layers
// keep tower i connected to tower i, and the towers merge into the next ungrouped layer.
//
// Text widths are estimated from character counts with DejaVu's advance widths (the fonts resvg
// finds on Linux); browsers with narrower fonts only get more room.
import type { Architecture, LayerSpec, Pair } from '../model/layers.js';
import { inferShapes, type LayerShape } from '../model/shapes.js';
import { formatInt, layerTypeName } from '../format.js';

import { escapeXml } from './xml.js';

export type Rankdir = 'TB' | 'LR';
export const RANKDIRS: Rankdir[] = ['TB', 'LR'];

/** Layer types that can be folded into the box before them: they have no parameters */
export const FOLDABLE_TYPES = ['dropout', 'flatten', 'relu', 'lrn', 'softmax'] as const;
export type FoldableType = typeof FOLDABLE_TYPES[number];

export interface PlotOptions {
  /** add input and output shapes to every box */
  showShapes?: boolean;
  /** input height and width (default: the architecture's) */
  inputSize?: Pair;
  /** 'TB' top to bottom (default), 'LR' left to right */
  rankdir?: Rankdir;
  /** the parameter count in every box (default true) */
  showParams?: boolean;
  /** layer types drawn as a line in the box before them rather than as boxes */
  fold?: FoldableType[];
}

const SANS = "'DejaVu Sans', Verdana, Helvetica, Arial, sans-serif";
const MONO = "'DejaVu Sans Mono', Menlo, Consolas, monospace";

interface TextLine {
  text: string;
  size: number;
  weight?: 'bold';
  mono?: boolean;
  fill: string;
  /** space above the line's baseline */
  height: number;
}

/** DejaVu advance widths in em: Sans ~0.62 (bold ~0.70), Sans Mono 0.602 */
function textWidth(line: TextLine): number {
  const em = line.mono ? 0.602 : line.weight === 'bold' ? 0.7 : 0.62;
  return line.text.length * line.size * em;
}

const PAD_X = 14;
const PAD_Y = 8;
const SEPARATOR = 8;
const ROW_GAP = 34;
const TOWER_GAP = 26;
const BAND_PAD_X = 16;
const BAND_TOP = 24;
const BAND_BOTTOM = 12;
const MARGIN = 24;
const TITLE_HEIGHT = 52;

interface Colors { fill: string; stroke: string }

function colorsFor(type: LayerSpec['type'] | 'input'): Colors {
  switch (type) {
    case 'conv2d': return { fill: '#e3f2fd', stroke: '#1e88e5' };
    case 'maxPool2d':
    case 'avgPool2d':
    case 'adaptiveAvgPool2d': return { fill: '#e8f5e9', stroke: '#43a047' };
    case 'lrn': return { fill: '#fff3e0', stroke: '#fb8c00' };
    case 'linear': return { fill: '#f3e5f5', stroke: '#8e24aa' };
    case 'softmax': return { fill: '#e0f2f1', stroke: '#00897b' };
    case 'input': return { fill: '#eceff1', stroke: '#607d8b' };
    default: return { fill: '#f5f5f5', stroke: '#9e9e9e' };
  }
}

const pair = (p: Pair): string => (p[0] === p[1] ? `${p[0]}` : `${p[0]}×${p[1]}`);
const kernel = (p: Pair): string => `${p[0]}×${p[1]}`;
const shapeText = (shape: number[]): string => `(None, ${shape.join(', ')})`;

/** One short line of hyper-parameters under the type */
function detailOf(layer: LayerShape, channels: number): string {
  const spec = layer.spec;
  const padText = (): string => {
    const p = layer.pads ?? [0, 0, 0, 0];
    if (spec.type === 'conv2d' && spec.pad === 'same') return 'same';
    return p.every((v) => v === p[0]) ? `${p[0]}` : p.join(',');
  };
  switch (spec.type) {
    case 'conv2d': return `${channels} × ${kernel(spec.kernel)}, stride ${pair(spec.stride)}, pad ${padText()}`;
    case 'maxPool2d':
    case 'avgPool2d': return `${kernel(spec.kernel)}, stride ${pair(spec.stride)}${spec.ceil ? ', ceil' : ''}`;
    case 'lrn': return `size ${spec.size}, α ${spec.alpha}, β ${spec.beta}, k ${spec.k}`;
    case 'adaptiveAvgPool2d': return `to ${kernel(spec.output)}`;
    case 'linear': return `${formatInt(spec.outFeatures)} units`;
    case 'dropout': return `rate ${spec.rate}, identity at inference`;
    default: return '';
  }
}

const paramsText = (count: number): string => `${formatInt(count)} param${count === 1 ? '' : 's'}`;

function boxLines(name: string, type: string, detail: string, params: number | null, folded: string[], shapes: [number[], number[]] | null): TextLine[] {
  const lines: TextLine[] = [
    { text: name, size: 13, weight: 'bold', fill: '#212121', height: 17 },
    { text: type, size: 12, fill: '#424242', height: 16 },
  ];
  if (detail) lines.push({ text: detail, size: 11, fill: '#757575', height: 15 });
  if (params !== null) lines.push({ text: paramsText(params), size: 11, fill: '#5d4037', height: 15 });
  for (const text of folded) lines.push({ text, size: 11, fill: '#616161', height: 15 });
  if (shapes) {
    lines.push({ text: `input:  ${shapeText(shapes[0])}`, size: 11, mono: true, fill: '#37474f', height: 15 + SEPARATOR });
    lines.push({ text: `output: ${shapeText(shapes[1])}`, size: 11, mono: true, fill: '#37474f', height: 15 });
  }
  return lines;
}

interface Box {
  lines: TextLine[];
  colors: Colors;
  x: number;
  y: number;
  width: number;
  height: number;
}

interface Row {
  /** undefined for the input row */
  layer?: LayerShape;
  /** layers folded into this row's boxes */
  folded: LayerShape[];
  groups: number;
  boxes: Box[];
  /** where the row starts along the flow (y top to bottom, x left to right) */
  main: number;
  /** its size along the flow (height top to bottom, width left to right) */
  extent: number;
}

const linesHeight = (lines: TextLine[]): number => lines.reduce((a, l) => a + l.height, 0) + 2 * PAD_Y - 2;
const linesWidth = (lines: TextLine[]): number => Math.max(...lines.map(textWidth)) + 2 * PAD_X;

function renderBox(box: Box, separatorAfter: number): string {
  const parts = [`<rect x="${box.x}" y="${box.y}" width="${box.width}" height="${box.height}" rx="6" fill="${box.colors.fill}" stroke="${box.colors.stroke}" stroke-width="1.5"/>`];
  const cx = box.x + box.width / 2;
  // the shape lines are left-aligned on one edge so that 'input:' and 'output:' line up like a table
  const monoWidth = Math.max(0, ...box.lines.filter((l) => l.mono).map(textWidth));
  const monoX = (cx - monoWidth / 2).toFixed(1);
  let y = box.y + PAD_Y - 3;
  box.lines.forEach((line, i) => {
    y += line.height;
    if (i === separatorAfter) {
      const sy = y - line.height + SEPARATOR / 2 + 1;
      parts.push(`<line x1="${box.x}" y1="${sy}" x2="${box.x + box.width}" y2="${sy}" stroke="${box.colors.stroke}" stroke-width="0.8" stroke-opacity="0.6"/>`);
    }
    const anchor = line.mono ? `x="${monoX}" xml:space="preserve"` : `x="${cx}" text-anchor="middle"`;
    parts.push(`<text ${anchor} y="${y}" font-family="${line.mono ? MONO : SANS}" font-size="${line.size}"${line.weight ? ` font-weight="${line.weight}"` : ''} fill="${line.fill}">${escapeXml(line.text)}</text>`);
  });
  return parts.join('');
}

/** An edge from (x1, y1) to (x2, y2), leaving and arriving along the flow: down (TB) or right (LR) */
function edge(x1: number, y1: number, x2: number, y2: number, lr: boolean): string {
  let d: string;
  let head: string;
  // every edge ends going straight down (right), so the head is a fixed triangle (explicit rather than an
  // SVG <marker>: resvg 2.6 panics, aborting the process, on a marker that lies outside the canvas)
  if (lr) {
    d = y1 === y2
      ? `M${x1},${y1} L${x2 - 6},${y2}`
      : `M${x1},${y1} C${(x1 + x2) / 2},${y1} ${(x1 + x2) / 2},${y2} ${x2 - 6},${y2}`;
    head = `M${x2 - 8},${y2 - 4.5} L${x2},${y2} L${x2 - 8},${y2 + 4.5} z`;
  } else {
    d = x1 === x2
      ? `M${x1},${y1} L${x2},${y2 - 6}`
      : `M${x1},${y1} C${x1},${(y1 + y2) / 2} ${x2},${(y1 + y2) / 2} ${x2},${y2 - 6}`;
    head = `M${x2 - 4.5},${y2 - 8} L${x2},${y2} L${x2 + 4.5},${y2 - 8} z`;
  }
  return `<path class="edge" d="${d}" fill="none" stroke="#78909c" stroke-width="1.4"/><path d="${head}" fill="#78909c"/>`;
}

/** The line a folded layer leaves in the box before it: '+ Dropout (rate 0.5)', '+ Flatten → (None, 9216)' */
function foldedLine(layer: LayerShape, showShapes: boolean): string {
  const detail = detailOf(layer, 0);
  const shape = showShapes && layer.spec.type !== 'dropout' && layer.spec.type !== 'relu' ? ` → ${shapeText(layer.outShape)}` : '';
  const short = layer.spec.type === 'dropout' ? ` (rate ${layer.spec.rate})` : detail && layer.spec.type !== 'flatten' ? ` (${detail})` : '';
  return `+ ${layerTypeName(layer.spec)}${short}${shape}`;
}

/** The architecture's layer graph as a standalone SVG document */
export function renderSvg(arch: Architecture, options: PlotOptions = {}): string {
  const showShapes = options.showShapes ?? false;
  const showParams = options.showParams ?? true;
  const lr = (options.rankdir ?? 'TB') === 'LR';
  const fold = new Set<string>(options.fold ?? []);
  const shapes = inferShapes(arch, options.inputSize);
  const input = [arch.input[0], ...(options.inputSize ?? [arch.input[1], arch.input[2]])];

  // 1. text of every box; a folded layer becomes a line of the nearest box before it
  const rows: Row[] = [{ groups: 1, folded: [], boxes: [{ lines: [], colors: colorsFor('input'), x: 0, y: 0, width: 0, height: 0 }], main: 0, extent: 0 }];
  for (const layer of shapes) {
    if (fold.has(layer.spec.type)) rows[rows.length - 1].folded.push(layer);
    else rows.push({ layer, groups: layer.spec.type === 'conv2d' ? layer.spec.groups : 1, folded: [], boxes: [], main: 0, extent: 0 });
  }
  for (const row of rows) {
    const folded = row.folded.map((l) => foldedLine(l, showShapes));
    if (!row.layer) {
      row.boxes[0].lines = boxLines('input', 'InputLayer', '', null, folded, showShapes ? [input, input] : null);
      continue;
    }
    const layer = row.layer;
    const spec = layer.spec;
    const type = layerTypeName(spec);
    if (row.groups === 1) {
      const channels = spec.type === 'conv2d' ? spec.outChannels : 0;
      row.boxes.push({ lines: boxLines(spec.name, type, detailOf(layer, channels), showParams ? layer.paramCount : null, folded, showShapes ? [layer.inShape, layer.outShape] : null), colors: colorsFor(spec.type), x: 0, y: 0, width: 0, height: 0 });
    } else {
      const [c, h, w] = layer.inShape;
      const [oc, oh, ow] = layer.outShape;
      for (let g = 0; g < row.groups; g++) {
        // each tower holds its share of the weights and biases
        const lines = boxLines(`${spec.name} · group ${g + 1}/${row.groups}`, type, detailOf(layer, oc / row.groups), showParams ? layer.paramCount / row.groups : null, folded,
          showShapes ? [[c / row.groups, h, w], [oc / row.groups, oh, ow]] : null);
        row.boxes.push({ lines, colors: colorsFor(spec.type), x: 0, y: 0, width: 0, height: 0 });
      }
    }
  }

  // 2. sizes. Top to bottom: every single box as wide as the widest, every tower as wide as the widest
  // tower, a row as high as its highest box. Left to right: every single box as high as the highest, every
  // tower as high as the highest tower, a column as wide as its widest box.
  const singles = rows.filter((r) => r.groups === 1).flatMap((r) => r.boxes);
  const towers = rows.filter((r) => r.groups > 1).flatMap((r) => r.boxes);
  const crossOf = (lines: TextLine[]): number => (lr ? linesHeight(lines) : linesWidth(lines));
  const mainOf = (lines: TextLine[]): number => (lr ? linesWidth(lines) : linesHeight(lines));
  const singleCross = Math.ceil(Math.max(lr ? 0 : 240, ...singles.map((b) => crossOf(b.lines))));
  const towerCross = Math.ceil(Math.max(lr ? 0 : 180, ...towers.map((b) => crossOf(b.lines))));
  const maxGroups = Math.max(...rows.map((r) => r.groups));
  const towersCross = maxGroups > 1 ? maxGroups * towerCross + (maxGroups - 1) * TOWER_GAP + 2 * BAND_PAD_X + (lr ? BAND_TOP : 0) : 0;
  const contentCross = Math.max(singleCross, towersCross);
  const title = `${arch.name}`;
  const totalParams = shapes.reduce((a, s) => a + s.paramCount, 0);
  const totalMacs = shapes.reduce((a, s) => a + s.macs, 0);
  const subtitle = `input ${input.join('×')} · ${formatInt(totalParams)} parameters · ${(totalMacs / 1e9).toFixed(2)} GMACs per image`;
  const subtitleWidth = subtitle.length * 12 * 0.62;

  // 3. positions along the flow (main) and across it (cross); consecutive grouped rows with the same
  // groups share one band. TB: main is y, cross is x; LR: main is x, cross is y.
  const rowGap = lr ? ROW_GAP + 6 : ROW_GAP;
  const crossStart = lr ? MARGIN + TITLE_HEIGHT : MARGIN;
  // LR: the band's label sits above the towers, so they are centred a little lower than the singles
  const crossCenter = crossStart + contentCross / 2;
  const towerCenter = lr && towersCross > singleCross ? crossCenter + BAND_TOP / 2 : crossCenter;
  const bands: { main: number; length: number; groups: number }[] = [];
  let main = lr ? MARGIN : MARGIN + TITLE_HEIGHT;
  rows.forEach((row, i) => {
    const prevGroups = rows[i - 1]?.groups ?? 1;
    const nextGroups = rows[i + 1]?.groups ?? 1;
    if (row.groups > 1 && prevGroups !== row.groups) {
      if (lr) {
        bands.push({ main: main - BAND_PAD_X, length: 0, groups: row.groups });
        main += BAND_PAD_X - rowGap / 2 + 4;
        main = Math.max(main, bands[bands.length - 1].main + BAND_PAD_X);
      } else {
        bands.push({ main: main - rowGap / 2 + 4, length: 0, groups: row.groups });
        main += BAND_TOP - rowGap / 2 + 4;
      }
    }
    const cross = row.groups === 1 ? singleCross : towerCross;
    row.main = main;
    row.extent = Math.ceil(Math.max(...row.boxes.map((b) => mainOf(b.lines))));
    const span = row.groups * cross + (row.groups - 1) * TOWER_GAP;
    const center = row.groups === 1 ? crossCenter : towerCenter;
    row.boxes.forEach((b, g) => {
      const c = center - span / 2 + g * (cross + TOWER_GAP);
      if (lr) Object.assign(b, { x: main, y: c, width: row.extent, height: cross });
      else Object.assign(b, { x: c, y: main, width: cross, height: row.extent });
    });
    main += row.extent;
    if (row.groups > 1 && nextGroups !== row.groups) {
      main += lr ? BAND_PAD_X : BAND_BOTTOM;
      const band = bands[bands.length - 1];
      band.length = main - band.main;
      main += rowGap - (lr ? BAND_PAD_X : BAND_BOTTOM);
    } else {
      main += rowGap;
    }
  });
  const mainEnd = main - rowGap + MARGIN;
  const width = Math.ceil(lr ? Math.max(mainEnd, subtitleWidth + 2 * MARGIN) : Math.max(contentCross, subtitleWidth) + 2 * MARGIN);
  const height = Math.ceil(lr ? crossStart + contentCross + MARGIN : mainEnd);
  // TB: the cross axis was laid out around 0 + margins; centre it in the picture
  if (!lr) {
    const shift = width / 2 - crossCenter;
    for (const row of rows) for (const b of row.boxes) b.x += shift;
  }
  const cx = width / 2;

  // 4. markup
  const out: string[] = [];
  out.push(`<?xml version="1.0" encoding="UTF-8"?>`);
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" data-rankdir="${lr ? 'LR' : 'TB'}">`);
  out.push(`<title>${escapeXml(`${arch.name}: layer graph`)}</title>`);
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  const titleX = lr ? MARGIN : cx;
  const anchor = lr ? 'start' : 'middle';
  out.push(`<text x="${titleX}" y="${MARGIN + 18}" text-anchor="${anchor}" font-family="${SANS}" font-size="18" font-weight="bold" fill="#212121">${escapeXml(title)}</text>`);
  out.push(`<text x="${titleX}" y="${MARGIN + 38}" text-anchor="${anchor}" font-family="${SANS}" font-size="12" fill="#616161">${escapeXml(subtitle)}</text>`);
  const bandCross = towersCross;
  for (const band of bands) {
    out.push(`<g class="band" data-groups="${band.groups}">`);
    if (lr) {
      const top = towerCenter - (bandCross - BAND_TOP) / 2 - BAND_TOP;
      out.push(`<rect x="${band.main}" y="${top}" width="${band.length}" height="${bandCross}" rx="10" fill="#e8eaf6" fill-opacity="0.6" stroke="#7986cb" stroke-width="1.2" stroke-dasharray="5 4"/>`);
      out.push(`<text x="${band.main + 10}" y="${top + 16}" font-family="${SANS}" font-size="11" font-style="italic" fill="#3949ab">groups=${band.groups}</text>`);
    } else {
      out.push(`<rect x="${cx - bandCross / 2}" y="${band.main}" width="${bandCross}" height="${band.length}" rx="10" fill="#e8eaf6" fill-opacity="0.6" stroke="#7986cb" stroke-width="1.2" stroke-dasharray="5 4"/>`);
      out.push(`<text x="${cx - bandCross / 2 + 10}" y="${band.main + 16}" font-family="${SANS}" font-size="11" font-style="italic" fill="#3949ab">groups=${band.groups}</text>`);
    }
    out.push('</g>');
  }
  // edges first so the boxes sit on top of them
  const link = (from: Box, to: Box): string => (lr
    ? edge(from.x + from.width, from.y + from.height / 2, to.x - 1, to.y + to.height / 2, true)
    : edge(from.x + from.width / 2, from.y + from.height, to.x + to.width / 2, to.y - 1, false));
  for (let i = 1; i < rows.length; i++) {
    const prev = rows[i - 1];
    const row = rows[i];
    if (prev.groups === row.groups) prev.boxes.forEach((b, g) => out.push(link(b, row.boxes[g])));
    else for (const from of prev.boxes) for (const to of row.boxes) out.push(link(from, to));
  }
  const separatorIndex = (b: Box): number => (showShapes ? b.lines.length - 2 : -1);
  for (const row of rows) {
    const folded = row.folded.length ? ` data-folded="${escapeXml(row.folded.map((l) => l.spec.name).join(','))}"` : '';
    if (!row.layer) {
      out.push(`<g class="input" data-shape="${input.join(',')}"${folded}>${renderBox(row.boxes[0], separatorIndex(row.boxes[0]))}</g>`);
      continue;
    }
    const { spec, inShape, outShape, paramCount } = row.layer;
    const type = layerTypeName(spec);
    out.push(`<g class="layer" data-name="${escapeXml(spec.name)}" data-type="${escapeXml(type)}" data-groups="${row.groups}" data-input-shape="${inShape.join(',')}" data-output-shape="${outShape.join(',')}" data-params="${paramCount}"${folded}>`);
    out.push(`<title>${escapeXml(`${spec.name}: ${type} ${shapeText(inShape)} → ${shapeText(outShape)}, ${paramsText(paramCount)}`)}</title>`);
    for (const box of row.boxes) out.push(renderBox(box, separatorIndex(box)));
    out.push('</g>');
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
