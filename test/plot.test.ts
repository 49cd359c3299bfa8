import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { PNG } from 'pngjs';
import { ARCH_NAMES, buildArchitecture } from '../lib/model/archs.js';
import type { Architecture } from '../lib/model/layers.js';
import { inferShapes } from '../lib/model/shapes.js';
import { layerTypeName } from '../lib/format.js';
import { plotCommand, renderSvg, svgToPng } from '../lib/commands/plot.js';

type XmlNode = Record<string, unknown>;

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', preserveOrder: true, trimValues: false });

/** preserveOrder nodes: { tag: children[], ':@': attributes } or { '#text': value } */
function tagOf(node: XmlNode): string {
  return Object.keys(node).find((k) => k !== ':@')!;
}
const attrs = (node: XmlNode): Record<string, string> => (node[':@'] ?? {}) as Record<string, string>;
const children = (node: XmlNode): XmlNode[] => (Array.isArray(node[tagOf(node)]) ? node[tagOf(node)] as XmlNode[] : []);

function findAll(nodes: XmlNode[], match: (n: XmlNode) => boolean, found: XmlNode[] = []): XmlNode[] {
  for (const n of nodes) {
    if (tagOf(n) === '#text') continue;
    if (match(n)) found.push(n);
    findAll(children(n), match, found);
  }
  return found;
}

function textOf(node: XmlNode): string {
  if (tagOf(node) === '#text') return String(node['#text']);
  return children(node).map(textOf).join(tagOf(node) === 'text' ? '' : '\n');
}

function parseSvg(svg: string): { root: XmlNode; layers: XmlNode[] } {
  assert.equal(XMLValidator.validate(svg), true);
  const doc = parser.parse(svg) as XmlNode[];
  const root = doc.find((n) => tagOf(n) === 'svg')!;
  assert.ok(root, 'no <svg> root');
  assert.equal(attrs(root)['@xmlns'], 'http://www.w3.org/2000/svg');
  const layers = findAll(children(root), (n) => tagOf(n) === 'g' && attrs(n)['@class'] === 'layer');
  return { root, layers };
}

const shapeText = (shape: number[]): string => `(None, ${shape.join(', ')})`;

for (const name of ARCH_NAMES) {
  test(`plot --show-shapes ${name}: one box per layer with its name, type and shapes`, () => {
    const arch = buildArchitecture(name);
    const { root, layers } = parseSvg(renderSvg(arch, { showShapes: true }));
    const shapes = inferShapes(arch);
    assert.deepEqual(layers.map((g) => attrs(g)['@data-name']), arch.layers.map((l) => l.name));
    layers.forEach((g, i) => {
      const { spec, inShape, outShape } = shapes[i];
      const a = attrs(g);
      assert.equal(a['@data-type'], layerTypeName(spec));
      assert.equal(a['@data-input-shape'], inShape.join(','));
      assert.equal(a['@data-output-shape'], outShape.join(','));
      const groups = spec.type === 'conv2d' ? spec.groups : 1;
      const rects = findAll(children(g), (n) => tagOf(n) === 'rect');
      assert.equal(rects.length, groups, `${spec.name}: ${groups} box(es)`);
      const texts = findAll(children(g), (n) => tagOf(n) === 'text').map(textOf);
      assert.ok(texts.includes(layerTypeName(spec)), `${spec.name}: type shown`);
      if (groups === 1) {
        assert.ok(texts.includes(spec.name), `${spec.name}: name shown`);
        assert.ok(texts.includes(`input:  ${shapeText(inShape)}`), `${spec.name}: input shape shown in ${texts.join(' | ')}`);
        assert.ok(texts.includes(`output: ${shapeText(outShape)}`), `${spec.name}: output shape shown`);
      } else {
        // towers: each shows its slice of the channels; the full shapes are in the tooltip
        const [c, h, w] = inShape;
        const [oc, oh, ow] = outShape;
        for (let k = 1; k <= groups; k++) assert.ok(texts.includes(`${spec.name} · group ${k}/${groups}`));
        assert.equal(texts.filter((t) => t === `input:  ${shapeText([c / groups, h, w])}`).length, groups);
        assert.equal(texts.filter((t) => t === `output: ${shapeText([oc / groups, oh, ow])}`).length, groups);
        const title = findAll(children(g), (n) => tagOf(n) === 'title').map(textOf)[0];
        assert.equal(title, `${spec.name}: ${layerTypeName(spec)} ${shapeText(inShape)} → ${shapeText(outShape)}`);
      }
    });
    // every box lies inside the picture
    const width = Number(attrs(root)['@width']);
    const height = Number(attrs(root)['@height']);
    for (const r of findAll(children(root), (n) => tagOf(n) === 'rect')) {
      const { '@x': x, '@y': y, '@width': rw, '@height': rh } = attrs(r);
      assert.ok(Number(x) >= 0 && Number(y) >= 0 && Number(x) + Number(rw) <= width && Number(y) + Number(rh) <= height, `rect at ${x},${y} leaves the ${width}x${height} picture`);
    }
  });
}

test('caffe: grouped convolutions sit on groups=2 bands (conv2; conv4 and conv5 together)', () => {
  const { root } = parseSvg(renderSvg(buildArchitecture('caffe')));
  const bands = findAll(children(root), (n) => tagOf(n) === 'g' && attrs(n)['@class'] === 'band');
  assert.equal(bands.length, 2);
  for (const b of bands) {
    assert.equal(attrs(b)['@data-groups'], '2');
    assert.ok(findAll(children(b), (n) => tagOf(n) === 'text').map(textOf).includes('groups=2'));
  }
  const seed = parseSvg(renderSvg(buildArchitecture('seed'))).root;
  assert.equal(findAll(children(seed), (n) => attrs(n)['@class'] === 'band').length, 0);
});

test('without --show-shapes the boxes carry no shapes', () => {
  const svg = renderSvg(buildArchitecture('torchvision'));
  const { layers } = parseSvg(svg);
  assert.equal(layers.length, 15);
  assert.doesNotMatch(svg, />input: {2}\(/);
  assert.doesNotMatch(svg, />output: \(/);
});

test('layer names are escaped (the parser decodes them back)', () => {
  const base = buildArchitecture('seed');
  const arch: Architecture = { ...base, name: 'a<b>', layers: base.layers.map((l, i) => (i === 0 ? { ...l, name: 'conv<1>&"x\'' } : l)) };
  const { layers } = parseSvg(renderSvg(arch, { showShapes: true }));
  assert.equal(attrs(layers[0])['@data-name'], 'conv<1>&"x\'');
  assert.ok(findAll(children(layers[0]), (n) => tagOf(n) === 'text').map(textOf).includes('conv<1>&"x\''));
});

function pngSize(png: Buffer): { width: number; height: number } {
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  assert.equal(png.toString('latin1', 12, 16), 'IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

test('PNG: signature, the SVG size times the scale, and boxes drawn', async () => {
  const svg = renderSvg(buildArchitecture('caffe'), { showShapes: true });
  const { root } = parseSvg(svg);
  const width = Number(attrs(root)['@width']);
  const height = Number(attrs(root)['@height']);
  const png = await svgToPng(svg, { scale: 2 });
  const size = pngSize(png);
  assert.equal(size.width, 2 * width);
  assert.equal(size.height, 2 * height);
  assert.ok(size.width > 600 && size.height > 2000 && size.height > 2 * size.width);
  const image = PNG.sync.read(png);
  let blue = 0;
  for (let i = 0; i < image.data.length; i += 4) {
    if (image.data[i] === 0xe3 && image.data[i + 1] === 0xf2 && image.data[i + 2] === 0xfd) blue++; // conv box fill #e3f2fd
  }
  assert.ok(blue > 50_000, `only ${blue} pixels of conv box fill`);
});

test('plot command: -o FILE.svg / FILE.png, --weights from a file, and usage errors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'alexnet-plot-'));
  const run = async (args: Record<string, unknown>): Promise<void> => {
    await plotCommand.handler({ 'show-shapes': false, scale: 2, _: [], $0: '', ...args } as never);
  };
  try {
    await run({ arch: 'caffe', 'show-shapes': true, output: join(dir, 'caffe.svg') });
    assert.equal(parseSvg(readFileSync(join(dir, 'caffe.svg'), 'utf8')).layers.length, 17);
    await run({ arch: 'seed', output: join(dir, 'seed.PNG'), scale: 1 });
    assert.ok(pngSize(readFileSync(join(dir, 'seed.PNG'))).width > 200);
    // an ONNX graph carries its architecture (a small grouped AlexNet)
    const onnx = fileURLToPath(new URL('../../test/fixtures/weights/bvlc_small.onnx', import.meta.url));
    if (existsSync(onnx)) {
      await run({ weights: onnx, 'show-shapes': true, output: join(dir, 'onnx.svg') });
      const { layers } = parseSvg(readFileSync(join(dir, 'onnx.svg'), 'utf8'));
      assert.equal(attrs(layers[0])['@data-input-shape'], '3,99,99');
      assert.equal(attrs(layers.find((g) => attrs(g)['@data-name'] === 'conv2')!)['@data-groups'], '2');
    }
    await assert.rejects(run({ output: join(dir, 'x.jpg') }), { code: 'ERR_USAGE', message: `Expected a .svg or .png file for --output but received ${join(dir, 'x.jpg')}` });
    await assert.rejects(run({ arch: 'vgg', output: join(dir, 'x.svg') }), { code: 'ERR_USAGE', message: 'Expected one of seed, caffe, torchvision for --arch but received vgg' });
    await assert.rejects(run({ output: join(dir, 'x.png'), scale: 0 }), { code: 'ERR_USAGE', message: 'Expected a number in (0, 8] for --scale but received 0' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('plot -o x.png draws its text with the shipped DejaVu, with the system fonts hidden', () => {
  const dir = mkdtempSync(join(tmpdir(), 'alexnet-plot-fonts-'));
  try {
    // resvg finds system fonts through fontconfig's configuration: an empty one hides them all
    const fontsConf = join(dir, 'fonts.conf');
    writeFileSync(fontsConf, '<?xml version="1.0"?>\n<fontconfig></fontconfig>\n');
    const out = join(dir, 'seed.png');
    const cli = fileURLToPath(new URL('../bin/alexnet-cli.js', import.meta.url));
    const r = spawnSync(process.execPath, [cli, 'plot', '--arch', 'seed', '-o', out], { encoding: 'utf8', env: { ...process.env, FONTCONFIG_FILE: fontsConf } });
    assert.equal(r.status, 0, r.stderr);
    const image = PNG.sync.read(readFileSync(out));
    // the title and the layer names are #212121; nothing else in the picture is that dark
    let text = 0;
    for (let i = 0; i < image.data.length; i += 4) {
      if (image.data[i] < 0x40 && image.data[i + 1] < 0x40 && image.data[i + 2] < 0x40) text++;
    }
    assert.ok(text > 2000, `only ${text} pixels of dark text`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
