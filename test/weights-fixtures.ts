// Shared by test/weights-*.test.ts: the fixtures written by test/fixtures/make_weight_fixtures.py, the
// small architectures they were made for, and comparisons against the script's recorded values.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildArchitecture } from '../lib/model/archs.js';
import type { ArchName, Architecture, LayerSpec } from '../lib/model/layers.js';
import { tensorValues } from '../lib/weights/safetensors.js';
import type { WeightSet } from '../lib/weights/types.js';

// dist/test/x.js -> <root>/test/fixtures/weights/
export const FIXTURES = fileURLToPath(new URL('../../test/fixtures/weights/', import.meta.url));
export const fixture = (name: string): string => `${FIXTURES}${name}`;

interface Recorded {
  shape: number[];
  sum: number;
  head: number[];
}

export interface Manifest {
  inputShape: number[];
  files: Record<string, { format: string; arch: string; output?: string; tensors: Record<string, Recorded> }>;
  outputs: Record<string, string>;
}

export const manifest: Manifest = JSON.parse(readFileSync(fixture('manifest.json'), 'utf8'));

/** Every tensor the script recorded for `file` is in the set with the same shape, sum and first values */
export function assertMatchesManifest(set: WeightSet, file: string): void {
  const expected = manifest.files[file];
  assert.equal(set.format, expected.format);
  assert.deepEqual([...set.tensors.keys()].sort(), Object.keys(expected.tensors).sort());
  for (const [name, rec] of Object.entries(expected.tensors)) {
    const t = set.tensors.get(name)!;
    assert.deepEqual(t.shape, rec.shape, `${file} ${name} shape`);
    const values = tensorValues(t);
    assert.equal(values.length, rec.shape.reduce((a, b) => a * b, 1), `${file} ${name} length`);
    assert.deepEqual(Array.from(values.subarray(0, rec.head.length)), rec.head.map(Math.fround), `${file} ${name} first values`);
    let sum = 0;
    for (const v of values) sum += v;
    assert.ok(Math.abs(sum - rec.sum) <= 1e-6 * Math.max(1, Math.abs(rec.sum)) * values.length, `${file} ${name} sum ${sum} vs ${rec.sum}`);
  }
}

/** One of the three architectures with the fixture script's smaller channel counts and 3x99x99 input */
function shrink(name: ArchName, channels: number[], pool?: LayerSpec): Architecture {
  const arch = buildArchitecture(name, 10);
  let conv = 0;
  const fc = [16, 16, 10];
  let linear = 0;
  const layers = arch.layers.map((l): LayerSpec => {
    if (l.type === 'conv2d') return { ...l, outChannels: channels[conv++] };
    if (l.type === 'linear') return { ...l, outFeatures: fc[linear++] };
    if (l.type === 'adaptiveAvgPool2d' && pool) return pool;
    return l;
  });
  return { ...arch, name: `${name}-small`, input: [3, 99, 99], layers };
}

export const SMALL_ARCHS: Record<string, Architecture> = {
  'torchvision-small': shrink('torchvision', [8, 12, 16, 12, 12], { type: 'adaptiveAvgPool2d', name: 'avgpool', output: [2, 2] }),
  'caffe-small': shrink('caffe', [8, 12, 16, 16, 12]),
  'seed-small': shrink('seed', [8, 12, 16, 16, 12]),
};

/** The recorded input batch [2, 3, 99, 99] and PyTorch's output for an architecture */
export function referenceIo(arch: string): { input: Float32Array; shape: number[]; output: Float32Array } {
  return { input: readF32Npy(fixture('input.npy')), shape: manifest.inputShape, output: readF32Npy(fixture(manifest.outputs[arch])) };
}

/** minimal float32 .npy read, independent of lib/weights/npy.ts */
function readF32Npy(path: string): Float32Array {
  const buf = readFileSync(path);
  const headerLength = buf.readUInt16LE(8);
  const data = buf.subarray(10 + headerLength);
  return new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
}

export { relativeL2 } from './reference-forward.js';

/**
 * A protobuf format's reader on bytes that do not decode (`message`: "a Caffe NetParameter") and on a
 * missing file, in `dir`: each refused with ERR_WEIGHTS and one line naming the file
 */
export async function assertUndecodableAndMissing(read: (path: string) => Promise<unknown>, dir: string, ext: string, message: string): Promise<void> {
  const garbage = join(dir, `garbage${ext}`);
  writeFileSync(garbage, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]));
  const escaped = garbage.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  await assert.rejects(read(garbage), { code: 'ERR_WEIGHTS', message: new RegExp(`^${escaped}: expected ${message} but it does not decode \\(.+; truncated\\?\\)$`) });
  const missing = join(dir, `missing${ext}`);
  await assert.rejects(read(missing), { code: 'ERR_WEIGHTS', message: `${missing}: cannot open: ENOENT: no such file or directory, open '${missing}'` });
}
