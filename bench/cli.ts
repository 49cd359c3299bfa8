// `alexnet-cli bench` until bin/alexnet-cli.ts registers benchCommand: the same yargs command, alone.
// Run: node dist/bench/cli.js bench --compare onnxruntime
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { benchCommand } from '../lib/commands/bench.js';

await yargs(hideBin(process.argv)).scriptName('alexnet-cli').command(benchCommand as never).demandCommand(1).strict().help().parseAsync();
