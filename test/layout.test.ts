// The shape of lib/, read from the TypeScript sources: dependencies point down (commands -> score/profile/
// plot -> classifier -> image/weights -> model -> native), so nothing below lib/commands/ imports it, and
// no module imports itself back through others (an import circle).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

// dist/test/layout.test.js -> <root>
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const LIB = join(ROOT, 'lib');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

// `import ... from '...'`, `export ... from '...'`, `import '...'` and `import('...')`; type-only imports
// count too: they are dependencies of the code's shape even where the compiler erases them
const IMPORT = /(?:\bimport\s+(?:type\s+)?(?:[\w*{}\s,$]+\s+from\s+)?|\bexport\s+(?:type\s+)?[\w*{}\s,$]+\s+from\s+|\bimport\s*\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g;

/** The lib/-relative paths (`model/model.ts`) a source file imports, relative specifiers only */
export function importsOf(file: string, text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const found = new Set<string>();
  for (const m of code.matchAll(IMPORT)) {
    const target = resolve(dirname(file), m[1]).replace(/\.js$/, '.ts');
    found.add(target);
  }
  return [...found];
}

function graphOf(root: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(root)) {
    graph.set(file, importsOf(file, readFileSync(file, 'utf8')).filter((t) => t.startsWith(root + sep) && existsSync(t)));
  }
  return graph;
}

const name = (path: string): string => relative(ROOT, path).split(sep).join('/');

/** Modules outside lib/commands/ that import a module inside it */
export function upwardImports(graph: Map<string, string[]>, libRoot: string): string[] {
  const commands = join(libRoot, 'commands') + sep;
  const found: string[] = [];
  for (const [file, targets] of graph) {
    if (file.startsWith(commands)) continue;
    for (const t of targets) if (t.startsWith(commands)) found.push(`${name(file)} imports ${name(t)}`);
  }
  return found;
}

/** Every import circle, each as `a -> b -> a` (one per strongly connected set of modules, Tarjan) */
export function importCircles(graph: Map<string, string[]>): string[] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const circles: string[] = [];
  let counter = 0;
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const members = new Set<string>();
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      members.add(w);
    } while (w !== v);
    const selfLoop = (graph.get(v) ?? []).includes(v);
    if (members.size > 1 || selfLoop) circles.push(cycleThrough(graph, v, members).map(name).join(' -> '));
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return circles;
}

/** One concrete path from `start` back to itself within a strongly connected set (breadth first: the shortest) */
function cycleThrough(graph: Map<string, string[]>, start: string, members: Set<string>): string[] {
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let u = v; u !== start; u = previous.get(u)!) path.splice(1, 0, u);
        return [...path, start];
      }
      if (!previous.has(w)) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

test('nothing under lib/ outside lib/commands/ imports lib/commands/', () => {
  const found = upwardImports(graphOf(LIB), LIB);
  assert.deepEqual(found, [], `commands/ is the top floor (commands -> score/profile/plot -> classifier -> image/weights -> model -> native); move what these need below it:\n${found.join('\n')}`);
});

test('lib/ has no import circle', () => {
  const circles = importCircles(graphOf(LIB));
  assert.deepEqual(circles, [], `import circles in lib/:\n${circles.join('\n')}`);
});

test('the checks find a planted upward import and a planted circle', () => {
  const graph = new Map<string, string[]>([
    [join(LIB, 'commands', 'info.ts'), [join(LIB, 'weights', 'index.ts')]],
    [join(LIB, 'weights', 'index.ts'), [join(LIB, 'weights', 'detect.ts')]],
    [join(LIB, 'weights', 'detect.ts'), [join(LIB, 'commands', 'info.ts')]],
  ]);
  assert.deepEqual(upwardImports(graph, LIB), ['lib/weights/detect.ts imports lib/commands/info.ts']);
  assert.deepEqual(importCircles(graph), ['lib/commands/info.ts -> lib/weights/index.ts -> lib/weights/detect.ts -> lib/commands/info.ts']);
});

test('imports are read from every form: static, type-only, re-export, side effect and dynamic', () => {
  const file = join(LIB, 'model', 'x.ts');
  const text = [
    "import { a } from './a.js';",
    "import type { B } from '../weights/b.js';",
    "export { c } from './c.js';",
    "import './d.js';",
    "const e = await import('../commands/e.js');",
    "// import { f } from './f.js';",
    "import {\n  g,\n  h,\n} from './gh.js';",
    "import yargs from 'yargs';",
  ].join('\n');
  assert.deepEqual(importsOf(file, text).map(name), [
    'lib/model/a.ts', 'lib/weights/b.ts', 'lib/model/c.ts', 'lib/model/d.ts', 'lib/commands/e.ts', 'lib/model/gh.ts',
  ]);
});
