// SVG to PNG with resvg (a Rust renderer shipped as prebuilt npm binaries: no browser, no system
// libraries). Text uses the system's fonts; DejaVu is what the layout's widths assume.
import type { ResvgRenderOptions } from '@resvg/resvg-js';

export interface PngOptions {
  /** pixels per SVG unit (2 for sharp pictures on high-density screens) */
  scale?: number;
}

export async function svgToPng(svg: string, options: PngOptions = {}): Promise<Buffer> {
  const { Resvg } = await import('@resvg/resvg-js');
  const renderOptions: ResvgRenderOptions = {
    fitTo: { mode: 'zoom', value: options.scale ?? 2 },
    background: '#ffffff',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans', monospaceFamily: 'DejaVu Sans Mono' },
    logLevel: 'off',
  };
  return new Resvg(svg, renderOptions).render().asPng();
}
