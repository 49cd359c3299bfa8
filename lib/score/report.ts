// What `score` and `merge` print: the metrics as text tables or one JSON object, and the TTY progress line.
import { formatInt, renderTable } from '../format.js';
import type { ScoreMetrics } from './metrics.js';
import type { ScoreHeader } from './records.js';
import type { ScoreProgress, ScoreTiming } from './run.js';

/** the run's description, and its metrics as ScoreMetrics gives them */
export interface ScoreReport extends ScoreMetrics {
  dataset: string;
  layout: string;
  datasetSize: number;
  /** the shards covered: one for `score`, all merged ones for `merge` */
  shards: { index: number; count: number }[];
  images: number;
  /** score: where the shard came from (--shard, the scheduler's environment, or the default 0/1) */
  shardFrom?: { source: string; variables: Record<string, string>; text: string };
  /** score --resume: images found in the output and not scored again */
  resumed?: number;
  /** merge: shards with no output, outputs short of their shard's images, images in no output */
  missingShards?: number[];
  incompleteShards?: { index: number; path: string; images: number; expected: number }[];
  missingImages?: number;
  weights: string;
  arch: string;
  numClasses: number;
  timing?: ScoreTiming;
  warnings: string[];
  ignored: string[];
  output?: string;
  confusion?: string;
}

export function buildReport(header: ScoreHeader, metrics: ScoreMetrics, extra: Partial<ScoreReport> & { shards: ScoreReport['shards']; images: number }): ScoreReport {
  return {
    dataset: header.dataset, layout: header.layout, datasetSize: header.datasetSize, weights: header.weights, arch: header.arch, numClasses: header.numClasses,
    top1: metrics.top1, top5: metrics.top5, correctTop1: metrics.correctTop1, correctTop5: metrics.correctTop5,
    meanPerClassTop1: metrics.meanPerClassTop1, classesPresent: metrics.classesPresent,
    scored: metrics.scored, unreadable: metrics.unreadable, errors: metrics.errors, perClass: metrics.perClass,
    warnings: [], ignored: [],
    ...extra,
  };
}

const percent = (v: number) => `${(100 * v).toFixed(2)}%`;
const ms = (v: number) => `${v.toFixed(1)} ms`;

export function renderReport(r: ScoreReport): string {
  const lines: string[] = [];
  const shardText = r.shards.length === 1 && r.shards[0].count === 1
    ? ''
    : `, shard${r.shards.length > 1 ? 's' : ''} ${r.shards.map((s) => `${s.index}/${s.count}`).join(' ')}: ${formatInt(r.images)} images`;
  lines.push(`dataset      ${r.dataset} (${r.layout}), ${formatInt(r.datasetSize)} images${shardText}`);
  if (r.shardFrom && r.shardFrom.source !== 'default') lines.push(`shard        from ${r.shardFrom.text}`);
  if (r.resumed) lines.push(`resumed      ${formatInt(r.resumed)} images already in the output`);
  lines.push(`model        ${r.arch}, ${r.numClasses} classes, weights ${r.weights}`);
  lines.push(`images       ${formatInt(r.scored)} scored, ${formatInt(r.unreadable)} unreadable`);
  lines.push(`top-1        ${percent(r.top1)} (${formatInt(r.correctTop1)}/${formatInt(r.scored)})`);
  lines.push(r.top5 === null
    ? 'top-5        n/a (fewer than 5 predictions kept: --top)'
    : `top-5        ${percent(r.top5)} (${formatInt(r.correctTop5!)}/${formatInt(r.scored)})`);
  lines.push(`mean per-class top-1  ${percent(r.meanPerClassTop1)} over ${r.classesPresent} classes`);
  const t = r.timing;
  if (t && t.images > 0) {
    lines.push(`speed        ${t.imagesPerSecond.toFixed(1)} images/s (${formatInt(t.images)} images in ${(t.wallMs / 1000).toFixed(2)} s, batch ${t.batch}, ${t.workers} decode workers)`);
    lines.push(`time         per image: decode+preprocess ${ms(t.decodeMs / t.images)} (one native call for JPEGs) + batch assembly ${ms(t.preprocessMs / t.images)} (worker threads), inference ${ms(t.inferenceMs / t.images)}; `
      + `inference busy ${percent(t.inferenceMs / t.wallMs)} of the run, waiting for decoding ${percent(t.waitMs / t.wallMs)}`);
  }
  if (r.output) lines.push(`predictions  ${r.output}`);
  if (r.confusion) lines.push(`confusion    ${r.confusion}`);
  if (r.errors.length) {
    lines.push('', `unreadable images (${r.errors.length}):`);
    for (const e of r.errors) lines.push(`  ${e.path}: ${e.error}`);
  }
  if (r.perClass.length) {
    lines.push('', 'per-class accuracy:');
    const rows = r.perClass.map((c) => [String(c.index), c.wnid, c.label, formatInt(c.images), percent(c.top1), c.top5 === null ? 'n/a' : percent(c.top5)]);
    lines.push(renderTable(['index', 'wnid', 'class', 'images', 'top-1', 'top-5'], rows, [true, false, false, true, true, true]));
  }
  return `${lines.join('\n')}\n`;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, '0');
  return h ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`;
}

/** One progress line for a TTY, redrawn in place: done/total, images/s, ETA, running top-1 */
export function progressLine(p: ScoreProgress, columns: number): string {
  const top1 = p.scored ? `top-1 ${percent(p.correctTop1 / p.scored)}` : 'top-1 --';
  const stats = ` ${formatInt(p.done)}/${formatInt(p.total)}  ${p.imagesPerSecond.toFixed(1)} img/s  ETA ${formatDuration(p.etaSeconds)}  ${top1}`;
  const barWidth = Math.max(10, Math.min(40, columns - stats.length - 3));
  const filled = p.total ? Math.round((barWidth * p.done) / p.total) : barWidth;
  return `[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}]${stats}`;
}
