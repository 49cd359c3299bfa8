// `alexnet-cli plot`: the layer graph as SVG or PNG, like Keras' plot_model(show_shapes=True).
import { writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import type { CommandModule } from 'yargs';
import { ARCH_NAMES, buildArchitecture, isArchName } from '../model/archs.js';
import type { Architecture } from '../model/layers.js';
import { parseRandomSpec } from '../model/random.js';
import { renderSvg } from '../plot/svg.js';
import { WEIGHTS_HELP, withArchOption } from './common.js';
import { usageError } from '../errors.js';

export { renderSvg, type PlotOptions } from '../plot/svg.js';
export { svgToPng, type PngOptions } from '../plot/png.js';

interface PlotArgs {
  arch?: string;
  weights?: string;
  'show-shapes': boolean;
  output: string;
  scale: number;
}

/** --arch alone builds the architecture; --weights FILE takes it from the file (with --arch as a check) */
async function architectureFor(argv: PlotArgs): Promise<Architecture> {
  const name = argv.arch ?? 'seed';
  if (!isArchName(name)) throw usageError(`Expected one of ${ARCH_NAMES.join(', ')} for --arch but received ${name}`);
  if (argv.weights === undefined || parseRandomSpec(argv.weights) !== undefined) return buildArchitecture(name);
  // the weight readers (and the addon) load only for --weights FILE
  const { loadWeightsAndModel } = await import('../model/load.js');
  const { resolveWeightsArg } = await import('../weights/registry.js');
  const { model } = await loadWeightsAndModel({ arch: argv.arch as never, weights: await resolveWeightsArg(argv.weights) });
  model.dispose();
  return model.arch;
}

export const plotCommand: CommandModule<object, PlotArgs> = {
  command: 'plot',
  describe: 'Draw the layer graph to an SVG or PNG file (grouped convolutions as side-by-side towers)',
  builder: (y) => withArchOption(y)
    .option('weights', { type: 'string', describe: `take the architecture from weights: ${WEIGHTS_HELP}` })
    .option('show-shapes', { type: 'boolean', default: false, describe: 'add input and output shapes to every box' })
    .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'FILE.svg or FILE.png' })
    .option('scale', { type: 'number', default: 2, describe: 'PNG pixels per SVG unit' }) as never,
  handler: async (argv) => {
    const ext = extname(argv.output).toLowerCase();
    if (ext !== '.svg' && ext !== '.png') throw usageError(`Expected a .svg or .png file for --output but received ${argv.output}`);
    if (!(argv.scale > 0 && argv.scale <= 8)) throw usageError(`Expected a number in (0, 8] for --scale but received ${argv.scale}`);
    const arch = await architectureFor(argv);
    const svg = renderSvg(arch, { showShapes: argv['show-shapes'] });
    if (ext === '.svg') writeFileSync(argv.output, svg);
    else writeFileSync(argv.output, await (await import('../plot/png.js')).svgToPng(svg, { scale: argv.scale }));
  },
};
