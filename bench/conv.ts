// Convolution throughput, layer by layer: each AlexNet conv of an architecture run alone through the
// native conv2d with plain OIHW weights (panels packed per call), packed weights on the im2col GEMM path
// (ALEXNET_CLI_WINOGRAD=0), and packed weights with Winograd where it applies; plus the raw GEMM
// (a 1x1 conv on square sizes) against the FMA-loop peak. Configurations are interleaved round by round,
// so only ratios from the same run mean anything on a shared machine.
// Run: npx tsc -p . && node dist/bench/conv.js [--arch seed,caffe,torchvision] [--batch 1,32] [--rounds 5]
//        [--previous path/to/old/alexnet_native.node]  (adds that build's packed / Winograd runs, interleaved)
//        [--only gemm,conv1,...]  (rows whose name contains one of these)
import { native, type NativeTensor } from '../lib/native.js';
import { filled, loadBuild, option } from './common.js';
import { buildArchitecture } from '../lib/model/archs.js';
import { inferShapes } from '../lib/model/shapes.js';

const b = native();
const archs = option('arch', 'seed,caffe,torchvision').split(',');
const batches = option('batch', '1,32').split(',').map(Number);
const rounds = Number(option('rounds', '5'));
const previousPath = option('previous', '');
const previous = loadBuild(previousPath);
const only = option('only', '').split(',').filter((x) => x);

interface Variant { label: string; env: string; run: () => Promise<number> }
interface Row { name: string; flops: number; variants: Variant[]; times: Map<string, number[]>; dispose: () => void }

function convRow(name: string, dims: Int32Array): Row {
  const [batch, inC, inH, inW, outC, kH, kW, , , , , , , groups, outH, outW] = Array.from(dims);
  const weightLength = outC * (inC / groups) * kH * kW;
  const input = filled(b, batch * inC * inH * inW, 1), plain = filled(b, weightLength, 2), bias = filled(b, outC, 3);
  const packed = b.packConv!(dims, filled(b, weightLength, 2));
  const output = b.alloc('cpu', batch * outC * outH * outW);
  const variants: Variant[] = [
    { label: 'plain', env: '0', run: () => b.conv2d(dims, input, plain, bias, output, true) },
    { label: 'packed', env: '0', run: () => b.conv2d(dims, input, packed, bias, output, true) },
  ];
  // Winograd: 3x3 or 5x5 stride 1, or a strided conv whose space-to-depth rewrite (kernel ceil(k / stride),
  // stride 1) is (conv1: 11x11/4 -> 3x3)
  const [rH, rW] = [Math.ceil(kH / dims[7]), Math.ceil(kW / dims[8])];
  const wino = rH === rW && (rH === 3 || rH === 5);
  if (wino) {
    variants.push({ label: 'winograd', env: '1', run: () => b.conv2d(dims, input, packed, bias, output, true) });
  }
  const extra: NativeTensor[] = [];
  if (previous) {
    const pb = previous;
    const pInput = filled(pb, batch * inC * inH * inW, 1), pBias = filled(pb, outC, 3);
    const pPacked = pb.packConv!(dims, filled(pb, weightLength, 2));
    const pOutput = pb.alloc('cpu', batch * outC * outH * outW);
    extra.push(pInput, pBias, pPacked, pOutput);
    variants.push({ label: 'prev packed', env: '0', run: () => pb.conv2d(dims, pInput, pPacked, pBias, pOutput, true) });
    if (wino) variants.push({ label: 'prev wino', env: '1', run: () => pb.conv2d(dims, pInput, pPacked, pBias, pOutput, true) });
  }
  return {
    name, flops: 2 * batch * outC * outH * outW * (inC / groups) * kH * kW, variants, times: new Map(),
    dispose: () => [input, plain, bias, packed, output, ...extra].forEach((t) => t.dispose()),
  };
}

const rows: Row[] = [];
for (const size of [512, 1024]) {
  // a 1x1 conv is a plain GEMM: [size x size] weights x [size x size] input (size channels of 32 x size/32)
  rows.push(convRow(`gemm ${size}x${size}x${size} (1x1 conv)`,
    Int32Array.of(1, size, 32, size / 32, size, 1, 1, 1, 1, 0, 0, 0, 0, 1, 32, size / 32)));
}
for (const archName of archs) {
  const arch = buildArchitecture(archName as never);
  for (const batch of batches) {
    for (const layer of inferShapes(arch)) {
      const spec = layer.spec;
      if (spec.type !== 'conv2d') continue;
      const [c, h, w] = layer.inShape;
      const p = layer.pads!;
      rows.push(convRow(`${archName} ${spec.name} b${batch} ${c}x${h}x${w}->${spec.outChannels} ${spec.kernel[0]}x${spec.kernel[1]}/${spec.stride[0]}${spec.groups > 1 ? ` g${spec.groups}` : ''}`,
        Int32Array.of(batch, c, h, w, spec.outChannels, spec.kernel[0], spec.kernel[1], spec.stride[0], spec.stride[1],
          p[0], p[1], p[2], p[3], spec.groups, layer.outShape[1], layer.outShape[2])));
    }
  }
}

if (only.length) rows.splice(0, rows.length, ...rows.filter((r) => only.some((o) => r.name.includes(o))));
const peak = b.peakGflops?.() ?? NaN;
for (let round = 0; round <= rounds; round++) {
  for (const row of rows) {
    for (const v of row.variants) {
      process.env.ALEXNET_CLI_WINOGRAD = v.env;
      const ns = await v.run();
      if (round === 0) continue; // warm-up: workspaces, page faults
      if (!row.times.has(v.label)) row.times.set(v.label, []);
      row.times.get(v.label)!.push(ns);
    }
  }
}
delete process.env.ALEXNET_CLI_WINOGRAD;

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
console.log(`threads ${b.getThreads()}, ISA ${b.cpuFeatures().isa}, FMA-loop peak ${peak.toFixed(1)} GFLOP/s, ${rounds} rounds (median)`);
const labels = ['plain', 'packed', 'winograd', ...(previous ? ['prev packed', 'prev wino'] : [])];
if (previous) console.log(`previous build: ${previousPath}`);
console.log(`${'convolution'.padEnd(44)} ${labels.map((l) => `${(l + ' ms').padStart(9)} ${'GFLOP/s'.padStart(8)}`).join(' ')}`);
for (const row of rows) {
  const cells = labels.map((label) => {
    const t = row.times.get(label);
    if (!t) return `${'-'.padStart(9)} ${'-'.padStart(8)}`;
    const ns = median(t);
    return `${(ns / 1e6).toFixed(2).padStart(9)} ${(row.flops / ns).toFixed(1).padStart(8)}`;
  });
  console.log(`${row.name.padEnd(44)} ${cells.join(' ')}`);
}
console.log('* Winograd GFLOP/s counts the direct convolution\'s flops (effective rate)');
for (const row of rows) row.dispose();
