// `alexnet-cli weights <download|list|verify> [name]`: manage the pretrained weights cache.
import type { Argv, CommandModule } from 'yargs';
import { formatBytes } from '../format.js';
import { WEIGHTS } from '../weights/registry.js';
import {
  DEFAULT_PRETRAINED, PRETRAINED, cacheDir, ensurePretrained, fixCommand, listCache, verifyCache,
} from '../weights/cache.js';

const ACTIONS = ['download', 'list', 'verify'] as const;

interface WeightsArgs {
  action: (typeof ACTIONS)[number];
  name?: string;
}


/** Lines of `weights list`. */
export async function formatList(env = process.env): Promise<string[]> {
  const lines = [`cache: ${cacheDir(env)}`];
  for (const entry of await listCache(env)) {
    const { weights } = entry;
    const source = entry.sourceSize === undefined ? 'not downloaded' : `${formatBytes(entry.sourceSize)} ${entry.sourcePath}`;
    const converted = entry.convertedSize === undefined ? 'not converted' : `${formatBytes(entry.convertedSize)} ${entry.convertedPath}`;
    const named = WEIGHTS[weights.name];
    const metrics = named?.meta.metrics['ImageNet-1K'];
    lines.push(
      `${weights.name} (arch ${weights.arch}${named?.aliases.length ? `; also ${named.aliases.join(', ')}` : ''}): ${weights.description}`,
      ...(metrics ? [`  accuracy  ${metrics['acc@1']}% top-1, ${metrics['acc@5']}% top-5 on ImageNet-1k val (${named.meta.metricsSource})`] : []),
      `  source    ${weights.size === undefined ? '' : `${formatBytes(weights.size)} `}${weights.url}`,
      `  cached    ${source}`,
      `  converted ${converted}`,
    );
  }
  return lines;
}

/** Lines of `weights verify`, and whether every cached file matched. */
/**
 * Lines of `weights verify`, and whether it passed: every file found matched, and at least one was found
 * (nothing downloaded verifies nothing, which a script checking the exit status must not take for OK)
 */
export async function formatVerify(names?: string[], env = process.env): Promise<{ lines: string[]; ok: boolean }> {
  const lines: string[] = [];
  let ok = true;
  const results = await verifyCache(names, env);
  for (const result of results) {
    if (result.status === 'missing') {
      lines.push(`${result.name}: not downloaded (${result.path})`);
    } else if (result.status === 'ok') {
      lines.push(`${result.name}: OK ${result.path}`);
    } else {
      ok = false;
      lines.push(`${result.name}: MISMATCH ${result.path}: expected SHA-256 ${result.expected} but found ${result.found}; ${fixCommand(result.path, result.name)}`);
    }
  }
  if (results.every((r) => r.status === 'missing')) {
    ok = false;
    lines.push(names?.length === 1
      ? `nothing to verify: ${names[0]} is not downloaded in ${cacheDir(env)}; run \`alexnet-cli weights download ${names[0]}\` first`
      : `nothing to verify: no pretrained weights are downloaded in ${cacheDir(env)}; run \`alexnet-cli weights download [NAME]\` first`);
  }
  return { lines, ok };
}

export const weightsCommand: CommandModule<object, WeightsArgs> = {
  command: 'weights <action> [name]',
  describe: 'Download, list or verify the pretrained weights in the cache',
  builder: (yargs: Argv<object>) => yargs
    .positional('action', { choices: ACTIONS, demandOption: true, describe: 'what to do' })
    .positional('name', { choices: Object.keys(PRETRAINED), type: 'string', describe: 'which weights (download: torchvision by default)' }) as Argv<WeightsArgs>,
  handler: async (argv) => {
    if (argv.action === 'download') {
      // downloads, verifies and converts to <cache>/<name>.safetensors
      console.log(await ensurePretrained(argv.name ?? DEFAULT_PRETRAINED));
    } else if (argv.action === 'list') {
      for (const line of await formatList()) console.log(line);
    } else {
      const { lines, ok } = await formatVerify(argv.name === undefined ? undefined : [argv.name]);
      for (const line of lines) console.log(line);
      if (!ok) process.exitCode = 1;
    }
  },
};
