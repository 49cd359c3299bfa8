// Number formatting shared by the profile's text table and its HTML page.
import type { LayerProfile, ProfileReport } from './profile.js';
import { formatBytes, formatInt } from '../format.js';

export const formatMs = (ns: number): string => (ns / 1e6).toFixed(3);
export const formatPercent = (value: number | null, digits = 1): string => (value === null ? '-' : `${value.toFixed(digits)}%`);
export const formatGflops = (value: number | null): string => (value === null ? '-' : value.toFixed(1));
export const formatShape = (shape: number[]): string => `(None, ${shape.join(', ')})`;

// MACs and Eff. GFLOP/s count the direct convolution; Algorithm, Alg. MACs and Alg. % peak what the kernels
// run (Winograd does fewer multiply-adds, so the direct count's rate can read above the peak)
export const PROFILE_HEADER = ['Layer', 'Type', 'Output Shape', 'Param #', 'MACs', 'Algorithm', 'Alg. MACs', 'Median ms', 'p90 ms', 'Share', 'Eff. GFLOP/s', 'Alg. % peak', 'Act. written'];
export const PROFILE_RIGHT_ALIGNED = [false, false, false, true, true, false, true, true, true, true, true, true, true];

export function layerRow(l: LayerProfile): string[] {
  return [
    l.name, l.type, formatShape(l.outputShape), formatInt(l.params), formatInt(l.macs), l.algorithm, formatInt(l.algorithmMacs),
    formatMs(l.medianNs), formatMs(l.p90Ns), formatPercent(100 * l.share), formatGflops(l.effectiveGflops), formatPercent(l.algorithmPeakPercent),
    l.activationBytes ? formatBytes(l.activationBytes) : '-',
  ];
}

export function totalRow(r: ProfileReport): string[] {
  const t = r.totals;
  return [
    'Total (sum of layers)', '', '', formatInt(t.params), formatInt(t.macs), '', formatInt(t.algorithmMacs), formatMs(t.layerSumNs), '', '100.0%',
    formatGflops(t.effectiveGflops), formatPercent(t.algorithmPeakPercent), formatBytes(t.activationBytes),
  ];
}

export function describeRun(r: ProfileReport): string {
  const threads = r.threads === null ? '' : `, ${r.threads} thread${r.threads === 1 ? '' : 's'}`;
  const isa = r.isa ? ` (${r.isa})` : '';
  return `${r.arch}, weights ${r.weights}, batch ${r.batch}, ${r.iters} iteration${r.iters === 1 ? '' : 's'} after ${r.warmup} warm-up, ${r.device}${isa}${threads}`;
}

export function describePeak(r: ProfileReport): string {
  const samples = r.peak.samples ?? [];
  const spread = samples.length > 1 ? `; this run's ${samples.length} measurements ${Math.min(...samples).toFixed(1)}-${Math.max(...samples).toFixed(1)}` : '';
  return `${r.peak.gflops.toFixed(1)} GFLOP/s fp32 (${r.peak.method === 'binding' ? 'from' : 'measured with'} ${r.peak.description}${spread})`;
}

/** What the two rates mean, under the table */
export function describeRates(r: ProfileReport): string {
  const t = r.totals;
  return `Eff. GFLOP/s counts the direct convolution's flops (${formatGflops(t.effectiveGflops)} GFLOP/s in total, ${formatPercent(100 * t.effectiveGflops / r.peak.gflops)} of the peak); `
    + `the kernels run the Algorithm column and do ${formatInt(t.algorithmMacs)} MACs of the ${formatInt(t.macs)}: ${formatGflops(t.algorithmGflops)} GFLOP/s, ${formatPercent(t.algorithmPeakPercent)} of the peak`;
}

/** One line with the machine and the run: date, version, CPU model and ISA */
export function describeMachine(r: ProfileReport): string {
  return `${r.createdAt.replace(/\.\d+Z$/, 'Z')}, alexnet-cli ${r.version}, ${r.cpu}${r.isa ? ` (${r.isa})` : ''}${r.threads === null ? '' : `, ${r.threads} thread${r.threads === 1 ? '' : 's'}`}`;
}

/** The layers' sum falls this far short of (or over) the end-to-end time before it is called out */
export const LAYER_GAP_WARN_PERCENT = 10;

export function describeTotals(r: ProfileReport): string[] {
  const t = r.totals;
  return [
    `End-to-end: median ${formatMs(t.endToEndMedianNs)} ms, p90 ${formatMs(t.endToEndP90Ns)} ms per batch of ${r.batch} (${t.imagesPerSecond.toFixed(1)} images/s)`,
    `Layers sum to ${formatMs(t.layerSumNs)} ms; difference to end-to-end ${formatMs(t.differenceNs)} ms (${t.differencePercent.toFixed(1)}%); per iteration ${formatMs(t.outsideKernelsNs)} ms (median) outside the kernels: JS dispatch, input copy, output read`,
    `Memory: weights ${formatBytes(r.memory.weightsBytes)} (+${formatBytes(r.memory.packedExtraBytes)} packed: Winograd-domain convs), activation arena ${formatBytes(r.memory.arenaBytes)}, peak RSS ${formatBytes(r.memory.peakRssBytes)}`,
  ];
}
