// lib/weights/caffe.ts on NetParameters encoded here (caffe.proto's field numbers): V1 layers (num,
// channels, height, width; fc as 1x1xOUTxIN) before new ones (BlobShape), an InnerProduct stored
// transposed, float64 blobs, layers without weights skipped; the numbering conv1.. then fc.., and each
// refusal word for word. Every expected value is written out by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { PREPROCESS } from '../lib/model/archs.js';
import { readCaffe } from '../lib/weights/caffe.js';
import { CAFFE_PROTO } from '../lib/weights/proto/caffe-schema.js';
import { assertUndecodableAndMissing } from './weights-fixtures.js';

const scratch = mkdtempSync(join(tmpdir(), 'weights-caffe-cases-'));
const NetParameter = protobuf.parse(CAFFE_PROTO, { keepCase: true }).root.lookupType('caffe.NetParameter');
const f32 = (v: number[]) => Buffer.from(Float32Array.from(v).buffer);
const f64 = (v: number[]) => Buffer.from(Float64Array.from(v).buffer);

let n = 0;
function write(net: object): string {
  const path = join(scratch, `n${n++}.caffemodel`);
  writeFileSync(path, NetParameter.encode(NetParameter.fromObject(net)).finish());
  return path;
}

test('V1 and new layers, a transposed and a float64 InnerProduct, layers without weights skipped', async () => {
  const path = write({
    name: 'hand-net',
    layers: [
      // V1: CONVOLUTION = 4, INNER_PRODUCT = 14, RELU = 18
      { name: 'v1conv', type: 4, blobs: [{ num: 2, channels: 1, height: 1, width: 2, data: f32([1, 2, 3, 4]) }, { num: 1, channels: 1, height: 1, width: 2, data: f32([0.5, -0.5]) }] },
      { name: 'v1relu', type: 18 },
      { name: 'v1fc', type: 14, blobs: [{ num: 1, channels: 1, height: 2, width: 3, data: f32([1, 2, 3, 4, 5, 6]) }] },
    ],
    layer: [
      { name: 'conv', type: 'Convolution', blobs: [{ shape: { dim: [1, 2, 1, 1] }, double_data: f64([0.25, 1e-3]) }] },
      { name: 'pool', type: 'Pooling' },
      { name: 'fc-t', type: 'InnerProduct', inner_product_param: { transpose: true }, blobs: [{ shape: { dim: [2, 3] }, data: f32([1, 2, 3, 4, 5, 6]) }, { shape: { dim: [3] }, data: f32([7, 8, 9]) }] },
    ],
  });
  const set = await readCaffe(path);
  assert.equal(set.format, 'caffe');
  assert.deepEqual(set.metadata, { name: 'hand-net' });
  assert.deepEqual(set.preprocess, PREPROCESS.caffe);
  const got = Object.fromEntries([...set.tensors].map(([k, t]) => [k, [t.shape, Array.from(t.data!)]]));
  assert.deepEqual(got, {
    'conv1.weight': [[2, 1, 1, 2], [1, 2, 3, 4]],
    'conv1.bias': [[2], [0.5, -0.5]],
    'conv2.weight': [[1, 2, 1, 1], [0.25, Math.fround(1e-3)]],
    // V1 fc: the last two of (1, 1, 2, 3)
    'fc3.weight': [[2, 3], [1, 2, 3, 4, 5, 6]],
    // stored [in 2, out 3]: row j of ours is column j of it
    'fc4.weight': [[3, 2], [1, 4, 2, 5, 3, 6]],
    'fc4.bias': [[3], [7, 8, 9]],
  });
  const unnamed = await readCaffe(write({ layer: [{ name: 'c', type: 'Convolution', blobs: [{ shape: { dim: [1, 1, 1, 1] }, data: f32([1]) }] }] }));
  assert.deepEqual(unnamed.metadata, {});
});

test('refusals, word for word', async () => {
  const blob = (dim: number[], values: number[]) => ({ shape: { dim }, data: f32(values) });
  const cases: [object, string][] = [
    [{ name: 'empty', layer: [{ name: 'relu', type: 'ReLU' }] }, 'expected a Caffe model with trained blobs but found no layer with weights'],
    [{ layer: [{ name: 'c', type: 'Convolution', blobs: [blob([1, 1, 1, 1], [1])] }, { name: 'bn1', type: 'BatchNorm', blobs: [blob([1], [0])] }, { name: 'scale1', type: 'Scale', blobs: [blob([1], [1])] }] },
      'expected weights only in Convolution and InnerProduct layers but found them in bn1, scale1'],
    [{ layers: [{ name: 'v1bn', type: 3, blobs: [blob([1], [0])] }] }, 'expected weights only in Convolution and InnerProduct layers but found them in v1bn'],
    [{ layer: [{ name: 'c', type: 'Convolution', blobs: [blob([2, 1, 1], [1, 2])] }] }, 'expected a 4-D weight blob for convolution c but found [2,1,1]'],
    [{ layer: [{ name: 'f', type: 'InnerProduct', blobs: [blob([2, 3, 4], new Array(24).fill(0))] }] }, 'expected a 2-D weight blob for InnerProduct f but found [2,3,4]'],
    [{ layer: [{ name: 'f', type: 'InnerProduct', blobs: [blob([2, 3], [1, 2, 3, 4, 5])] }] }, 'expected 6 values in a blob of layer f but found 5'],
    [{ layer: [{ name: 'f', type: 'InnerProduct', blobs: [blob([2, 3], [1, 2, 3, 4, 5, 6]), blob([2], [1])] }] }, 'expected 2 values in a blob of layer f but found 1'],
    [{ layer: [{ name: 'c', type: 'Convolution', blobs: [{ shape: { dim: [1, 1, 1, 2] } }] }] }, 'expected 2 values in a blob of layer c but found 0'],
    [{ layer: [{ name: 'c', type: 'Convolution', blobs: [blob([2, 1, 1, 1], [1, 2]), blob([2], [1, 2, 3])] }] }, 'expected 2 values in a blob of layer c but found 3'],
  ];
  for (const [net, message] of cases) {
    const path = write(net);
    await assert.rejects(readCaffe(path), { code: 'ERR_WEIGHTS', message: `${path}: ${message}` }, message);
  }
  await assertUndecodableAndMissing(readCaffe, scratch, '.caffemodel', 'a Caffe NetParameter');
});
