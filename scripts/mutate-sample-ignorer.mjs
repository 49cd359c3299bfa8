// A Stryker ignorer plugin that keeps only the nodes of a sampled set of mutants (scripts/mutate.mjs
// writes the sample to the file named by $ALEXNET_MUTATE_SAMPLE). Stryker ignores a node and all of
// its descendants when an ignorer names it, so a node is kept when it is sampled or contains a
// sampled node; scripts/mutate.mjs also narrows `mutate` to the sampled nodes' ranges, so the
// containing nodes are traversed but not mutated.
import { readFileSync } from 'node:fs';
import { declareValuePlugin, PluginKind } from '@stryker-mutator/api/plugin';

let sample;
function load() {
  if (sample === undefined) {
    const file = process.env.ALEXNET_MUTATE_SAMPLE;
    sample = file ? JSON.parse(readFileSync(file, 'utf8')) : null;
  }
  return sample;
}

const before = (a, b) => a.line < b.line || (a.line === b.line && a.column <= b.column);

export const strykerPlugins = [
  declareValuePlugin(PluginKind.Ignore, 'alexnet-sample', {
    shouldIgnore(path) {
      const s = load();
      const loc = path.node.loc;
      if (!s || !loc) return undefined;
      const file = (path.hub?.file?.opts?.filename ?? '').replace(/\\/g, '/');
      for (const node of s.nodes) {
        if (!file.endsWith(node.file)) continue;
        // babel lines are 1-based, the sample's are too
        if (before(loc.start, node.start) && before(node.end, loc.end)) return undefined;
      }
      return 'not in the sample (scripts/mutate.mjs --sample)';
    },
  }),
];
