#!/usr/bin/env node
// yargs wiring only: parse, call lib/, print, set the exit code.
import yargs, { type CommandModule } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { summaryCommand } from '../lib/commands/summary.js';
import { classifyCommand } from '../lib/commands/classify.js';
import { exitCodeFor } from '../lib/commands/common.js';
import { createWeightsCommand } from '../lib/commands/weights.js';
import { convertCommand, convertWeights } from '../lib/commands/convert.js';
import { infoCommand } from '../lib/commands/info.js';
import { profileCommand } from '../lib/commands/profile.js';
import { plotCommand } from '../lib/commands/plot.js';
import { scoreCommand } from '../lib/commands/score.js';
import { mergeCommand } from '../lib/commands/merge.js';
import { benchCommand } from '../lib/commands/bench.js';

const verbose = process.argv.includes('--verbose');

/** One line on stderr, the exit code for its kind (1 bad input, 2 bad usage), the stack only with --verbose */
function fail(err: unknown): never {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`alexnet-cli: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
  if (verbose && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  process.exit(exitCodeFor(err));
}

function guarded<T>(command: CommandModule<object, T>): CommandModule<object, T> {
  return {
    ...command,
    handler: async (argv) => {
      try {
        await command.handler(argv);
      } catch (err) {
        fail(err);
      }
    },
  };
}

const commands: CommandModule<object, never>[] = [
  summaryCommand,
  classifyCommand,
  scoreCommand,
  mergeCommand,
  infoCommand,
  profileCommand,
  benchCommand,
  plotCommand,
  convertCommand,
  createWeightsCommand(async (src, dst) => { await convertWeights(src, dst); }),
] as never;

const cli = yargs(hideBin(process.argv))
  .scriptName('alexnet-cli')
  .usage('$0 <command> [options]')
  .option('verbose', { type: 'boolean', default: false, describe: 'print stack traces with errors' })
  .demandCommand(1, 'Expected a command; see alexnet-cli --help')
  .strict()
  .recommendCommands()
  .fail((msg, err) => {
    if (err) fail(err);
    fail(Object.assign(new Error(msg), { code: 'ERR_USAGE' }));
  })
  .help()
  .version();
for (const command of commands) cli.command(guarded(command));
await cli.parseAsync().catch(fail);
