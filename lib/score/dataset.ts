// An evaluation dataset: which image files, with which true class, in a deterministic order.
//
// Layouts (what torchvision's reference evaluation and the ImageNet distributions use):
// - ImageFolder: one sub-folder per class, named by WordNet id (n01440764), by class index (0..C-1),
//   or by a class name from the labels file; images anywhere below it.
// - a flat folder plus a ground-truth file:
//   - Kaggle's LOC_val_solution.csv: `ImageId,PredictionString`, the first token of PredictionString
//     is the WNID, the image is <ImageId>.JPEG;
//   - BVLC's val.txt: `file index` per line, the 0-based index into the sorted WNIDs;
//   - a plain CSV `path,label` (optional header), label as for folder names.
//
// Paths are kept relative to the dataset root with '/' separators, sorted by their UTF-8 bytes (what
// `LC_ALL=C sort` gives, whatever the locale or the file system's listing order), so every machine
// lists the same images in the same order: what --shard and --resume rely on.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, realpathSync, statSync, type Dirent, type Stats } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { ClassLabel } from '../labels.js';
import { isImageName } from '../image/inputs.js';
import { AlexnetError } from '../errors.js';

export interface DatasetItem {
  /** relative to the dataset root, '/'-separated */
  path: string;
  /** true class index in the head */
  label: number;
}

export type DatasetLayout = 'image-folder' | 'kaggle-loc-csv' | 'bvlc-val-txt' | 'csv';

export interface Dataset {
  root: string;
  layout: DatasetLayout;
  /** the ground-truth file for flat layouts */
  groundTruth?: string;
  /** sorted by path */
  items: DatasetItem[];
  /** what does not match up, one line each, for the user (never fatal) */
  warnings: string[];
  /** files that are not images by their extension (listed, never scored) */
  ignored: string[];
}

// images by extension: the list classify's folder inputs use too
export { isImageName };

const datasetError = (message: string) => new AlexnetError(message, 'ERR_INPUT');

/** Up to `n` examples, then "and N more" */
export function listSome(values: string[], n = 5): string {
  const head = values.slice(0, n).join(', ');
  return values.length > n ? `${head} and ${values.length - n} more` : head;
}

/**
 * Class names -> head index: a WNID, then an exact class name, then a decimal index. A name that
 * two classes share (ImageNet has two "crane" and two "maillot") resolves only by WNID or index.
 */
export class ClassResolver {
  private readonly byWnid = new Map<string, number>();
  private readonly byName = new Map<string, number>();
  private readonly ambiguous = new Set<string>();
  readonly numClasses: number;

  constructor(labels: ClassLabel[]) {
    this.numClasses = labels.length;
    for (const l of labels) {
      if (l.wnid) this.byWnid.set(l.wnid, l.index);
      if (this.byName.has(l.label)) this.ambiguous.add(l.label);
      else this.byName.set(l.label, l.index);
    }
  }

  resolve(name: string): number | undefined {
    const wnid = this.byWnid.get(name);
    if (wnid !== undefined) return wnid;
    if (!this.ambiguous.has(name)) {
      const byName = this.byName.get(name);
      if (byName !== undefined) return byName;
    }
    if (/^\d+$/.test(name)) {
      const index = Number(name);
      if (index < this.numClasses) return index;
    }
    return undefined;
  }

  isAmbiguous(name: string): boolean {
    return this.ambiguous.has(name) && !this.byWnid.has(name);
  }
}

/** What an entry that is neither a regular file nor a folder is, for the report */
function entryKind(entry: Dirent | Stats): string {
  if (entry.isFIFO()) return 'a FIFO';
  if (entry.isCharacterDevice()) return 'a character device';
  if (entry.isBlockDevice()) return 'a block device';
  if (entry.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Every file below `dir`, relative and '/'-separated; hidden files and folders skipped (as ImageFolder's
 * os.walk does not, but .DS_Store is never data). Entries that are not regular files or folders (FIFOs,
 * devices, sockets, links to them: opening a FIFO blocks, a device reads forever) go to `unscored` with
 * what they are, as do folders named like images and links back to a folder already walked (a loop).
 */
function walkFiles(root: string, dir = root, out: string[] = [], unscored: string[] = [], visited = new Set<string>()): string[] {
  try {
    visited.add(realpathSync(dir));
  } catch { /* unreadable: readdirSync says why */ }
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const full = join(dir, entry.name);
    const rel = relative(root, full).split(sep).join('/');
    let isDir = entry.isDirectory();
    let isFile = entry.isFile();
    let kind: Dirent | Stats = entry;
    if (entry.isSymbolicLink()) {
      try {
        const s = statSync(full);
        isDir = s.isDirectory();
        isFile = s.isFile();
        kind = s;
      } catch {
        isFile = true; // a dangling link: listed, then reported unreadable
      }
    }
    if (isDir) {
      let real = full;
      try { real = realpathSync(full); } catch { /* listed below as unreadable */ }
      if (visited.has(real)) {
        unscored.push(`${rel} (a link back to a folder already listed)`);
        continue;
      }
      if (isImageName(entry.name)) unscored.push(`${rel} (a folder named like an image; what it holds is listed)`);
      walkFiles(root, full, out, unscored, visited);
    } else if (isFile) out.push(rel);
    else unscored.push(`${rel} (${entryKind(kind)})`);
  }
  return out;
}

function notScoredWarning(unscored: string[]): string {
  return `${unscored.length} entr${unscored.length > 1 ? 'ies are' : 'y is'} not a regular image file (not scored): ${listSome(unscored.sort(compareBytes))}`;
}

/**
 * Compares strings by their UTF-8 bytes, which is code point order. JavaScript's `<` compares UTF-16
 * code units, which differs where a surrogate pair (U+10000 and up) meets U+E000-U+FFFF: move the
 * surrogates above that range and the units compare as code points.
 */
export function compareBytes(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800) x += x >= 0xe000 ? -0x800 : 0x2000;
    if (y >= 0xd800) y += y >= 0xe000 ? -0x800 : 0x2000;
    return x - y;
  }
  return a.length - b.length;
}

const byPath = (a: DatasetItem, b: DatasetItem) => compareBytes(a.path, b.path);

function unknownClassesError(what: string, unknown: string[], resolver: ClassResolver, labelsSource: string): AlexnetError {
  const ambiguous = unknown.filter((u) => resolver.isAmbiguous(u));
  const hint = ambiguous.length ? `; ${listSome(ambiguous)} name more than one class, use the WNID or index` : '';
  return datasetError(`Expected ${what} to name classes of the ${resolver.numClasses}-class head (a WNID, a name from ${labelsSource}, or an index 0-${resolver.numClasses - 1}) but found ${unknown.length} unknown: ${listSome(unknown)}${hint}`);
}

export function readImageFolder(root: string, resolver: ClassResolver, labelsSource: string): Dataset {
  const entries = readdirSync(root, { withFileTypes: true }).filter((e) => !e.name.startsWith('.'));
  const isDirectory = (e: Dirent) => {
    try {
      return e.isDirectory() || (e.isSymbolicLink() && statSync(join(root, e.name)).isDirectory());
    } catch {
      return false; // a dangling link: ignored, listed below
    }
  };
  const classDirs = entries.filter(isDirectory).map((e) => e.name).sort();
  const ignored: string[] = entries.filter((e) => !classDirs.includes(e.name)).map((e) => e.name);
  if (classDirs.length === 0) {
    throw datasetError(`Expected class sub-folders in ${root} (ImageFolder), or --ground-truth FILE for a flat folder, but found none`);
  }
  const unknown = classDirs.filter((d) => resolver.resolve(d) === undefined);
  if (unknown.length) throw unknownClassesError(`the folders of ${root}`, unknown, resolver, labelsSource);
  const items: DatasetItem[] = [];
  const empty: string[] = [];
  const seen = new Map<number, string>();
  const warnings: string[] = [];
  const unscored: string[] = [];
  for (const dir of classDirs) {
    const label = resolver.resolve(dir)!;
    if (seen.has(label)) warnings.push(`folders ${seen.get(label)} and ${dir} name the same class ${label}; both are scored as class ${label}`);
    seen.set(label, dir);
    let count = 0;
    const below: string[] = [];
    for (const file of walkFiles(join(root, dir), join(root, dir), [], below)) {
      const path = `${dir}/${file}`;
      if (isImageName(file)) {
        items.push({ path, label });
        count++;
      } else ignored.push(path);
    }
    unscored.push(...below.map((u) => `${dir}/${u}`));
    if (count === 0) empty.push(dir);
  }
  if (unscored.length) warnings.push(notScoredWarning(unscored));
  // torchvision's ImageFolder raises "Found no valid file for the classes ..."; we score the rest
  if (empty.length) warnings.push(`no image files in ${empty.length} class folder${empty.length > 1 ? 's' : ''}: ${listSome(empty)}`);
  items.sort(byPath);
  return { root, layout: 'image-folder', items, warnings, ignored: ignored.sort() };
}

export function detectGroundTruthFormat(text: string): 'kaggle-loc-csv' | 'bvlc-val-txt' | 'csv' {
  const first = text.split(/\r?\n/, 1)[0].trim();
  if (/^ImageId\s*,\s*PredictionString$/i.test(first)) return 'kaggle-loc-csv';
  if (!first.includes(',') && /^\S+\s+\d+$/.test(first)) return 'bvlc-val-txt';
  return 'csv';
}

/** `a,b` with "..." quoting as RFC 4180 (paths may contain commas) */
export function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(field);
      field = '';
    } else field += ch;
  }
  out.push(field);
  return out;
}

export function readFlatFolder(root: string, groundTruth: string, resolver: ClassResolver, labelsSource: string): Dataset {
  let text: string;
  try {
    text = readFileSync(groundTruth, 'utf8');
  } catch (e) {
    throw datasetError(`${groundTruth}: expected a readable ground-truth file but found ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const layout = detectGroundTruthFormat(text);
  const lines = text.split(/\r?\n/);
  const rows: { path: string; className: string; line: number }[] = [];
  const bad: string[] = [];
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    if (layout === 'kaggle-loc-csv') {
      if (i === 0) return;
      const [id, prediction] = splitCsvLine(line);
      const wnid = prediction?.trim().split(/\s+/)[0];
      if (!id || !wnid) bad.push(`line ${i + 1}`);
      else rows.push({ path: `${id}.JPEG`, className: wnid, line: i + 1 });
    } else if (layout === 'bvlc-val-txt') {
      const m = /^(.*\S)\s+(\d+)$/.exec(line);
      if (!m) bad.push(`line ${i + 1}`);
      else rows.push({ path: m[1], className: m[2], line: i + 1 });
    } else {
      const fields = splitCsvLine(line).map((f) => f.trim());
      if (i === 0 && fields[0].toLowerCase() === 'path' && fields[1]?.toLowerCase() === 'label') return;
      if (fields.length < 2 || !fields[0] || !fields[1]) bad.push(`line ${i + 1}`);
      else rows.push({ path: fields[0], className: fields[1], line: i + 1 });
    }
  });
  const formatName = { 'kaggle-loc-csv': 'ImageId,PredictionString (Kaggle LOC_val_solution.csv)', 'bvlc-val-txt': '"file index" (BVLC val.txt)', csv: 'path,label' }[layout];
  if (bad.length) throw datasetError(`${groundTruth}: expected ${formatName} on every line but found other text on ${listSome(bad)}`);
  if (rows.length === 0) throw datasetError(`${groundTruth}: expected ${formatName} rows but found none`);

  const unknown = [...new Set(rows.map((r) => r.className).filter((c) => resolver.resolve(c) === undefined))];
  if (unknown.length) throw unknownClassesError(`the labels in ${groundTruth}`, unknown, resolver, labelsSource);

  const items: DatasetItem[] = [];
  const byName = new Map<string, number>();
  const duplicates: string[] = [];
  for (const r of rows) {
    const path = r.path.replace(/\\/g, '/').replace(/^\.\//, '');
    if (byName.has(path)) {
      duplicates.push(path);
      continue;
    }
    byName.set(path, items.length);
    items.push({ path, label: resolver.resolve(r.className)! });
  }
  if (duplicates.length) throw datasetError(`${groundTruth}: expected each image once but found ${duplicates.length} listed again: ${listSome(duplicates)}`);

  // compare with what is on disk, as a count and by name
  const unscored: string[] = [];
  const onDisk = walkFiles(root, root, [], unscored).filter((f) => isImageName(f));
  const onDiskSet = new Set(onDisk);
  const missing = items.filter((it) => !onDiskSet.has(it.path) && !existsSync(join(root, it.path))).map((it) => it.path);
  const unlisted = onDisk.filter((f) => !byName.has(f));
  const warnings: string[] = [];
  if (items.length !== onDisk.length || missing.length || unlisted.length) {
    warnings.push(`${groundTruth} lists ${items.length} images, ${root} holds ${onDisk.length} image files`);
  }
  if (missing.length) warnings.push(`${missing.length} listed image${missing.length > 1 ? 's are' : ' is'} missing (scored as unreadable): ${listSome(missing)}`);
  if (unlisted.length) warnings.push(`${unlisted.length} image file${unlisted.length > 1 ? 's are' : ' is'} not in ${groundTruth} (not scored): ${listSome(unlisted)}`);
  if (unscored.length) warnings.push(notScoredWarning(unscored));
  items.sort(byPath);
  return { root, layout, groundTruth, items, warnings, ignored: unlisted };
}

export function readDataset(root: string, groundTruth: string | undefined, resolver: ClassResolver, labelsSource: string): Dataset {
  let stat;
  try {
    stat = statSync(root);
  } catch {
    throw datasetError(`Expected a dataset folder for DATASET but received ${root} (no such folder)`);
  }
  if (!stat.isDirectory()) throw datasetError(`Expected a dataset folder for DATASET but received ${root} (not a folder)`);
  return groundTruth === undefined
    ? readImageFolder(root, resolver, labelsSource)
    : readFlatFolder(root, groundTruth, resolver, labelsSource);
}

export interface Shard {
  index: number;
  count: number;
}

export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index >= count) {
    throw new AlexnetError(`Expected I/N with 0 <= I < N for --shard but received ${text}`, 'ERR_USAGE');
  }
  return { index, count };
}

/**
 * SHA-256 of the sorted `path<TAB>label` lines: the same for the same images with the same labels,
 * wherever the dataset is mounted; what --resume and merge compare so that shards of different
 * datasets are never combined.
 */
export function datasetDigest(items: DatasetItem[]): string {
  const hash = createHash('sha256');
  for (const it of items) hash.update(`${it.path}\t${it.label}\n`);
  return hash.digest('hex');
}

/** The items (sorted by byte order) with position % N == I: shards of equal size +-1 */
export function shardItems<T>(items: T[], shard: Shard): T[] {
  return shard.count === 1 ? items : items.filter((_, i) => i % shard.count === shard.index);
}
