// `alexnet-cli convert IN OUT [--arch]`: the command around lib/weights/convert.ts.
import type { Argv, CommandModule } from 'yargs';
import { ARCH_NAMES } from '../model/archs.js';
import { convertWeights } from '../weights/convert.js';
import { checkNewOutput } from './common.js';

interface ConvertArgs {
  input: string;
  output: string;
  arch?: string;
  force: boolean;
  precision: string;
}

export const convertCommand: CommandModule<object, ConvertArgs> = {
  command: 'convert <input> <output>',
  describe: 'convert weights (.pth, .onnx, .caffemodel, .h5, .keras, .npz, .safetensors) to .safetensors or .onnx',
  builder: (y: Argv) => y
    .positional('input', { type: 'string', demandOption: true, describe: 'weights file to read, or a name: torchvision (IMAGENET1K_V1, DEFAULT), bvlc' })
    .positional('output', { type: 'string', demandOption: true, describe: 'file to write: .safetensors or .onnx' })
    .option('arch', { type: 'string', choices: ARCH_NAMES, describe: 'architecture of the weights (default: what the file says or its tensor shapes)' })
    .option('force', { type: 'boolean', default: false, describe: 'overwrite an existing output file' })
    .option('precision', { type: 'string', choices: ['fp32', 'int8'], default: 'fp32', describe: 'int8: an int8 model from quantize to a QDQ .onnx graph' }) as unknown as Argv<ConvertArgs>,
  handler: async (argv) => {
    checkNewOutput(argv.output, argv.force);
    if (argv.precision === 'int8') {
      const model = await (await import('../quantize/export.js')).exportInt8Onnx(argv.input, argv.output);
      process.stdout.write(`${argv.output}: QDQ int8 graph, ${model.layers.length} int8 layers, architecture ${model.arch.name} (${model.arch.numClasses} classes), from ${argv.input}\n`);
      return;
    }
    const { resolveWeightsArg } = await import('../weights/registry.js');
    const result = await convertWeights(await resolveWeightsArg(argv.input), argv.output, { arch: argv.arch });
    process.stdout.write(`${argv.output}: ${result.tensors} tensors, architecture ${result.arch.name} (${result.arch.numClasses} classes), from ${result.source}\n`);
  },
};
