// `alexnet-cli profile`: per-layer native time, GFLOP/s against the machine's measured peak, memory,
// with a Chrome trace (--trace), an HTML page (--html) or JSON (--json).
import { resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import { measurePeak, profileModel, type ProfileReport } from '../profile/profile.js';
import { renderTrace } from '../profile/trace.js';
import { renderHtml } from '../profile/html.js';
import { describeMachine, describePeak, describeRates, describeRun, describeTotals, hasReducedPrecision, layerRow, precisionCells, PRECISION_HEADER, PROFILE_HEADER, PROFILE_RIGHT_ALIGNED, totalRow } from '../profile/format.js';
import { checkInteger, WEIGHTS_HELP, withArchOption, withDeviceOption, withPrecisionOption, withThreadsOption } from './common.js';
import { writeFileAtomic } from '../atomic-write.js';
import { usageError } from '../errors.js';
import { renderTable, terminalWidth } from '../format.js';
import { status } from '../status.js';

export { profileModel, measurePeak, quantile } from '../profile/profile.js';
export type { ProfileReport, ProfileOptions, LayerProfile, PeakMeasurement, IterationProfile } from '../profile/profile.js';
export { renderTrace, buildTrace } from '../profile/trace.js';
export { renderHtml } from '../profile/html.js';

/** The text report; `width`: fit the table into this many columns (terminalWidth()), else one block */
export function renderProfile(report: ProfileReport, width?: number): string {
  // the total row goes below the closing rule, aligned with the columns it sums
  const lowp = hasReducedPrecision(report);
  const table = lowp
    ? renderTable([...PROFILE_HEADER, ...PRECISION_HEADER], report.layers.map((l) => [...layerRow(l), ...precisionCells(l)]),
      [...PROFILE_RIGHT_ALIGNED, false, false], { footer: [[...totalRow(report), '', '']], width })
    : renderTable(PROFILE_HEADER, report.layers.map(layerRow), PROFILE_RIGHT_ALIGNED, { footer: [totalRow(report)], width });
  return [
    `Profile: ${describeRun(report)}`,
    `Machine: ${describeMachine(report)}`,
    `Peak: ${describePeak(report)}`,
    table,
    describeRates(report),
    ...describeTotals(report),
  ].join('\n');
}

interface ProfileArgs {
  arch?: string;
  weights: string;
  batch: number;
  warmup: number;
  iters: number;
  threads?: number;
  device: string;
  trace?: string;
  html?: string;
  json: boolean;
  precision?: 'fp32' | 'bf16' | 'int8';
}

export const profileCommand: CommandModule<object, ProfileArgs> = {
  command: 'profile',
  describe: 'Time every layer on the native kernels: median/p90, share, GFLOP/s vs the measured peak, memory',
  builder: (y) => withPrecisionOption(withThreadsOption(withDeviceOption(withArchOption(y))))
    .option('weights', { type: 'string', default: 'random:0', describe: WEIGHTS_HELP })
    .option('batch', { alias: ['b', 'batch-size'], type: 'number', default: 1, describe: 'images per forward pass' })
    .option('warmup', { type: 'number', default: 2, describe: 'untimed forward passes first' })
    .option('iters', { type: 'number', default: 10, describe: 'timed forward passes' })
    .option('trace', { type: 'string', describe: 'write a Chrome trace (Perfetto, chrome://tracing) to FILE' })
    .option('html', { type: 'string', describe: 'write a self-contained HTML report to FILE' })
    .option('json', { type: 'boolean', default: false, describe: 'print JSON' }) as never,
  handler: async (argv) => {
    checkInteger(argv.batch, 'batch', 1);
    checkInteger(argv.warmup, 'warmup', 0);
    checkInteger(argv.iters, 'iters', 1);
    checkInteger(argv.threads, 'threads', 1);
    if (argv.trace === '') throw usageError('Expected a file name for --trace but received nothing');
    if (argv.html === '') throw usageError('Expected a file name for --html but received nothing');
    // the addon and the weight readers load only when the command runs (--help stays fast)
    const { native } = await import('../native.js');
    const { loadWeightsAndModel } = await import('../model/load.js');
    const binding = native();
    if (argv.threads !== undefined) binding.setThreads(argv.threads);
    const { resolveWeightsArg } = await import('../weights/registry.js');
    const { model } = await loadWeightsAndModel({ arch: argv.arch as never, weights: await resolveWeightsArg(argv.weights), device: argv.device, precision: argv.precision });
    try {
      const peak = await measurePeak(binding, argv.device);
      const report = await profileModel(model, {
        batch: argv.batch, warmup: argv.warmup, iters: argv.iters, peak,
        threads: binding.getThreads(), isa: argv.device === 'cpu' ? binding.cpuFeatures().isa : null,
      });
      // where the files went, on stderr (stdout stays the report, and --json stays JSON)
      if (argv.trace) {
        writeFileAtomic(argv.trace, renderTrace(report));
        status(`Wrote the Chrome trace to ${resolve(argv.trace)} (open it in https://ui.perfetto.dev or chrome://tracing)`);
      }
      if (argv.html) {
        writeFileAtomic(argv.html, renderHtml(report));
        status(`Wrote the HTML report to ${resolve(argv.html)}`);
      }
      process.stdout.write(argv.json ? `${JSON.stringify(report, null, 2)}\n` : `${renderProfile(report, terminalWidth())}\n`);
    } finally {
      model.dispose();
    }
  },
};
