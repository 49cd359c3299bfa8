// Seeded mutation fuzzing of every weights parser and the image decoders, through their public
// functions (readWeights + detectArchitecture + tensorValues; decodeImage + loadImageTensor), on the
// committed fixtures. Mutations: truncation, byte and bit flips, lying length fields (32/64-bit values
// written over the file), splices, and format-aware huge dimensions (safetensors header, ONNX dims,
// pickle BININT1/BININT2 sizes). What must hold for every case: it returns or throws an Error with a
// code, on one line, that names the file; no signal, no hang, RSS under the bound.
//
//   node dist/bench/fuzz.js [--seed 1] [--cases 400] [--only weights|images] [--rss-mb 1024]
//                           [--watchdog-s 120] [--json]
//   node dist/bench/fuzz.js --child --case --from N [--seed S --cases C --only O]   one case, with its stack
//
// The cases run in a child process that reports each one before and after it runs, so a case that
// kills the process (a signal) or hangs (no report for --watchdog-s seconds) is named and the run goes
// on with the next case in a fresh child. test/fuzz.test.ts runs a fixed seed and number of cases with
// no watchdog (tests carry no time limits). The same seed gives the same cases on every machine.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
// mulberry32: small, seedable, the same sequence everywhere
import { random as seededRandom, TINY_INT8_ARCH } from '../test/reference.js';

const here = dirname(fileURLToPath(import.meta.url));
// dist/bench/fuzz.js -> <root>/test/fixtures
const FIXTURES = join(here, '..', '..', 'test', 'fixtures');

export interface FuzzCase {
  index: number;
  fixture: string;
  kind: 'weights' | 'image';
  mutation: string;
}

export interface CaseResult extends FuzzCase {
  outcome: 'ok' | 'error' | 'bad-error' | 'signal' | 'hang' | 'rss';
  message?: string;
  rssMb?: number;
}

const WEIGHT_EXTENSIONS = ['.onnx', '.caffemodel', '.h5', '.keras', '.npz', '.pth', '.safetensors'];
const SIDE_FILES = ['.data']; // ONNX external data travels with its model

export function fixtureList(only?: string): { path: string; kind: 'weights' | 'image' }[] {
  const out: { path: string; kind: 'weights' | 'image' }[] = [];
  if (only !== 'images') {
    const dir = join(FIXTURES, 'weights');
    for (const f of readdirSync(dir).sort()) if (WEIGHT_EXTENSIONS.includes(extname(f))) out.push({ path: join(dir, f), kind: 'weights' });
    // no safetensors file is committed: the child writes these from tv_small.pth (generatedSafetensors):
    // fp32, and int8 as `alexnet-cli quantize` writes it (also read by readInt8Model)
    out.push({ path: GENERATED_SAFETENSORS, kind: 'weights' }, { path: GENERATED_INT8, kind: 'weights' });
  }
  if (only !== 'weights') {
    const dir = join(FIXTURES, 'images');
    // the photographs themselves, not their preprocessed reference PNGs
    for (const f of readdirSync(dir).sort()) if (/^[a-z0-9-]+\.(jpg|jpeg|png)$/.test(f)) out.push({ path: join(dir, f), kind: 'image' });
    // WebP, BMP, GIF, TIFF (made by Pillow: make_format_fixtures.py), their bombs and truncations included
    const formats = join(dir, 'formats');
    for (const f of readdirSync(formats).sort()) if (/\.(webp|bmp|gif|tif)$/.test(f)) out.push({ path: join(formats, f), kind: 'image' });
  }
  return out;
}

const GENERATED_SAFETENSORS = 'generated/tv_small.safetensors';
const GENERATED_INT8 = 'generated/tv_small-int8.safetensors';

async function generatedSafetensors(work: string): Promise<{ fp32: string; int8: string }> {
  const { readWeights } = await import('../lib/weights/index.js');
  const { tensorValues, writeSafetensors } = await import('../lib/weights/safetensors.js');
  const { inferShapes } = await import('../lib/model/shapes.js');
  const { quantizeWeights } = await import('../lib/quantize/quant.js');
  const { writeInt8Model } = await import('../lib/quantize/file.js');
  const set = await readWeights(join(FIXTURES, 'weights', 'tv_small.pth'));
  const tensors = new Map([...set.tensors].map(([name, t]) => [name, { shape: t.shape, data: tensorValues(t) }]));
  const fp32 = join(work, 'tv_small.safetensors');
  writeSafetensors(fp32, tensors, { format: 'pt' });
  // the int8 file: a small network (test/reference.ts TINY_INT8_ARCH, in the file's metadata), per-channel int8 weights
  // of seeded values, a made-up static input quantization per layer
  const arch = TINY_INT8_ARCH;
  const random = seededRandom(2026);
  const layers = inferShapes(arch).filter((l) => l.spec.type === 'conv2d' || l.spec.type === 'linear').map((l, i) => {
    const name = l.spec.name;
    const shape = l.params.get(`${name}.weight`)!;
    const weight = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => random() - 0.5);
    return {
      name, weightShape: shape, weight: quantizeWeights(weight, shape[0]),
      bias: Float32Array.from({ length: shape[0] }, () => random() - 0.5), input: { scale: 0.02 * (i + 1), zeroPoint: i === 0 ? 128 : 0 },
    };
  });
  const int8 = join(work, 'tv_small-int8.safetensors');
  writeInt8Model(int8, { arch, preprocess: arch.preprocess, calibration: { method: 'minmax', images: 0 }, layers });
  return { fp32, int8 };
}

const HUGE_32 = [0xffffffff, 0x7fffffff, 0x80000000, 0x40000000, 0x10000000];

function writeU32(buf: Buffer, at: number, value: number): void {
  if (at + 4 <= buf.length) buf.writeUInt32LE(value >>> 0, at);
}

/** One mutation of `data`, chosen by `random`; returns the bytes and a description */
export function mutate(data: Buffer, file: string, random: () => number): { bytes: Buffer; mutation: string } {
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)];
  const at = () => Math.floor(random() * data.length);
  const out = Buffer.from(data);
  const formatAware = hugeDims(data, file, random);
  const kinds = ['truncate', 'flip-bytes', 'flip-bits', 'lying-length', 'splice', ...(formatAware ? ['huge-dims', 'huge-dims'] : [])];
  const kind = pick(kinds);
  switch (kind) {
    case 'truncate': {
      const length = random() < 0.3 ? Math.floor(random() * Math.min(64, data.length)) : at();
      return { bytes: out.subarray(0, length), mutation: `truncate to ${length}` };
    }
    case 'flip-bytes': {
      const n = 1 + Math.floor(random() * 8);
      const where: number[] = [];
      for (let i = 0; i < n; i++) {
        const p = random() < 0.5 ? Math.floor(random() * Math.min(512, data.length)) : at();
        out[p] = Math.floor(random() * 256);
        where.push(p);
      }
      return { bytes: out, mutation: `bytes at ${where.join(',')}` };
    }
    case 'flip-bits': {
      const p = random() < 0.5 ? Math.floor(random() * Math.min(512, data.length)) : at();
      const bit = Math.floor(random() * 8);
      out[p] ^= 1 << bit;
      return { bytes: out, mutation: `bit ${bit} at ${p}` };
    }
    case 'lying-length': {
      // headers and length fields sit near either end of these formats (zip directories at the end)
      const p = random() < 0.5 ? Math.floor(random() * Math.min(256, data.length)) : Math.max(0, data.length - 1 - Math.floor(random() * Math.min(256, data.length)));
      const value = pick(HUGE_32);
      writeU32(out, p, value);
      if (random() < 0.3) writeU32(out, p + 4, random() < 0.5 ? 0 : 0xffffffff);
      return { bytes: out, mutation: `u32 0x${value.toString(16)} at ${p}` };
    }
    case 'splice': {
      const from = at();
      const length = Math.floor(random() * Math.min(4096, data.length - from));
      const to = at();
      return { bytes: Buffer.concat([out.subarray(0, to), data.subarray(from, from + length), out.subarray(to)]), mutation: `splice ${length} bytes from ${from} to ${to}` };
    }
    default:
      return formatAware!();
  }
}

/** Format-aware huge dimensions, where the format is easy to rewrite consistently */
function hugeDims(data: Buffer, file: string, random: () => number): (() => { bytes: Buffer; mutation: string }) | undefined {
  const ext = extname(file);
  const huge = () => [2 ** 31, 2 ** 31 - 1, 2 ** 40, 0, 1e15][Math.floor(random() * 5)];
  if (ext === '.safetensors') {
    return () => {
      const length = Number(data.readBigUInt64LE(0));
      const header = JSON.parse(data.toString('utf8', 8, 8 + length)) as Record<string, { shape?: number[]; data_offsets?: number[] }>;
      const names = Object.keys(header).filter((k) => k !== '__metadata__');
      const name = names[Math.floor(random() * names.length)];
      const t = header[name];
      const value = huge();
      if (random() < 0.5 && t.shape?.length) t.shape[Math.floor(random() * t.shape.length)] = value;
      else if (t.data_offsets) t.data_offsets[1] = value;
      const json = Buffer.from(JSON.stringify(header));
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(json.length));
      return { bytes: Buffer.concat([len, json, data.subarray(8 + length)]), mutation: `safetensors ${name} -> ${value}` };
    };
  }
  if (ext === '.pth') {
    // BININT1 / BININT2 arguments (sizes, strides, offsets, numel are small ints in these pickles)
    const spots: number[] = [];
    for (let i = 0; i + 1 < data.length && spots.length < 4096; i++) if (data[i] === 0x4b || data[i] === 0x4d) spots.push(i);
    if (spots.length === 0) return undefined;
    return () => {
      const out = Buffer.from(data);
      const p = spots[Math.floor(random() * spots.length)];
      out[p + 1] = 0xff;
      if (out[p] === 0x4d && p + 2 < out.length) out[p + 2] = random() < 0.5 ? 0xff : 0x7f;
      if (random() < 0.3) out[p + 1] = 0; // a zero stride or size
      return { bytes: out, mutation: `pickle int at ${p} -> ${out[p] === 0x4b ? out[p + 1] : out.readUInt16LE(p + 1)}` };
    };
  }
  return undefined;
}

/** ONNX huge dims: decode, set one initializer dimension to a huge value, encode (async: protobufjs loads lazily) */
async function onnxHugeDims(data: Buffer, random: () => number): Promise<{ bytes: Buffer; mutation: string } | undefined> {
  const { onnxRoot } = await import('../lib/weights/onnx.js');
  const type = onnxRoot().lookupType('onnx.ModelProto');
  let model;
  try {
    model = type.decode(data) as unknown as { graph?: { initializer?: { name: string; dims: number[] }[] } };
  } catch {
    return undefined;
  }
  const inits = model.graph?.initializer ?? [];
  if (inits.length === 0) return undefined;
  const t = inits[Math.floor(random() * inits.length)];
  if (!t.dims?.length) return undefined;
  const d = Math.floor(random() * t.dims.length);
  const value = [2 ** 31, 2 ** 40, 0, 2 ** 53 - 1][Math.floor(random() * 4)];
  t.dims[d] = value;
  return { bytes: Buffer.from(type.encode(model as never).finish()), mutation: `onnx ${t.name} dim ${d} -> ${value}` };
}

export function planCases(seed: number, count: number, only?: string): FuzzCase[] {
  const fixtures = fixtureList(only);
  const cases: FuzzCase[] = [];
  for (let i = 0; i < count; i++) {
    const f = fixtures[i % fixtures.length];
    cases.push({ index: i, fixture: f.path, kind: f.kind, mutation: '' });
  }
  void seed;
  return cases;
}

// ---------------------------------------------------------------------------------------------
// The child: runs cases [from, to) and prints one JSON line before ("start") and after each.

const ALLOWED_CODES = new Set(['ERR_WEIGHTS', 'ERR_IMAGE', 'ERR_INPUT', 'ERR_SHAPE', 'ERR_NONFINITE', 'ERR_IO']);

async function runChild(seed: number, count: number, from: number, only: string | undefined, single = false): Promise<void> {
  const { readWeights, detectArchitecture } = await import('../lib/weights/index.js');
  const { tensorValues } = await import('../lib/weights/safetensors.js');
  const { readInt8Model } = await import('../lib/quantize/file.js');
  const { decodeImage } = await import('../lib/image/decode.js');
  const { loadImageTensor } = await import('../lib/image/preprocess.js');
  const { PREPROCESS } = await import('../lib/model/archs.js');
  const cases = planCases(seed, count, only);
  const work = mkdtempSync(join(tmpdir(), 'alexnet-fuzz-'));
  const say = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
  const generated = await generatedSafetensors(work);
  try {
    for (const c of cases.slice(from)) {
      // every case has its own generator, so a case's bytes do not depend on where a child started
      const random = seededRandom((seed * 1000003 + c.index) >>> 0);
      const data = readFileSync(c.fixture === GENERATED_SAFETENSORS ? generated.fp32 : c.fixture === GENERATED_INT8 ? generated.int8 : c.fixture);
      let mutated = extname(c.fixture) === '.onnx' && random() < 0.25 ? await onnxHugeDims(data, random) : undefined;
      mutated ??= mutate(data, c.fixture, random);
      const dir = join(work, `case-${c.index}`);
      mkdirSync(dir);
      const path = join(dir, basename(c.fixture));
      writeFileSync(path, mutated.bytes);
      for (const side of SIDE_FILES) {
        try { copyFileSync(`${c.fixture}${side}`, `${path}${side}`); } catch { /* none */ }
      }
      say({ start: c.index, mutation: mutated.mutation });
      let outcome: CaseResult['outcome'] = 'ok';
      let message: string | undefined;
      try {
        if (c.kind === 'weights') {
          const set = await readWeights(path);
          try {
            detectArchitecture(set);
          } catch (e) {
            if ((e as { code?: string }).code !== 'ERR_WEIGHTS') throw e;
          }
          for (const t of set.tensors.values()) tensorValues(t);
          if (c.fixture === GENERATED_INT8) await readInt8Model(path);
        } else {
          await decodeImage(path);
          await loadImageTensor(path, PREPROCESS.torchvision);
        }
      } catch (e) {
        const err = e as Error & { code?: string };
        message = err instanceof Error ? err.message : String(e);
        const oneLine = !/\n/.test(message);
        const named = message.includes(path) || message.includes(basename(path));
        outcome = err instanceof Error && ALLOWED_CODES.has(err.code ?? '') && oneLine && named ? 'error' : 'bad-error';
        if (outcome === 'bad-error') message = `${err?.constructor?.name ?? typeof e} ${err.code ?? '(no code)'}: ${message}`;
        if (single) process.stderr.write(`${err?.stack ?? message}\n`);
      }
      rmSync(dir, { recursive: true, force: true });
      say({ ...c, mutation: mutated.mutation, outcome, message, rssMb: Math.round(process.memoryUsage().rss / 2 ** 20) });
      if (single) break;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// The parent: starts children, watches them, and sums up.

export interface FuzzOptions {
  seed: number;
  cases: number;
  only?: string;
  rssMb: number;
  /** seconds without a report before a case counts as a hang; 0: no watchdog */
  watchdogS: number;
  onResult?: (r: CaseResult) => void;
}

export interface FuzzSummary {
  seed: number;
  cases: number;
  ok: number;
  errors: number;
  failures: CaseResult[];
  maxRssMb: number;
  rssBoundMb: number;
  byMutation: Record<string, number>;
}

export async function fuzz(options: FuzzOptions): Promise<FuzzSummary> {
  const results: CaseResult[] = [];
  const planned = planCases(options.seed, options.cases, options.only);
  let next = 0;
  while (next < planned.length) {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', '--seed', String(options.seed), '--cases', String(options.cases),
      '--from', String(next), ...(options.only ? ['--only', options.only] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    let current: { index: number; mutation: string } | undefined;
    let timer: NodeJS.Timeout | undefined;
    let hung = false;
    const arm = () => {
      if (!options.watchdogS) return;
      clearTimeout(timer);
      timer = setTimeout(() => { hung = true; child.kill('SIGKILL'); }, options.watchdogS * 1000);
    };
    arm();
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    for await (const line of createInterface({ input: child.stdout })) {
      arm();
      const report = JSON.parse(line) as { start?: number; mutation: string } & CaseResult;
      if (report.start !== undefined) {
        current = { index: report.start, mutation: report.mutation };
        continue;
      }
      if (report.rssMb !== undefined && report.rssMb > options.rssMb && report.outcome !== 'bad-error') {
        report.message = `RSS ${report.rssMb} MB after the case (bound ${options.rssMb} MB); ${report.message ?? 'it returned'}`;
        report.outcome = 'rss';
      }
      results.push(report);
      options.onResult?.(report);
      current = undefined;
      next = report.index + 1;
    }
    const { code, signal } = await exited;
    clearTimeout(timer);
    if (current) {
      const c = planned[current.index];
      const r: CaseResult = {
        ...c, mutation: current.mutation, outcome: hung ? 'hang' : 'signal',
        message: hung ? `no report for ${options.watchdogS} s` : `child exited with ${signal ?? `code ${code}`}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`,
      };
      results.push(r);
      options.onResult?.(r);
      next = current.index + 1;
    } else if (next < planned.length) {
      throw new Error(`the fuzz child stopped before case ${next} (${signal ?? `code ${code}`}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
    }
  }
  const byMutation: Record<string, number> = {};
  for (const r of results) {
    const kind = r.mutation.split(' ')[0];
    byMutation[kind] = (byMutation[kind] ?? 0) + 1;
  }
  return {
    seed: options.seed, cases: results.length,
    ok: results.filter((r) => r.outcome === 'ok').length,
    errors: results.filter((r) => r.outcome === 'error').length,
    failures: results.filter((r) => r.outcome !== 'ok' && r.outcome !== 'error'),
    maxRssMb: Math.max(0, ...results.map((r) => r.rssMb ?? 0)),
    rssBoundMb: options.rssMb,
    byMutation,
  };
}

function argValue(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const seed = Number(argValue(args, '--seed') ?? 1);
  const cases = Number(argValue(args, '--cases') ?? 400);
  const only = argValue(args, '--only');
  if (args.includes('--child')) {
    await runChild(seed, cases, Number(argValue(args, '--from') ?? 0), only, argValue(args, '--case') !== undefined);
  } else {
    const json = args.includes('--json');
    const summary = await fuzz({
      seed, cases, only, rssMb: Number(argValue(args, '--rss-mb') ?? 1024), watchdogS: Number(argValue(args, '--watchdog-s') ?? 120),
      onResult: json ? undefined : (r) => {
        if (r.outcome !== 'ok' && r.outcome !== 'error') process.stderr.write(`FAIL ${r.outcome} #${r.index} ${basename(r.fixture)} (${r.mutation}): ${r.message}\n`);
      },
    });
    if (json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else {
      process.stdout.write(`fuzz seed ${summary.seed}: ${summary.cases} cases, ${summary.ok} parsed, ${summary.errors} one-line errors, `
        + `${summary.failures.length} failures; peak RSS ${summary.maxRssMb} MB (bound ${summary.rssBoundMb} MB); mutations ${JSON.stringify(summary.byMutation)}\n`);
    }
    process.exitCode = summary.failures.length ? 1 : 0;
  }
}
