// The addon's image functions (lib/native.ts Binding: decodeJpeg, resizeCropRgb, decodePreprocessJpeg),
// present when it was built with libjpeg(-turbo); null otherwise, and the JavaScript twins run.
import { native, type Binding } from '../native.js';

export type ImageBinding = Binding & Required<Pick<Binding, 'decodeJpeg' | 'resizeCropRgb' | 'decodePreprocessJpeg'>>;

let cached: ImageBinding | null | undefined;

export function imageBinding(): ImageBinding | null {
  if (cached === undefined) {
    cached = null;
    try {
      const binding = native();
      if (binding.decodeJpeg && binding.resizeCropRgb && binding.decodePreprocessJpeg) cached = binding as ImageBinding;
    } catch {
      // no addon built: JavaScript
    }
  }
  return cached;
}
