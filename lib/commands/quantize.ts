// `alexnet-cli quantize MODEL --calibrate DIR --out model-int8.safetensors`: static int8 quantization
// (lib/quantize/), with the per-layer error table.
import { statSync } from 'node:fs';
import { constants } from 'node:os';
import type { Argv, CommandModule } from 'yargs';
import { discardStagedFiles } from '../atomic-write.js';
import { usageError } from '../errors.js';
import { formatBytes, renderTable } from '../format.js';
import { parseArchName } from '../model/load.js';
import { status } from '../status.js';
import { CALIBRATION_METHODS, parseCalibrationMethod } from '../quantize/calibrate.js';
import { quantizeNetwork, type QuantizeResult } from '../quantize/quantize.js';
import { loadCalibrationImages, readFp32Params } from '../quantize/sources.js';
import { checkNewOutput, withArchOption } from './common.js';

interface QuantizeArgs {
  model: string;
  calibrate: string;
  images: number;
  out: string;
  method: string;
  arch?: string;
  batch: number;
  force?: boolean;
  json?: boolean;
}

const db = (v: number): string => (Number.isFinite(v) ? `${v.toFixed(1)} dB` : 'exact');
const num = (v: number): string => (Math.abs(v) >= 100 ? v.toFixed(1) : Math.abs(v) >= 1 ? v.toFixed(3) : v.toPrecision(3));

export function renderQuantizeTable(r: QuantizeResult): string {
  const rows = r.layers.map((l) => {
    const lo = (0 - l.input.zeroPoint) * l.input.scale;
    const hi = (255 - l.input.zeroPoint) * l.input.scale;
    return [
      l.name, `${num(l.observed.min)} .. ${num(l.observed.max)}`, `${num(lo)} .. ${num(hi)}`, l.input.scale.toExponential(3),
      String(l.input.zeroPoint), `${(100 * l.clipped).toFixed(3)}%`, db(l.weightSqnrDb), db(l.layerSqnrDb), db(l.networkSqnrDb),
      l.networkRelativeL2.toFixed(4),
    ];
  });
  return renderTable(
    ['layer', 'input seen', 'input kept', 'scale', 'zp', 'clipped', 'weights', 'layer alone', 'network', 'rel. L2'],
    rows, [false, true, true, true, true, true, true, true, true, true]);
}

export const quantizeCommand: CommandModule<object, QuantizeArgs> = {
  command: 'quantize <model>',
  describe: 'int8 model from fp32 weights: calibrate activation scales on images, write weights + scales + preprocessing, print each layer\'s error',
  builder: (y: Argv) => withArchOption(y
    .positional('model', { type: 'string', demandOption: true, describe: 'fp32 weights (any format convert reads) or random:SEED' })
    .option('calibrate', { type: 'string', demandOption: true, describe: 'calibration images: a folder, a glob, an image or a .npy tensor [N,3,H,W]' })
    .option('images', { type: 'number', default: 100, describe: 'calibration images to use, taken evenly over the sorted list' })
    .option('out', { alias: 'o', type: 'string', demandOption: true, describe: 'the int8 model to write (.safetensors)' })
    .option('method', { type: 'string', default: 'mse', choices: CALIBRATION_METHODS, describe: 'how activation ranges are picked (docs/precision.md)' })
    .option('batch', { type: 'number', default: 16, describe: 'images per forward pass' })
    .option('force', { type: 'boolean', describe: 'overwrite --out' })
    .option('json', { type: 'boolean', describe: 'print the table as JSON' })) as unknown as Argv<QuantizeArgs>,
  handler: async (argv) => {
    if (!argv.out.toLowerCase().endsWith('.safetensors')) throw usageError(`Expected an --out file ending in .safetensors but received ${argv.out}`);
    if (!Number.isInteger(argv.batch) || argv.batch < 1) throw usageError(`Expected a positive integer for --batch but received ${argv.batch}`);
    checkNewOutput(argv.out, argv.force);
    const method = parseCalibrationMethod(argv.method);
    const source = await readFp32Params(argv.model, { arch: argv.arch ? parseArchName(argv.arch) : undefined });
    const { images, available } = await loadCalibrationImages(argv.calibrate, source.preprocess, source.arch, argv.images);
    status(`quantize: ${source.arch.name}, ${images.length} of ${available} calibration inputs, method ${method}`);
    // Ctrl-C or kill during the run: the default action would end the process without running quantizeNetwork's
    // clean-up, leaving the int8 file (60 MB for AlexNet) under its temporary name beside --out. Remove it, leave
    // --out as it was, and exit as the signal would have (128 + its number: 130, 143).
    const onSignal = (signal: NodeJS.Signals) => {
      discardStagedFiles();
      process.stderr.write(`alexnet-cli: interrupted (${signal}); ${argv.out} was left as it was\n`);
      process.exit(128 + constants.signals[signal]);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const result = await quantizeNetwork(source.arch, source.preprocess, source.params, images, {
      method, batch: argv.batch, out: argv.out, calibration: { source: argv.calibrate },
      onPass: (pass, done, total) => { if (done === total) status(`quantize: ${pass} pass done (${total} images)`); },
    }).finally(() => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    });
    const written = statSync(argv.out).size;
    // warnings are not status: they print under --quiet and --json too
    for (const w of result.warnings) process.stderr.write(`alexnet-cli: warning: ${w}\n`);
    if (argv.json) {
      process.stdout.write(`${JSON.stringify({
        out: argv.out, arch: result.arch.name, method, images: result.images, top1Agreement: result.top1Agreement, runtime: result.runtime,
        bytes: written, fp32Bytes: source.bytes, warnings: result.warnings,
        layers: result.layers.map((l) => ({
          name: l.name, inputScale: l.input.scale, inputZeroPoint: l.input.zeroPoint, observed: l.observed, clipped: l.clipped, constantInput: l.constantInput,
          weightSqnrDb: l.weightSqnrDb, layerSqnrDb: l.layerSqnrDb, networkSqnrDb: l.networkSqnrDb, networkRelativeL2: l.networkRelativeL2,
        })),
      }, null, 2)}\n`);
      return;
    }
    const agree = Math.round(result.top1Agreement * result.images);
    // a layer left uncalibrated makes the agreement on these same images meaningless: the summary says so
    const constant = result.layers.filter((l) => l.constantInput).map((l) => l.name);
    const uncalibrated = constant.length === 0 ? []
      : [`NOT CALIBRATED: ${constant.join(', ')} saw one input value on every calibration image (warning${constant.length > 1 ? 's' : ''} on stderr): the agreement above, measured on these same images, says nothing about other images`];
    process.stdout.write([
      `${argv.out}: int8 ${result.arch.name}, activations calibrated by ${method} on ${result.images} images${constant.length ? ` (not ${constant.join(', ')}: see below)` : ''}`,
      renderQuantizeTable(result),
      `SQNR of each layer's output vs fp32 (${result.runtime === 'native' ? 'the native int8 runtime on the file written' : 'fake quantization: int8 values run by the fp32 kernels'}): "layer alone"`,
      'quantizes only that layer (its input and weights); "network" runs every layer up to it in int8.',
      `top-1 agreement with fp32 on the calibration images: ${(100 * result.top1Agreement).toFixed(1)}% (${agree}/${result.images})`,
      ...uncalibrated,
      `${formatBytes(written)} written (fp32 weights: ${formatBytes(source.bytes)})`,
      '',
    ].join('\n'));
  },
};
