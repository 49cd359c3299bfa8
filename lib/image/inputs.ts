// What a list of inputs on the command line means: files as they are, folders as the images in them
// (by extension, as torchvision's ImageFolder; --recursive: and in their sub-folders), and quoted globs ('photos/*.jpg', 'val/**/*.JPEG') expanded
// here, the same on every shell and platform. `-` (standard input) passes through untouched.
import { readdir, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { AlexnetError } from '../errors.js';

/** What torchvision's ImageFolder would try to open (datasets/folder.py IMG_EXTENSIONS) */
const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.jpe', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp', '.gif'];

export function isImageName(name: string): boolean {
  const lower = name.toLowerCase();
  return IMAGE_EXTENSIONS.some((ext) => lower.endsWith(ext));
}

/** An image by its extension, or a preprocessed .npy tensor */
const isInputName = (name: string): boolean => isImageName(name) || name.toLowerCase().endsWith('.npy');

export interface ExpandOptions {
  /** take the images in sub-folders too */
  recursive?: boolean;
}

/** One argument's files, or why it gave none (reported like an unreadable file) */
export interface ExpandedInput {
  arg: string;
  paths: string[];
  error?: Error & { code: string };
}

const GLOB_CHARS = /[*?[\]{}]/;

const inputError = (message: string): AlexnetError => new AlexnetError(message, 'ERR_INPUT');

// code-unit order, as score's datasets: the same listing on every machine and locale
const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

async function listFolder(dir: string, recursive: boolean): Promise<{ files: string[]; subfolders: number }> {
  const files: string[] = [];
  let subfolders = 0;
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => byCodeUnit(a.name, b.name));
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      subfolders++;
      if (recursive) files.push(...(await listFolder(path, true)).files);
    } else if (isImageName(entry.name)) {
      files.push(path);
    }
  }
  return { files, subfolders };
}

/**
 * Each argument's input files, in the order given: a file as it is (even a missing one: its loader
 * reports it), a folder's images sorted by name, a glob's matches sorted. An empty folder or a glob
 * that matches nothing is an error for that argument only.
 */
export async function expandInputs(args: string[], options: ExpandOptions = {}): Promise<ExpandedInput[]> {
  const out: ExpandedInput[] = [];
  for (const arg of args) {
    if (arg === '-') {
      out.push({ arg, paths: [arg] });
      continue;
    }
    const info = await stat(arg).catch(() => undefined);
    if (info?.isDirectory()) {
      const { files, subfolders } = await listFolder(arg, options.recursive ?? false);
      if (files.length > 0) out.push({ arg, paths: files });
      else {
        const hint = subfolders > 0 && !options.recursive ? `; it has ${subfolders} sub-folder${subfolders > 1 ? 's' : ''}: --recursive takes their images` : '';
        out.push({ arg, paths: [], error: inputError(`${arg}: expected images (JPEG, PNG, ...) in this folder but found none${hint}`) });
      }
    } else if (!info && GLOB_CHARS.test(arg)) {
      const { glob } = await import('tinyglobby');
      // matches come relative to the working directory; an absolute pattern gives absolute paths
      const matches = (await glob(arg, { onlyFiles: true, expandDirectories: false, dot: false, absolute: isAbsolute(arg) }))
        .filter(isInputName).sort(byCodeUnit);
      if (matches.length > 0) out.push({ arg, paths: matches });
      else out.push({ arg, paths: [], error: inputError(`${arg}: expected image or .npy files matching this pattern but found none`) });
    } else {
      out.push({ arg, paths: [arg] });
    }
  }
  return out;
}
