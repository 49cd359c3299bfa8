// The layer graph as SVG, top to bottom, one box per layer (Keras plot_model(show_shapes=True)).
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

export interface PlotOptions {
  /** add input and output shapes to every box */
  showShapes?: boolean;
  /** input height and width (default: the architecture's) */
  inputSize?: Pair;
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

function boxLines(name: string, type: string, detail: string, shapes: [number[], number[]] | null): TextLine[] {
  const lines: TextLine[] = [
    { text: name, size: 13, weight: 'bold', fill: '#212121', height: 17 },
    { text: type, size: 12, fill: '#424242', height: 16 },
  ];
  if (detail) lines.push({ text: detail, size: 11, fill: '#757575', height: 15 });
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
  groups: number;
  boxes: Box[];
  y: number;
  height: number;
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

function edge(x1: number, y1: number, x2: number, y2: number): string {
  const d = x1 === x2
    ? `M${x1},${y1} L${x2},${y2 - 6}`
    : `M${x1},${y1} C${x1},${(y1 + y2) / 2} ${x2},${(y1 + y2) / 2} ${x2},${y2 - 6}`;
  // every edge ends going straight down, so the head is a fixed triangle (explicit rather than an
  // SVG <marker>: resvg 2.6 panics, aborting the process, on a marker that lies outside the canvas)
  const head = `M${x2 - 4.5},${y2 - 8} L${x2},${y2} L${x2 + 4.5},${y2 - 8} z`;
  return `<path d="${d}" fill="none" stroke="#78909c" stroke-width="1.4"/><path d="${head}" fill="#78909c"/>`;
}

/** The architecture's layer graph as a standalone SVG document */
export function renderSvg(arch: Architecture, options: PlotOptions = {}): string {
  const showShapes = options.showShapes ?? false;
  const shapes = inferShapes(arch, options.inputSize);
  const input = [arch.input[0], ...(options.inputSize ?? [arch.input[1], arch.input[2]])];

  // 1. text of every box
  const rows: Row[] = [{ groups: 1, boxes: [{ lines: boxLines('input', 'InputLayer', '', showShapes ? [input, input] : null), colors: colorsFor('input'), x: 0, y: 0, width: 0, height: 0 }], y: 0, height: 0 }];
  for (const layer of shapes) {
    const spec = layer.spec;
    const type = layerTypeName(spec);
    const groups = spec.type === 'conv2d' ? spec.groups : 1;
    const boxes: Box[] = [];
    if (groups === 1) {
      const channels = spec.type === 'conv2d' ? spec.outChannels : 0;
      boxes.push({ lines: boxLines(spec.name, type, detailOf(layer, channels), showShapes ? [layer.inShape, layer.outShape] : null), colors: colorsFor(spec.type), x: 0, y: 0, width: 0, height: 0 });
    } else {
      const [c, h, w] = layer.inShape;
      const [oc, oh, ow] = layer.outShape;
      for (let g = 0; g < groups; g++) {
        const lines = boxLines(`${spec.name} · group ${g + 1}/${groups}`, type, detailOf(layer, oc / groups),
          showShapes ? [[c / groups, h, w], [oc / groups, oh, ow]] : null);
        boxes.push({ lines, colors: colorsFor(spec.type), x: 0, y: 0, width: 0, height: 0 });
      }
    }
    rows.push({ layer, groups, boxes, y: 0, height: 0 });
  }

  // 2. sizes: every single box as wide as the widest, every tower as wide as the widest tower
  const singles = rows.filter((r) => r.groups === 1).flatMap((r) => r.boxes);
  const towers = rows.filter((r) => r.groups > 1).flatMap((r) => r.boxes);
  const singleWidth = Math.ceil(Math.max(240, ...singles.map((b) => linesWidth(b.lines))));
  const towerWidth = Math.ceil(Math.max(180, ...towers.map((b) => linesWidth(b.lines))));
  const maxGroups = Math.max(...rows.map((r) => r.groups));
  const towersWidth = maxGroups > 1 ? maxGroups * towerWidth + (maxGroups - 1) * TOWER_GAP + 2 * BAND_PAD_X : 0;
  const contentWidth = Math.max(singleWidth, towersWidth);
  const title = `${arch.name}`;
  const totalParams = shapes.reduce((a, s) => a + s.paramCount, 0);
  const totalMacs = shapes.reduce((a, s) => a + s.macs, 0);
  const subtitle = `input ${input.join('×')} · ${formatInt(totalParams)} parameters · ${(totalMacs / 1e9).toFixed(2)} GMACs per image`;
  const width = Math.ceil(Math.max(contentWidth, subtitle.length * 12 * 0.62) + 2 * MARGIN);
  const cx = width / 2;

  // 3. positions, top to bottom; consecutive grouped rows with the same groups share one band
  const bands: { y: number; height: number; groups: number }[] = [];
  let y = MARGIN + TITLE_HEIGHT;
  rows.forEach((row, i) => {
    const prevGroups = rows[i - 1]?.groups ?? 1;
    const nextGroups = rows[i + 1]?.groups ?? 1;
    if (row.groups > 1 && prevGroups !== row.groups) {
      bands.push({ y: y - ROW_GAP / 2 + 4, height: 0, groups: row.groups });
      y += BAND_TOP - ROW_GAP / 2 + 4;
    }
    row.y = y;
    row.height = Math.max(...row.boxes.map((b) => linesHeight(b.lines)));
    const boxWidth = row.groups === 1 ? singleWidth : towerWidth;
    const span = row.groups * boxWidth + (row.groups - 1) * TOWER_GAP;
    row.boxes.forEach((b, g) => {
      b.x = cx - span / 2 + g * (boxWidth + TOWER_GAP);
      b.y = y;
      b.width = boxWidth;
      b.height = row.height;
    });
    y += row.height;
    if (row.groups > 1 && nextGroups !== row.groups) {
      y += BAND_BOTTOM;
      const band = bands[bands.length - 1];
      band.height = y - band.y;
      y += ROW_GAP - BAND_BOTTOM;
    } else {
      y += ROW_GAP;
    }
  });
  const height = Math.ceil(y - ROW_GAP + MARGIN);

  // 4. markup
  const out: string[] = [];
  out.push(`<?xml version="1.0" encoding="UTF-8"?>`);
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`);
  out.push(`<title>${escapeXml(`${arch.name}: layer graph`)}</title>`);
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${cx}" y="${MARGIN + 18}" text-anchor="middle" font-family="${SANS}" font-size="18" font-weight="bold" fill="#212121">${escapeXml(title)}</text>`);
  out.push(`<text x="${cx}" y="${MARGIN + 38}" text-anchor="middle" font-family="${SANS}" font-size="12" fill="#616161">${escapeXml(subtitle)}</text>`);
  const bandWidth = towersWidth;
  for (const band of bands) {
    out.push(`<g class="band" data-groups="${band.groups}">`);
    out.push(`<rect x="${cx - bandWidth / 2}" y="${band.y}" width="${bandWidth}" height="${band.height}" rx="10" fill="#e8eaf6" fill-opacity="0.6" stroke="#7986cb" stroke-width="1.2" stroke-dasharray="5 4"/>`);
    out.push(`<text x="${cx - bandWidth / 2 + 10}" y="${band.y + 16}" font-family="${SANS}" font-size="11" font-style="italic" fill="#3949ab">groups=${band.groups}</text>`);
    out.push('</g>');
  }
  // edges first so the boxes sit on top of them
  for (let i = 1; i < rows.length; i++) {
    const prev = rows[i - 1];
    const row = rows[i];
    const bottom = prev.y + prev.height;
    const top = row.y - 1;
    if (prev.groups === row.groups) {
      prev.boxes.forEach((b, g) => out.push(edge(b.x + b.width / 2, bottom, row.boxes[g].x + row.boxes[g].width / 2, top)));
    } else {
      for (const from of prev.boxes) for (const to of row.boxes) out.push(edge(from.x + from.width / 2, bottom, to.x + to.width / 2, top));
    }
  }
  const separatorIndex = (b: Box): number => (showShapes ? b.lines.length - 2 : -1);
  for (const row of rows) {
    if (!row.layer) {
      out.push(`<g class="input" data-shape="${input.join(',')}">${renderBox(row.boxes[0], separatorIndex(row.boxes[0]))}</g>`);
      continue;
    }
    const { spec, inShape, outShape } = row.layer;
    const type = layerTypeName(spec);
    out.push(`<g class="layer" data-name="${escapeXml(spec.name)}" data-type="${escapeXml(type)}" data-groups="${row.groups}" data-input-shape="${inShape.join(',')}" data-output-shape="${outShape.join(',')}">`);
    out.push(`<title>${escapeXml(`${spec.name}: ${type} ${shapeText(inShape)} → ${shapeText(outShape)}`)}</title>`);
    for (const box of row.boxes) out.push(renderBox(box, separatorIndex(box)));
    out.push('</g>');
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
