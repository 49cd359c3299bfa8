// Chrome trace event format (the JSON Object Format of the Trace Event Format document), which
// Perfetto and chrome://tracing open: one complete ("ph":"X") event per iteration, and inside it one
// per layer, laid end to end from the iteration's start with the layer's native duration.
import type { ProfileReport } from './profile.js';

export interface TraceEvent {
  name: string;
  cat?: string;
  ph: 'X' | 'M';
  /** microseconds */
  ts?: number;
  dur?: number;
  pid: number;
  tid: number;
  args?: Record<string, unknown>;
}

export interface TraceFile {
  traceEvents: TraceEvent[];
  displayTimeUnit: 'ms' | 'ns';
  otherData: Record<string, unknown>;
}

const PID = 1;
const TID = 1;
/** ns -> µs, rounded to the ns so the file stays small */
const us = (ns: number): number => Math.round(ns) / 1000;

export function buildTrace(report: ProfileReport): TraceFile {
  const events: TraceEvent[] = [
    { name: 'process_name', ph: 'M', pid: PID, tid: TID, args: { name: `alexnet-cli profile ${report.arch}` } },
    { name: 'thread_name', ph: 'M', pid: PID, tid: TID, args: { name: `forward (batch ${report.batch}, ${report.device})` } },
  ];
  report.iterations.forEach((it, iteration) => {
    const layerSum = it.layerNs.reduce((a, b) => a + b, 0);
    events.push({
      name: `iteration ${iteration}`, cat: 'iteration', ph: 'X', ts: us(it.startNs), dur: us(Math.max(it.wallNs, layerSum)), pid: PID, tid: TID,
      args: { iteration, batch: report.batch, wallNs: it.wallNs, layerSumNs: layerSum, outsideKernelsNs: it.wallNs - layerSum },
    });
    let t = it.startNs;
    report.layers.forEach((layer, i) => {
      events.push({
        name: layer.name, cat: 'layer', ph: 'X', ts: us(t), dur: us(it.layerNs[i]), pid: PID, tid: TID,
        args: { type: layer.type, iteration, inputShape: [report.batch, ...layer.inputShape], outputShape: [report.batch, ...layer.outputShape], macs: layer.macs, ns: it.layerNs[i] },
      });
      t += it.layerNs[i];
    });
  });
  return {
    traceEvents: events,
    displayTimeUnit: 'ms',
    otherData: { createdAt: report.createdAt, version: report.version, cpu: report.cpu, isa: report.isa, arch: report.arch, weights: report.weights, batch: report.batch, device: report.device, threads: report.threads, peakGflops: report.peak.gflops },
  };
}

/** The trace as the JSON text of a .json file */
export function renderTrace(report: ProfileReport): string {
  return `${JSON.stringify(buildTrace(report))}\n`;
}
