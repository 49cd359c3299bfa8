#!/usr/bin/env node
// yargs wiring only: parse, call lib/, print, set the exit code.
import yargs, { type CommandModule } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { exitCodeFor } from '../lib/errors.js';
import { STDIN_ARG } from '../lib/image/input.js';
import { setQuiet } from '../lib/status.js';

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

interface ParsedOptions {
  array: string[];
  boolean: string[];
  number: string[];
  alias: Record<string, string[]>;
}

/**
 * A flag given twice takes its last value (`--top 2 --top 0` is --top 0), as in most CLIs. yargs would
 * collect both into an array that no option here expects, and for numbers it adds a repeated value of 1
 * to the first (`--top 2 --top 1` reads 3: yargs-parser takes 1 for a count increment). So the value of
 * each repeated flag is read back from the raw arguments.
 */
function lastValueWins(args: Record<string, unknown>, options: ParsedOptions, raw: string[]): void {
  const keyOf = new Map<string, string>();
  for (const [key, aliases] of Object.entries(options.alias)) for (const name of [key, ...aliases]) keyOf.set(name, key);
  const last = new Map<string, { value: string; count: number }>();
  for (let i = 0; i < raw.length && raw[i] !== '--'; i++) {
    const match = /^--?([^=]+)(?:=(.*))?$/.exec(raw[i]);
    if (!match || /^-\d/.test(raw[i])) continue;
    const key = keyOf.get(match[1]) ?? match[1];
    if (options.boolean.includes(key) || options.array.includes(key)) continue;
    const value = match[2] ?? raw[i + 1];
    if (match[2] === undefined) i++;
    last.set(key, { value, count: (last.get(key)?.count ?? 0) + 1 });
  }
  for (const [key, { value, count }] of last) {
    if (count < 2 || value === undefined) continue;
    const parsed = options.number.includes(key) ? Number(value) : value;
    for (const name of [key, ...(options.alias[key] ?? [])]) {
      args[name] = parsed;
      // yargs also sets the camel-case form of dashed names (batch-size -> batchSize)
      if (name.includes('-')) args[name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())] = parsed;
    }
  }
}

type AnyCommand = CommandModule<object, never>;

// Each command's module, by command name. A run imports only the module of the command it names, so
// `classify` does not load what `profile`, `plot` or `convert` need (RSS and startup time: bench/rss.ts);
// with no known command first (--help, a typo, an option before the command), it imports them all.
const COMMANDS: Record<string, () => Promise<AnyCommand>> = {
  summary: async () => (await import('../lib/commands/summary.js')).summaryCommand as AnyCommand,
  classify: async () => (await import('../lib/commands/classify.js')).classifyCommand as AnyCommand,
  score: async () => (await import('../lib/commands/score.js')).scoreCommand as AnyCommand,
  merge: async () => (await import('../lib/commands/merge.js')).mergeCommand as AnyCommand,
  info: async () => (await import('../lib/commands/info.js')).infoCommand as AnyCommand,
  profile: async () => (await import('../lib/commands/profile.js')).profileCommand as AnyCommand,
  bench: async () => (await import('../lib/commands/bench.js')).benchCommand as AnyCommand,
  plot: async () => (await import('../lib/commands/plot.js')).plotCommand as AnyCommand,
  convert: async () => (await import('../lib/commands/convert.js')).convertCommand as AnyCommand,
  weights: async () => (await import('../lib/commands/weights.js')).weightsCommand as AnyCommand,
  quantize: async () => (await import('../lib/commands/quantize.js')).quantizeCommand as AnyCommand,
};
// yargs drops a lone '-' from positionals (it re-parses them as `--inputs -`): classify's is passed as
// STDIN_ARG, which it reads as standard input
const rawArgv = hideBin(process.argv);
const argv = rawArgv.find((arg) => !arg.startsWith('-')) === 'classify' ? rawArgv.map((arg) => (arg === '-' ? STDIN_ARG : arg)) : rawArgv;
// Load only the named command's module when the command word is unambiguous: every option before it is
// --verbose or carries its value with '=' (otherwise '--arch info summary' would take 'info' for the command).
const first = argv.findIndex((arg) => !arg.startsWith('-'));
const named = first >= 0 && argv.slice(0, first).every((arg) => arg === '--verbose' || arg.includes('='))
  ? argv[first] : undefined;
const commands = await Promise.all(
  named !== undefined && Object.hasOwn(COMMANDS, named) ? [COMMANDS[named]()] : Object.values(COMMANDS).map((load) => load()));

const cli = yargs(argv)
  .scriptName('alexnet-cli')
  .usage('$0 <command> [options]')
  // yargs passes itself, with the command's options, as the second argument (not in its typings)
  .middleware(((args: Record<string, unknown>, y: { getOptions(): ParsedOptions }) => lastValueWins(args, y.getOptions(), argv)) as never, true)
  .option('verbose', { type: 'boolean', default: false, describe: 'print stack traces with errors' })
  .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress bars or status lines on stderr (errors and warnings still print)' })
  .middleware((args) => setQuiet(args.quiet === true))
  .demandCommand(1, 'Expected a command; see alexnet-cli --help')
  .strict()
  .recommendCommands()
  .fail((msg, err) => {
    if (err) fail(err);
    fail(Object.assign(new Error(msg), { code: 'ERR_USAGE' }));
  })
  .help()
  .alias('h', 'help')
  .version();
for (const command of commands) cli.command(guarded(command));
await cli.parseAsync().catch(fail);
