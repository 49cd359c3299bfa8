// `alexnet-cli plot`: the layer graph as SVG or PNG, like Keras' plot_model(show_shapes=True).
import { extname } from 'node:path';
import type { CommandModule } from 'yargs';
import { ARCH_NAMES, buildArchitecture, isArchName } from '../model/archs.js';
import type { Architecture } from '../model/layers.js';
import { parseRandomSpec } from '../model/random.js';
import { FOLDABLE_TYPES, type FoldableType, RANKDIRS, type Rankdir, renderSvg } from '../plot/svg.js';
import { WEIGHTS_HELP, withArchOption } from './common.js';
import { writeFileAtomic } from '../atomic-write.js';
import { usageError } from '../errors.js';

export { renderSvg, type PlotOptions, type Rankdir, type FoldableType, RANKDIRS, FOLDABLE_TYPES } from '../plot/svg.js';
export { svgToPng, type PngOptions } from '../plot/png.js';

interface PlotArgs {
  arch?: string;
  weights?: string;
  'show-shapes': boolean;
  'show-params': boolean;
  rankdir: string;
  fold?: string;
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

/** --fold TYPES: a comma-separated list of layer types (case-insensitive); --fold alone: dropout,flatten */
export function parseFold(value: string | undefined): FoldableType[] {
  if (value === undefined) return [];
  if (value.trim() === '') return ['dropout', 'flatten'];
  const types = value.split(',').map((t) => t.trim().toLowerCase());
  for (const t of types) {
    if (!(FOLDABLE_TYPES as readonly string[]).includes(t)) {
      throw usageError(`Expected a comma-separated list of ${FOLDABLE_TYPES.join(', ')} for --fold but received ${value}`);
    }
  }
  return types as FoldableType[];
}

export const plotCommand: CommandModule<object, PlotArgs> = {
  command: 'plot',
  describe: 'Draw the layer graph to an SVG or PNG file (grouped convolutions as side-by-side towers)',
  builder: (y) => withArchOption(y)
    .option('weights', { type: 'string', describe: `take the architecture from weights: ${WEIGHTS_HELP}` })
    .option('show-shapes', { type: 'boolean', default: false, describe: 'add input and output shapes to every box' })
    .option('show-params', { type: 'boolean', default: true, describe: 'the parameter count in every box (--no-show-params: without)' })
    .option('rankdir', { alias: 'direction', type: 'string', default: 'TB', describe: 'TB: top to bottom, LR: left to right (as Keras plot_model and graphviz)' })
    .option('fold', { type: 'string', describe: `draw these layer types as a line in the box before them (comma-separated: ${FOLDABLE_TYPES.join(', ')}; --fold alone: dropout,flatten)` })
    .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'FILE.svg or FILE.png' })
    .option('scale', { type: 'number', default: 2, describe: 'PNG pixels per SVG unit' }) as never,
  handler: async (argv) => {
    const ext = extname(argv.output).toLowerCase();
    if (ext !== '.svg' && ext !== '.png') throw usageError(`Expected a .svg or .png file for --output but received ${argv.output}`);
    if (!(argv.scale > 0 && argv.scale <= 8)) throw usageError(`Expected a number in (0, 8] for --scale but received ${argv.scale}`);
    const rankdir = String(argv.rankdir ?? 'TB').toUpperCase();
    if (!(RANKDIRS as string[]).includes(rankdir)) throw usageError(`Expected one of ${RANKDIRS.join(', ')} for --rankdir but received ${argv.rankdir}`);
    const fold = parseFold(argv.fold);
    const arch = await architectureFor(argv);
    const svg = renderSvg(arch, { showShapes: argv['show-shapes'], showParams: argv['show-params'] ?? true, rankdir: rankdir as Rankdir, fold });
    if (ext === '.svg') writeFileAtomic(argv.output, svg);
    else writeFileAtomic(argv.output, await (await import('../plot/png.js')).svgToPng(svg, { scale: argv.scale }));
  },
};
