// One self-contained HTML page for a profile: inline CSS, an inline SVG bar chart of the time per
// layer (median bar, p90 whisker), and the per-layer table. No scripts, no network. The page follows the
// window's width (checked at 800 and 1400 px in test/profile.test.ts): the chart scales with its viewBox,
// the table fills the width and scrolls inside its own box where a narrow window cannot hold it.
import type { LayerProfile, ProfileReport } from './profile.js';
import { describeMachine, describePeak, describeRates, describeRun, formatMs, LAYER_GAP_WARN_PERCENT, layerRow, PROFILE_HEADER, PROFILE_RIGHT_ALIGNED, totalRow } from './format.js';
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
  // no width/height: the page's CSS sizes it to the column and the viewBox keeps its proportions
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" preserveAspectRatio="xMinYMin meet" role="img" aria-label="Median time per layer">${parts.join('')}</svg>`;
}

const CSS = `
* { box-sizing: border-box; }
body { font: 14px/1.45 "DejaVu Sans", "Segoe UI", Helvetica, Arial, sans-serif; color: #212121; margin: 0; padding: 16px 2vw; background: #fafafa; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 24px 0 8px; }
.sub { color: #616161; margin: 0 0 4px; }
.machine { color: #616161; margin: 0 0 14px; font-size: 13px; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; }
.card { background: #fff; border: 1px solid #e0e0e0; border-radius: 6px; padding: 8px 12px; min-width: 140px; flex: 1 1 140px; }
.card .k { color: #757575; font-size: 12px; }
.card .v { font-size: 19px; font-weight: 600; white-space: nowrap; }
.card .n { color: #757575; font-size: 12px; }
.split { margin: 14px 0 0; background: #fff; border: 1px solid #e0e0e0; border-radius: 6px; padding: 8px 12px; }
.split.warn { border: 2px solid #e53935; background: #ffebee; }
.split .bar { display: flex; height: 14px; border-radius: 3px; overflow: hidden; background: #eeeeee; margin: 6px 0; }
.split .kernels { background: #1e88e5; }
.split .outside { background: #e53935; }
.split .t { font-size: 13px; }
.chart { background: #fff; border: 1px solid #e0e0e0; border-radius: 6px; padding: 8px; }
.chart svg { display: block; width: 100%; height: auto; max-height: 90vh; }
.chart .grid { stroke: #eeeeee; }
.chart .tick { font-size: 11px; fill: #757575; text-anchor: middle; }
.chart .axis { font-size: 11px; fill: #757575; text-anchor: end; }
.chart .label { font-size: 12px; text-anchor: end; }
.chart .label .type { fill: #757575; }
.chart .value { font-size: 11px; fill: #424242; }
.chart .whisker { stroke: #424242; stroke-width: 1.2; }
.legend { color: #757575; font-size: 12px; margin: 6px 0 0; }
.table-box { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; background: #fff; font-size: 12px; width: 100%; }
th, td { padding: 3px 6px; border-bottom: 1px solid #eeeeee; white-space: nowrap; }
th { background: #f5f5f5; text-align: left; border-bottom: 2px solid #e0e0e0; white-space: normal; vertical-align: bottom; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: 600; border-top: 2px solid #e0e0e0; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; }
.note { color: #616161; font-size: 13px; }
@media (max-width: 1100px) {
  body { font-size: 13px; }
  table { font-size: 10.5px; }
  th, td { padding: 2px 3px; }
  td.text { white-space: normal; min-width: 5em; }
  .swatch { margin-right: 3px; }
}
`;

function card(key: string, value: string, note = ''): string {
  return `<div class="card"><div class="k">${escapeXml(key)}</div><div class="v">${escapeXml(value)}</div>${note ? `<div class="n">${escapeXml(note)}</div>` : ''}</div>`;
}

/**
 * Where the end-to-end time goes: the layers' native time against the rest. Called out in red when the
 * rest is more than LAYER_GAP_WARN_PERCENT of the end-to-end time (or the layers add up to more than it)
 */
export function renderTimeSplit(report: ProfileReport): string {
  const t = report.totals;
  const kernelsPercent = Math.min(100, Math.max(0, (100 * t.layerSumNs) / t.endToEndMedianNs));
  const warn = Math.abs(t.differencePercent) > LAYER_GAP_WARN_PERCENT;
  const text = t.differenceNs >= 0
    ? `The layers add up to ${formatMs(t.layerSumNs)} ms of the ${formatMs(t.endToEndMedianNs)} ms end-to-end median (${kernelsPercent.toFixed(1)}%); ${formatMs(t.differenceNs)} ms (${t.differencePercent.toFixed(1)}%) is spent outside the kernels.`
    : `The layers add up to ${formatMs(t.layerSumNs)} ms, ${formatMs(-t.differenceNs)} ms (${(-t.differencePercent).toFixed(1)}%) more than the ${formatMs(t.endToEndMedianNs)} ms end-to-end median (the medians are taken separately).`;
  const advice = warn
    ? ` <strong>Layer-sum gap of ${Math.abs(t.differencePercent).toFixed(1)}%, above ${LAYER_GAP_WARN_PERCENT}%:</strong> JS dispatch, the input copy and reading the output, or other processes taking the CPU between layers; rerun with a larger --batch or on a quieter machine before reading the per-layer shares.`
    : '';
  return `<div class="split${warn ? ' warn' : ''}" data-gap-percent="${t.differencePercent.toFixed(1)}">
<div class="t">${escapeXml(text)}${advice}</div>
<div class="bar" title="kernels ${kernelsPercent.toFixed(1)}%"><div class="kernels" style="width:${kernelsPercent.toFixed(2)}%"></div><div class="outside" style="width:${(100 - kernelsPercent).toFixed(2)}%"></div></div>
<div class="legend"><span class="swatch" style="background:#1e88e5"></span>inside the kernels (sum of the layers) <span class="swatch" style="background:#e53935"></span>outside the kernels</div>
</div>`;
}

export function renderHtml(report: ProfileReport): string {
  const t = report.totals;
  // text columns may wrap in a narrow window (at spaces, commas and '+'); numbers never do
  const wrapText = (text: string): string => escapeXml(text).replace(/([,+/])/g, '$1<wbr>');
  const cell = (text: string, i: number, tag = 'td'): string => (PROFILE_RIGHT_ALIGNED[i]
    ? `<${tag} class="num">${escapeXml(text)}</${tag}>`
    : `<${tag} class="text">${tag === 'td' ? wrapText(text) : escapeXml(text)}</${tag}>`);
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
<p class="machine">${escapeXml(describeMachine(report))}</p>
<div class="cards">
${card('End-to-end (median)', `${formatMs(t.endToEndMedianNs)} ms`, `p90 ${formatMs(t.endToEndP90Ns)} ms per batch`)}
${card('Throughput', `${t.imagesPerSecond.toFixed(1)} img/s`, `batch ${report.batch}`)}
${card('Compute (as run)', `${t.algorithmGflops.toFixed(1)} GFLOP/s`, `${t.algorithmPeakPercent.toFixed(1)}% of peak; effective ${t.effectiveGflops.toFixed(1)} (direct count)`)}
${card('Peak fp32', `${report.peak.gflops.toFixed(1)} GFLOP/s`, report.peak.method === 'binding' ? 'from the addon' : 'measured with linear()')}
${card('Outside kernels', `${formatMs(t.outsideKernelsNs)} ms`, `median per iteration; layer-sum gap ${t.differencePercent.toFixed(1)}%`)}
${card('Weights', formatBytes(report.memory.weightsBytes))}
${card('Activation arena', formatBytes(report.memory.arenaBytes))}
${card('Peak RSS', formatBytes(report.memory.peakRssBytes))}
</div>
${renderTimeSplit(report)}
<h2>Time per layer</h2>
<div class="chart">${renderBarChart(report.layers)}</div>
<p class="legend">Bars: median native compute time over ${report.iters} iteration${report.iters === 1 ? '' : 's'}; whiskers reach the p90. Colours: <span class="swatch" style="background:${layerColor('Conv2D')}"></span>convolution <span class="swatch" style="background:${layerColor('Dense')}"></span>dense <span class="swatch" style="background:${layerColor('MaxPool2D')}"></span>pooling <span class="swatch" style="background:${layerColor('LRN')}"></span>LRN <span class="swatch" style="background:${layerColor('Softmax')}"></span>softmax <span class="swatch" style="background:${layerColor('Flatten')}"></span>other</p>
<h2>Layers</h2>
<div class="table-box">
<table>
<thead><tr>${PROFILE_HEADER.map((h, i) => cell(h, i, 'th')).join('')}</tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>
</div>
<p class="note">${escapeXml(describeRates(report))}. Winograd F(4,3) and F(4,5) do fewer multiply-adds than the direct convolution, so the effective rate can exceed the peak; Alg. % peak is the rate of the multiply-adds the kernels do.</p>
<p class="note">Layer times are the addon's own clock around each kernel; the end-to-end time is measured around forward().
The layers sum to ${formatMs(t.layerSumNs)} ms of the ${formatMs(t.endToEndMedianNs)} ms end-to-end median; the difference is ${formatMs(t.differenceNs)} ms (${t.differencePercent.toFixed(1)}%). Per iteration, a median of ${formatMs(t.outsideKernelsNs)} ms is spent outside the kernels (JS dispatch, input copy, output read).
Peak: ${escapeXml(describePeak(report))}. MACs and GFLOP/s are for the whole batch; activations in bytes written per batch.</p>
</body>
</html>
`;
}
