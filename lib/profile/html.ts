// One self-contained HTML page for a profile: inline CSS, an inline SVG bar chart of the time per
// layer (median bar, p90 whisker), and the per-layer table. No scripts, no network.
import type { LayerProfile, ProfileReport } from './profile.js';
import { describePeak, describeRun, formatMs, layerRow, PROFILE_HEADER, PROFILE_RIGHT_ALIGNED, totalRow } from './format.js';
import { formatBytes } from '../format.js';
import { escapeXml } from '../plot/xml.js';


/** Bar colours by layer kind, the same families as the plot command's boxes */
export function layerColor(type: string): string {
  if (type.startsWith('Conv2D')) return '#1e88e5';
  if (type.startsWith('Dense')) return '#8e24aa';
  if (type.startsWith('LRN')) return '#fb8c00';
  if (/Pool/.test(type)) return '#43a047';
  if (type.startsWith('Softmax')) return '#00897b';
  return '#9e9e9e';
}

const LABEL_WIDTH = 230;
const BAR_WIDTH = 640;
const VALUE_WIDTH = 150;
const ROW_HEIGHT = 24;
const AXIS_HEIGHT = 28;

/** A round axis maximum and tick step for `max` ms */
function niceScale(maxMs: number): { max: number; step: number } {
  if (!(maxMs > 0)) return { max: 1, step: 0.25 };
  const rough = maxMs / 5;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= rough)!;
  return { max: Math.ceil(maxMs / step) * step, step };
}

export function renderBarChart(layers: LayerProfile[]): string {
  const scale = niceScale(Math.max(...layers.map((l) => Math.max(l.medianNs, l.p90Ns) / 1e6)));
  const x = (ms: number): number => LABEL_WIDTH + (BAR_WIDTH * ms) / scale.max;
  const width = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH;
  const height = AXIS_HEIGHT + layers.length * ROW_HEIGHT + 8;
  const parts: string[] = [];
  // as many decimals as the step needs: 2 -> "2", 2.5 -> "2.5", 0.05 -> "0.05"
  const decimals = [0, 1, 2, 3].find((d) => Math.abs(Math.round(scale.step * 10 ** d) - scale.step * 10 ** d) < 1e-6) ?? 3;
  for (let v = 0; v <= scale.max + scale.step / 2; v += scale.step) {
    parts.push(`<line x1="${x(v).toFixed(1)}" y1="${AXIS_HEIGHT - 6}" x2="${x(v).toFixed(1)}" y2="${height - 4}" class="grid"/>`);
    parts.push(`<text x="${x(v).toFixed(1)}" y="${AXIS_HEIGHT - 10}" class="tick">${v.toFixed(decimals)}</text>`);
  }
  parts.push(`<text x="${LABEL_WIDTH - 28}" y="${AXIS_HEIGHT - 10}" class="axis">ms</text>`);
  layers.forEach((l, i) => {
    const y = AXIS_HEIGHT + i * ROW_HEIGHT;
    const mid = y + ROW_HEIGHT / 2;
    const medianMs = l.medianNs / 1e6;
    const p90Ms = l.p90Ns / 1e6;
    const barEnd = x(medianMs);
    parts.push(`<g class="bar" data-name="${escapeXml(l.name)}">`);
    parts.push(`<title>${escapeXml(`${l.name} (${l.type}): median ${formatMs(l.medianNs)} ms, p90 ${formatMs(l.p90Ns)} ms`)}</title>`);
    parts.push(`<text x="${LABEL_WIDTH - 10}" y="${mid + 4}" class="label"><tspan class="name">${escapeXml(l.name)}</tspan> <tspan class="type">${escapeXml(l.type)}</tspan></text>`);
    parts.push(`<rect x="${LABEL_WIDTH}" y="${y + 4}" width="${Math.max(barEnd - LABEL_WIDTH, 0.5).toFixed(1)}" height="${ROW_HEIGHT - 8}" rx="2" fill="${layerColor(l.type)}"/>`);
    if (p90Ms > medianMs) {
      parts.push(`<line x1="${barEnd.toFixed(1)}" y1="${mid}" x2="${x(p90Ms).toFixed(1)}" y2="${mid}" class="whisker"/>`);
      parts.push(`<line x1="${x(p90Ms).toFixed(1)}" y1="${mid - 5}" x2="${x(p90Ms).toFixed(1)}" y2="${mid + 5}" class="whisker"/>`);
    }
    parts.push(`<text x="${(x(Math.max(p90Ms, medianMs)) + 6).toFixed(1)}" y="${mid + 4}" class="value">${formatMs(l.medianNs)} ms · ${(100 * l.share).toFixed(1)}%</text>`);
    parts.push('</g>');
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="Median time per layer">${parts.join('')}</svg>`;
}

const CSS = `
body { font: 14px/1.45 "DejaVu Sans", "Segoe UI", Helvetica, Arial, sans-serif; color: #212121; margin: 20px 24px; background: #fafafa; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 28px 0 8px; }
.sub { color: #616161; margin: 0 0 16px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { background: #fff; border: 1px solid #e0e0e0; border-radius: 6px; padding: 10px 14px; min-width: 150px; }
.card .k { color: #757575; font-size: 12px; }
.card .v { font-size: 20px; font-weight: 600; }
.card .n { color: #757575; font-size: 12px; }
.chart { background: #fff; border: 1px solid #e0e0e0; border-radius: 6px; padding: 8px; display: inline-block; }
.chart .grid { stroke: #eeeeee; }
.chart .tick { font-size: 11px; fill: #757575; text-anchor: middle; }
.chart .axis { font-size: 11px; fill: #757575; text-anchor: end; }
.chart .label { font-size: 12px; text-anchor: end; }
.chart .label .type { fill: #757575; }
.chart .value { font-size: 11px; fill: #424242; }
.chart .whisker { stroke: #424242; stroke-width: 1.2; }
.legend { color: #757575; font-size: 12px; margin: 6px 0 0; }
table { border-collapse: collapse; background: #fff; font-size: 12px; }
th, td { padding: 3px 7px; border-bottom: 1px solid #eeeeee; white-space: nowrap; }
th { background: #f5f5f5; text-align: left; border-bottom: 2px solid #e0e0e0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: 600; border-top: 2px solid #e0e0e0; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; }
.note { color: #616161; font-size: 13px; }
`;

function card(key: string, value: string, note = ''): string {
  return `<div class="card"><div class="k">${escapeXml(key)}</div><div class="v">${escapeXml(value)}</div>${note ? `<div class="n">${escapeXml(note)}</div>` : ''}</div>`;
}

export function renderHtml(report: ProfileReport): string {
  const t = report.totals;
  const cell = (text: string, i: number, tag = 'td'): string => `<${tag}${PROFILE_RIGHT_ALIGNED[i] ? ' class="num"' : ''}>${escapeXml(text)}</${tag}>`;
  const rows = report.layers.map((l) => {
    const cells = layerRow(l).map((c, i) => cell(c, i));
    cells[0] = `<td><span class="swatch" style="background:${layerColor(l.type)}"></span>${escapeXml(l.name)}</td>`;
    return `<tr>${cells.join('')}</tr>`;
  });
  rows.push(`<tr class="total">${totalRow(report).map((c, i) => cell(c, i)).join('')}</tr>`);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeXml(`alexnet-cli profile: ${report.arch}`)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>Profile of ${escapeXml(report.arch)}</h1>
<p class="sub">${escapeXml(describeRun(report))}</p>
<div class="cards">
${card('End-to-end (median)', `${formatMs(t.endToEndMedianNs)} ms`, `p90 ${formatMs(t.endToEndP90Ns)} ms per batch`)}
${card('Throughput', `${t.imagesPerSecond.toFixed(1)} img/s`, `batch ${report.batch}`)}
${card('Compute', `${t.gflops.toFixed(1)} GFLOP/s`, `${t.peakPercent.toFixed(1)}% of peak`)}
${card('Peak fp32', `${report.peak.gflops.toFixed(1)} GFLOP/s`, report.peak.method === 'binding' ? 'from the addon' : 'measured with linear()')}
${card('Outside kernels', `${formatMs(t.outsideKernelsNs)} ms`, `median per iteration; layer-sum gap ${t.differencePercent.toFixed(1)}%`)}
${card('Weights', formatBytes(report.memory.weightsBytes))}
${card('Activation arena', formatBytes(report.memory.arenaBytes))}
${card('Peak RSS', formatBytes(report.memory.peakRssBytes))}
</div>
<h2>Time per layer</h2>
<div class="chart">${renderBarChart(report.layers)}</div>
<p class="legend">Bars: median native compute time over ${report.iters} iteration${report.iters === 1 ? '' : 's'}; whiskers reach the p90. Colours: <span class="swatch" style="background:${layerColor('Conv2D')}"></span>convolution <span class="swatch" style="background:${layerColor('Dense')}"></span>dense <span class="swatch" style="background:${layerColor('MaxPool2D')}"></span>pooling <span class="swatch" style="background:${layerColor('LRN')}"></span>LRN <span class="swatch" style="background:${layerColor('Softmax')}"></span>softmax <span class="swatch" style="background:${layerColor('Flatten')}"></span>other</p>
<h2>Layers</h2>
<table>
<thead><tr>${PROFILE_HEADER.map((h, i) => cell(h, i, 'th')).join('')}</tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>
<p class="note">Layer times are the addon's own clock around each kernel; the end-to-end time is measured around forward().
The layers sum to ${formatMs(t.layerSumNs)} ms of the ${formatMs(t.endToEndMedianNs)} ms end-to-end median; the difference is ${formatMs(t.differenceNs)} ms (${t.differencePercent.toFixed(1)}%). Per iteration, a median of ${formatMs(t.outsideKernelsNs)} ms is spent outside the kernels (JS dispatch, input copy, output read).
Peak: ${escapeXml(describePeak(report))}. MACs and GFLOP/s are for the whole batch; activations in bytes written per batch.</p>
</body>
</html>
`;
}
