// The weights cache: known pretrained weights, where they are downloaded to, and their conversion to
// the engine's native safetensors file, done once per cache.
//
// Layout of the cache folder: the source files under their published names (alexnet-owt-7be5be79.pth,
// bvlcalexnet-12.onnx), kept so that `weights verify` can re-hash them, and `<name>.safetensors` next
// to them, the converted weights that loading uses.
//
// Processes that share a cache (the tasks of a job array, on one node or on several over NFS) take
// `<file>.lock` before they download or convert (lock.ts): one works, the others wait and then use
// its file, so no two ever write the same `.part` or converted file.
import { AlexnetError } from '../errors.js';
import { rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, isAbsolute, join } from 'node:path';
import type { ArchName } from '../model/layers.js';
import { checksumError, download, hashFile, hashMatches, progressBar, type DownloadOptions } from './download.js';
import { withFileLock } from './lock.js';

export interface PretrainedWeights {
  name: string;
  description: string;
  /** the architecture the weights are for */
  arch: ArchName;
  /** where the source file is published */
  url: string;
  /** its published name, also its name in the cache */
  fileName: string;
  size?: number;
  sha256?: string;
  sha256Prefix?: string;
}

export const PRETRAINED: Record<string, PretrainedWeights> = {
  torchvision: {
    name: 'torchvision',
    description: 'torchvision AlexNet_Weights.IMAGENET1K_V1 (PyTorch state dict)',
    arch: 'torchvision',
    url: 'https://download.pytorch.org/models/alexnet-owt-7be5be79.pth',
    fileName: 'alexnet-owt-7be5be79.pth',
    // torchvision names its files <name>-<first 8 hex digits of the SHA-256>.pth (torch.hub
    // check_hash). The full hash and size are the same in several independent public records of this
    // file (download manifests and verification scripts); the prefix check is kept as the
    // convention's own guarantee.
    size: 244408911,
    sha256: '7be5be791159472b1fbf3c69796f7cb30dca7ad8466c2df70058c37116cdee02',
    sha256Prefix: '7be5be79',
  },
  bvlc: {
    name: 'bvlc',
    description: 'BVLC AlexNet from the ONNX model zoo (bvlcalexnet-12, opset 12)',
    arch: 'caffe',
    url: 'https://github.com/onnx/models/raw/main/validated/vision/classification/alexnet/model/bvlcalexnet-12.onnx',
    fileName: 'bvlcalexnet-12.onnx',
    // onnx/models ONNX_HUB_MANIFEST.json, entry vision/classification/alexnet/model/bvlcalexnet-12.onnx:
    // model_sha and model_bytes (the file moved under validated/ unchanged; github serves it from LFS)
    size: 243863787,
    sha256: '6b0da9510f27f234ee96a85dc3809dd210150fdefad87f6850f9788513216945',
  },
};

export type Converter = (srcPath: string, dstPath: string) => void | Promise<void>;

type Env = Record<string, string | undefined>;

export interface EnsureOptions {
  env?: Env;
  /** the known weights to look `name` up in; PRETRAINED unless a test brings its own */
  registry?: Record<string, PretrainedWeights>;
  onProgress?: DownloadOptions['onProgress'];
  signal?: AbortSignal;
  timeoutMs?: number;
  /** another process holds the cache entry's lock (its "<host> <pid>"); default: a line on stderr */
  onWait?: (holder: string, file: string) => void;
}

function lockOptions(path: string, options: EnsureOptions) {
  const onWait = options.onWait ?? ((holder: string, file: string) => process.stderr.write(`alexnet-cli: waiting for ${holder}, which is writing ${file} into the cache\n`));
  return { signal: options.signal, onWait: (holder: string) => onWait(holder, basename(path)) };
}

/** `$ALEXNET_CLI_CACHE`, else `$XDG_CACHE_HOME/alexnet-cli`, else `~/.cache/alexnet-cli`. */
export function cacheDir(env: Env = process.env): string {
  if (env.ALEXNET_CLI_CACHE) return env.ALEXNET_CLI_CACHE;
  // the XDG base directory spec: a relative XDG_CACHE_HOME is invalid and must be ignored
  if (env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME)) return join(env.XDG_CACHE_HOME, 'alexnet-cli');
  return join(env.HOME || homedir(), '.cache', 'alexnet-cli');
}

/** The URL to fetch `weights` from: its published URL, or `$ALEXNET_CLI_WEIGHTS_URL/<fileName>` (a mirror). */
export function sourceUrl(weights: PretrainedWeights, env: Env = process.env): string {
  const base = env.ALEXNET_CLI_WEIGHTS_URL;
  return base ? `${base.replace(/\/+$/, '')}/${weights.fileName}` : weights.url;
}

export function sourcePath(weights: PretrainedWeights, env: Env = process.env): string {
  return join(cacheDir(env), weights.fileName);
}

export function convertedPath(name: string, env: Env = process.env): string {
  return join(cacheDir(env), `${name}.safetensors`);
}

export function lookupPretrained(name: string, registry: Record<string, PretrainedWeights> = PRETRAINED): PretrainedWeights {
  const weights = Object.hasOwn(registry, name) ? registry[name] : undefined;
  if (!weights) {
    throw new AlexnetError(`Expected one of ${Object.keys(registry).join(', ')} for pretrained weights but received ${name}`, 'ERR_INVALID_ARG_VALUE');
  }
  return weights;
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * The path of the verified source file of `name` in the cache, downloading it when absent. A file
 * that is already there (downloaded earlier or put there by hand) is re-hashed first; a wrong one is
 * an ERR_CHECKSUM error and is left alone.
 */
export async function ensureSource(name: string, options: EnsureOptions = {}): Promise<string> {
  const env = options.env ?? process.env;
  const weights = lookupPretrained(name, options.registry);
  const path = sourcePath(weights, env);
  // a file under the final name is complete (download renames only a verified one)
  const verified = async (): Promise<boolean> => {
    if (await sizeOf(path) === undefined) return false;
    const found = await hashFile(path, options.signal);
    if (!hashMatches(found, weights)) {
      const error = checksumError(path, weights.sha256 ?? `${weights.sha256Prefix}...`, found);
      throw new AlexnetError(`${error.message}; ${fixCommand(path, name)}`, error.code);
    }
    return true;
  };
  if (await verified()) return path;
  return withFileLock(path, async () => {
    if (await verified()) return path; // another process downloaded it while this one waited
    const bar = options.onProgress ? undefined : progressBar(name);
    try {
      await download(sourceUrl(weights, env), path, {
        sha256: weights.sha256,
        sha256Prefix: weights.sha256Prefix,
        size: weights.size,
        onProgress: options.onProgress ?? bar?.update,
        signal: options.signal,
        timeoutMs: options.timeoutMs,
      });
    } finally {
      bar?.end();
    }
    return path;
  }, lockOptions(path, options));
}

/** how to repair a bad file in the cache: the commands, for the end of its message */
export function fixCommand(path: string, name: string): string {
  return `remove it (rm ${path}) and run \`alexnet-cli weights download ${name}\` to fetch it again`;
}

/**
 * A converted file in the cache is complete safetensors (written by rename after the conversion, so only a
 * disk fault or a hand edit breaks it): its header parses and the tensors' data ends where the file does.
 * Cheap (the header only); a broken one is ERR_WEIGHTS with the command that repairs it.
 */
async function checkConverted(path: string, name: string): Promise<void> {
  const { open } = await import('node:fs/promises');
  const handle = await open(path, 'r');
  let why: string | undefined;
  try {
    const { size } = await handle.stat();
    const head = Buffer.alloc(8);
    await handle.read(head, 0, 8, 0);
    const headerLength = size >= 8 ? Number(head.readBigUInt64LE(0)) : 0;
    if (size < 8 || headerLength < 2 || 8 + headerLength > size || headerLength > 100e6) {
      why = `a header of ${headerLength} bytes in a file of ${size}`;
    } else {
      const text = Buffer.alloc(headerLength);
      await handle.read(text, 0, headerLength, 8);
      let end = 0;
      try {
        for (const [key, value] of Object.entries(JSON.parse(text.toString('utf8')) as Record<string, { data_offsets?: [number, number] }>)) {
          if (key !== '__metadata__') end = Math.max(end, value.data_offsets?.[1] ?? 0);
        }
        if (8 + headerLength + end !== size) why = `${size} bytes where the header describes ${8 + headerLength + end}`;
      } catch {
        why = 'a header that is not JSON';
      }
    }
  } finally {
    await handle.close();
  }
  if (why !== undefined) {
    throw new AlexnetError(`${path}: expected the converted weights in the cache to be complete safetensors but found ${why}; ` +
      `remove it (rm ${path}) and run \`alexnet-cli weights download ${name}\` to convert them again`, 'ERR_WEIGHTS');
  }
}

// one conversion per file at a time within this process
const converting = new Map<string, Promise<string>>();

/** lib/weights/convert.ts, loaded only when a conversion is needed */
const convertToSafetensors: Converter = async (src, dst) => {
  await (await import('./convert.js')).convertWeights(src, dst);
};

/**
 * The path of `<cache>/<name>.safetensors`, the native weights. When absent: downloads the source file
 * (ensureSource), then calls `convert(source, tmp)` once (convertWeights unless a test brings its own)
 * and renames tmp into place, so a failed or interrupted conversion never leaves a half-written file
 * under the final name.
 */
export async function ensurePretrained(name: string, options: EnsureOptions & { convert?: Converter } = {}): Promise<string> {
  const convert = options.convert ?? convertToSafetensors;
  const env = options.env ?? process.env;
  lookupPretrained(name, options.registry);
  const dst = convertedPath(name, env);
  if (await sizeOf(dst) !== undefined) {
    if (!options.convert) await checkConverted(dst, name);
    return dst;
  }
  let pending = converting.get(dst);
  if (!pending) {
    pending = withFileLock(dst, async () => {
      if (await sizeOf(dst) !== undefined) return dst; // converted by another process meanwhile
      const src = await ensureSource(name, options);
      // still ending in .safetensors, for a writer that goes by the extension
      const tmp = convertedPath(`${name}.${process.pid}.tmp`, env);
      try {
        await convert(src, tmp);
        await rename(tmp, dst);
      } catch (e) {
        // a write error names the file it could not write (lib/atomic-write.ts): to the user that is the cache file
        if (e instanceof AlexnetError && e.message.startsWith(`${tmp}: `)) e.message = `${dst}: ${e.message.slice(tmp.length + 2)}`;
        throw e;
      } finally {
        await rm(tmp, { force: true });
      }
      return dst;
    }, lockOptions(dst, options));
    converting.set(dst, pending);
    pending.then(() => converting.delete(dst), () => converting.delete(dst));
  }
  return pending;
}

/** The weights used when none are given: torchvision's pretrained weights, converted once into the cache */
export const DEFAULT_PRETRAINED = 'torchvision';

export async function defaultWeightsPath(): Promise<string> {
  return ensurePretrained(DEFAULT_PRETRAINED);
}

export interface CachedWeights {
  weights: PretrainedWeights;
  sourcePath: string;
  /** bytes, or undefined when not downloaded */
  sourceSize?: number;
  convertedPath: string;
  convertedSize?: number;
}

/** Every known weights entry with what the cache holds for it. */
export async function listCache(env: Env = process.env, registry = PRETRAINED): Promise<CachedWeights[]> {
  return Promise.all(Object.values(registry).map(async (weights) => ({
    weights,
    sourcePath: sourcePath(weights, env),
    sourceSize: await sizeOf(sourcePath(weights, env)),
    convertedPath: convertedPath(weights.name, env),
    convertedSize: await sizeOf(convertedPath(weights.name, env)),
  })));
}

export interface VerifyResult {
  name: string;
  path: string;
  status: 'ok' | 'mismatch' | 'missing';
  expected: string;
  found?: string;
}

/** Re-hash the cached source files of `names` (all known weights by default). */
export async function verifyCache(names?: string[], env: Env = process.env, registry = PRETRAINED): Promise<VerifyResult[]> {
  const results: VerifyResult[] = [];
  for (const name of names ?? Object.keys(registry)) {
    const weights = lookupPretrained(name, registry);
    const path = sourcePath(weights, env);
    const expected = weights.sha256 ?? `${weights.sha256Prefix}...`;
    const size = await sizeOf(path);
    if (size === undefined) {
      results.push({ name, path, status: 'missing', expected });
      continue;
    }
    const found = await hashFile(path);
    const sizeOk = weights.size === undefined || size === weights.size;
    results.push({ name, path, status: hashMatches(found, weights) && sizeOk ? 'ok' : 'mismatch', expected, found });
  }
  return results;
}
