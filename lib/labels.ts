// Class labels: ImageNet-1k in the canonical sorted-WNID order (data/imagenet-classes.tsv), or a user's file.
import { AlexnetError } from './errors.js';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ClassLabel {
  index: number;
  wnid: string;
  label: string;
}

const here = dirname(fileURLToPath(import.meta.url));
/** dist/lib/labels.js -> <root>/data/imagenet-classes.tsv */
export const IMAGENET_LABELS = join(here, '..', '..', 'data', 'imagenet-classes.tsv');

function labelsError(path: string, message: string): AlexnetError {
  return new AlexnetError(`${path}: ${message}`, 'ERR_LABELS');
}

/**
 * Reads a labels file: our TSV (index, wnid, name, synset words, with a header), or a plain text
 * file with one label per line (optionally "wnid label", as Caffe's synset_words.txt).
 */
export function readLabels(path: string = IMAGENET_LABELS): ClassLabel[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw labelsError(path, `cannot read labels: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) throw labelsError(path, 'expected one label per line but the file is empty');
  if (lines[0].startsWith('index\t')) {
    return lines.slice(1).map((line, i) => {
      const [index, wnid, name] = line.split('\t');
      if (Number(index) !== i || !name) throw labelsError(path, `expected "index<TAB>wnid<TAB>name" with index ${i} on line ${i + 2} but found "${line}"`);
      return { index: i, wnid, label: name };
    });
  }
  return lines.map((line, i) => {
    const m = /^(n\d{8})\s+(.*)$/.exec(line.trim());
    return m ? { index: i, wnid: m[1], label: m[2] } : { index: i, wnid: '', label: line.trim() };
  });
}

/** The labels of a `numClasses` head without a labels file: ImageNet's for 1000 classes, else "class i" */
export function defaultLabels(numClasses: number): ClassLabel[] {
  return numClasses === 1000 ? readLabels() : Array.from({ length: numClasses }, (_, i) => ({ index: i, wnid: '', label: `class ${i}` }));
}
