// `alexnet-cli summary`: the network's structure, like Keras' model.summary(), plus MACs.
import type { CommandModule } from 'yargs';
import { buildArchitecture } from '../model/archs.js';
import type { Architecture, ArchName } from '../model/layers.js';
import { inferShapes } from '../model/shapes.js';
import { layerSummary, type LayerSummary } from '../model/summary.js';
import { usageError } from '../errors.js';
import { formatBytes, formatInt, renderTable, terminalWidth } from '../format.js';
import { parseRandomSpec } from '../model/random.js';
import { WEIGHTS_HELP } from './common.js';

export interface ModelSummary {
  arch: string;
  input: number[];
  numClasses: number;
  layers: LayerSummary[];
  totalParams: number;
  paramBytes: number;
  totalMacs: number;
}

export function summarize(arch: Architecture, inputSize?: [number, number]): ModelSummary {
  const shapes = inferShapes(arch, inputSize);
  const layers = shapes.map(layerSummary);
  const totalParams = layers.reduce((a, l) => a + l.params, 0);
  return {
    arch: arch.name,
    input: [arch.input[0], ...(inputSize ?? [arch.input[1], arch.input[2]])],
    numClasses: arch.numClasses,
    layers,
    totalParams,
    paramBytes: totalParams * 4,
    totalMacs: layers.reduce((a, l) => a + l.macs, 0),
  };
}

/** The text report; `width`: fit the table into this many columns (terminalWidth()), else one block */
export function renderSummary(s: ModelSummary, width?: number): string {
  const rows = s.layers.map((l) => [l.name, l.type, `(None, ${l.outputShape.join(', ')})`, formatInt(l.params), formatInt(l.macs)]);
  return [
    `Model: "${s.arch}"  input (None, ${s.input.join(', ')})  ${s.numClasses} classes`,
    renderTable(['Layer', 'Type', 'Output Shape', 'Param #', 'MACs'], rows, [false, false, false, true, true], { width }),
    `Total params: ${formatInt(s.totalParams)} (${formatBytes(s.paramBytes)} as float32)`,
    `Total MACs: ${formatInt(s.totalMacs)} (${(2 * s.totalMacs / 1e9).toFixed(2)} GFLOP per image)`,
  ].join('\n');
}

/** the network a weights file (or registry name) holds, as loading would resolve it (--arch as a check) */
async function weightsArchitecture(weights: string, archName: string | undefined): Promise<Architecture> {
  const { resolveWeightsArg } = await import('../weights/registry.js');
  const { readWeights } = await import('../weights/index.js');
  const { resolveWeights } = await import('../weights/resolve.js');
  return resolveWeights(await readWeights(await resolveWeightsArg(weights)), { arch: archName }).arch;
}

interface SummaryArgs {
  arch?: string;
  weights?: string;
  'input-size'?: number;
  'num-classes': number;
  json: boolean;
}

export const summaryCommand: CommandModule<object, SummaryArgs> = {
  command: 'summary',
  describe: 'Show the layers, output shapes, parameters and MACs of an architecture or of a weights file\'s network',
  builder: (y) => y
    .option('arch', { type: 'string', choices: ['seed', 'caffe', 'torchvision'], describe: 'architecture (default: seed, or what --weights holds)' })
    .option('weights', { type: 'string', describe: `describe the network of these weights: ${WEIGHTS_HELP}` })
    .option('input-size', { type: 'number', describe: 'input height and width (default: the architecture\'s)' })
    .option('num-classes', { type: 'number', default: 1000, describe: 'classes of the head' })
    .option('json', { type: 'boolean', default: false, describe: 'print JSON' }) as never,
  handler: async (argv) => {
    const size = argv['input-size'];
    if (size !== undefined && (!Number.isInteger(size) || size < 1)) throw usageError(`Expected a positive integer for --input-size but received ${size}`);
    if (!Number.isInteger(argv['num-classes']) || argv['num-classes'] < 1) throw usageError(`Expected a positive integer for --num-classes but received ${argv['num-classes']}`);
    const arch = argv.weights !== undefined && parseRandomSpec(argv.weights) === undefined
      ? await weightsArchitecture(argv.weights, argv.arch)
      : buildArchitecture((argv.arch ?? 'seed') as ArchName, argv['num-classes']);
    const summary = summarize(arch, size ? [size, size] : undefined);
    process.stdout.write(argv.json ? `${JSON.stringify(summary, null, 2)}\n` : `${renderSummary(summary, terminalWidth())}\n`);
  },
};
