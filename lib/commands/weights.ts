// `alexnet-cli weights <download|list|verify> [name]`: manage the pretrained weights cache.
import type { Argv, CommandModule } from 'yargs';
import {
  DEFAULT_PRETRAINED, PRETRAINED, cacheDir, ensurePretrained, listCache, verifyCache,
} from '../weights/cache.js';

const ACTIONS = ['download', 'list', 'verify'] as const;

interface WeightsArgs {
  action: (typeof ACTIONS)[number];
  name?: string;
}

const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

/** Lines of `weights list`. */
export async function formatList(env = process.env): Promise<string[]> {
  const lines = [`cache: ${cacheDir(env)}`];
  for (const entry of await listCache(env)) {
    const { weights } = entry;
    const source = entry.sourceSize === undefined ? 'not downloaded' : `${megabytes(entry.sourceSize)} ${entry.sourcePath}`;
    const converted = entry.convertedSize === undefined ? 'not converted' : `${megabytes(entry.convertedSize)} ${entry.convertedPath}`;
    lines.push(
      `${weights.name} (arch ${weights.arch}): ${weights.description}`,
      `  source    ${weights.size === undefined ? '' : `${megabytes(weights.size)} `}${weights.url}`,
      `  cached    ${source}`,
      `  converted ${converted}`,
    );
  }
  return lines;
}

/** Lines of `weights verify`, and whether every cached file matched. */
export async function formatVerify(names?: string[], env = process.env): Promise<{ lines: string[]; ok: boolean }> {
  const lines: string[] = [];
  let ok = true;
  for (const result of await verifyCache(names, env)) {
    if (result.status === 'missing') {
      lines.push(`${result.name}: not downloaded (${result.path})`);
    } else if (result.status === 'ok') {
      lines.push(`${result.name}: OK ${result.path}`);
    } else {
      ok = false;
      lines.push(`${result.name}: MISMATCH ${result.path}: expected SHA-256 ${result.expected} but found ${result.found}`);
    }
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
