// SVG to PNG with resvg (a Rust renderer shipped as prebuilt npm binaries: no browser, no system
// libraries). The text is set in DejaVu Sans from the dejavu-fonts-ttf package, never the system's
// fonts: slim containers have none (the PNG had boxes and no text at all), and the same fonts on
// every machine give the same picture. The layout's text widths assume DejaVu (svg.ts).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { ResvgRenderOptions } from '@resvg/resvg-js';

export interface PngOptions {
  /** pixels per SVG unit (2 for sharp pictures on high-density screens) */
  scale?: number;
}

/** The TrueType files the plot's text uses: regular, bold, oblique (the groups= label) and mono */
export function plotFontFiles(): string[] {
  const dir = join(dirname(createRequire(import.meta.url).resolve('dejavu-fonts-ttf/package.json')), 'ttf');
  return ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf', 'DejaVuSans-Oblique.ttf', 'DejaVuSansMono.ttf'].map((f) => join(dir, f));
}

export async function svgToPng(svg: string, options: PngOptions = {}): Promise<Buffer> {
  const { Resvg } = await import('@resvg/resvg-js');
  const renderOptions: ResvgRenderOptions = {
    fitTo: { mode: 'zoom', value: options.scale ?? 2 },
    background: '#ffffff',
    font: {
      loadSystemFonts: false,
      fontFiles: plotFontFiles(),
      defaultFontFamily: 'DejaVu Sans',
      sansSerifFamily: 'DejaVu Sans',
      monospaceFamily: 'DejaVu Sans Mono',
    },
    logLevel: 'off',
  };
  return new Resvg(svg, renderOptions).render().asPng();
}
