#!/usr/bin/env node
// yargs wiring only: parse, call lib/, print, set the exit code.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { summaryCommand } from '../lib/commands/summary.js';
import { classifyCommand } from '../lib/commands/classify.js';
import { exitCodeFor } from '../lib/commands/common.js';

const verbose = process.argv.includes('--verbose');

function fail(err: unknown): never {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`alexnet-cli: ${message}\n`);
  if (verbose && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  process.exit(exitCodeFor(err));
}

await yargs(hideBin(process.argv))
  .scriptName('alexnet-cli')
  .usage('$0 <command> [options]')
  .command(summaryCommand)
  .command(classifyCommand)
  .option('verbose', { type: 'boolean', default: false, describe: 'print stack traces with errors' })
  .demandCommand(1, 'Expected a command; see --help')
  .strict()
  .recommendCommands()
  .fail((msg, err) => {
    if (err) fail(err);
    process.stderr.write(`alexnet-cli: ${msg}\n`);
    process.exit(2);
  })
  .help()
  .version()
  .parseAsync()
  .catch(fail);
