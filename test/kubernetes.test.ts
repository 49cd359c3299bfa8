// examples/k8s/: the Indexed Job and the merge Job checked against Kubernetes' Job schema offline
// (kubernetes-models: the API's OpenAPI schemas compiled for ajv), then run as Kubernetes would run
// them, without a cluster: each index's container command with the manifest's env plus
// JOB_COMPLETION_INDEX, the volumes' mount paths mapped to folders here, then the merge Job's
// command; the merged metrics and predictions must be one unsharded run's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Job } from 'kubernetes-models/batch/v1';
import YAML from 'yaml';
import { CLASSES, makeImageFolder, readJsonl, writeTinyWeights } from './score-dataset.js';

// dist/test/kubernetes.test.js -> <root>
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'dist', 'bin', 'alexnet-cli.js');
const work = mkdtempSync(join(tmpdir(), 'alexnet-k8s-'));

interface Container {
  command: string[];
  args?: string[];
  env?: { name: string; value: string }[];
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
}

function readJob(name: string): { spec: Record<string, unknown> & { template: { spec: { containers: Container[]; restartPolicy: string } } } } {
  const manifest = YAML.parse(readFileSync(join(ROOT, 'examples', 'k8s', name), 'utf8'));
  new Job(manifest).validate(); // throws with the schema's message
  return manifest;
}

test('the manifests are valid batch/v1 Jobs; the Indexed Job gives the shard count the Job runs', () => {
  const score = readJob('score-job.yaml');
  const merge = readJob('merge-job.yaml');
  assert.equal(score.spec.completionMode, 'Indexed');
  const container = score.spec.template.spec.containers[0];
  const count = container.env?.find((e) => e.name === 'ALEXNET_CLI_SHARD_COUNT')?.value;
  assert.equal(count, String(score.spec.completions), 'ALEXNET_CLI_SHARD_COUNT = spec.completions');
  assert.ok(container.command.includes('--resume'), 'a retried index resumes');
  assert.equal(merge.spec.template.spec.restartPolicy, 'Never');
  // the validator is not a rubber stamp
  const wrong = YAML.parse(readFileSync(join(ROOT, 'examples', 'k8s', 'score-job.yaml'), 'utf8'));
  wrong.spec.completions = 'eight';
  assert.throws(() => new Job(wrong).validate(), /spec\/completions must be integer/);
});

/** The container's command with each mount path replaced by a folder here */
function mapped(container: Container, mounts: Record<string, string>): string[] {
  return [...container.command, ...(container.args ?? [])].map((arg) => {
    let out = arg;
    for (const m of container.volumeMounts) out = out.replace(new RegExp(`(^|[\\s"'=])${m.mountPath}/`, 'g'), `$1${mounts[m.name]}/`);
    return out;
  });
}

test('each index of the Indexed Job scores its shard from JOB_COMPLETION_INDEX; the merge Job gives the unsharded run', async () => {
  const score = readJob('score-job.yaml');
  const merge = readJob('merge-job.yaml');
  // the volumes: data (an ImageFolder with index-named classes, as a 4-class head without labels needs), models, results
  const mounts = { data: join(work, 'data'), models: join(work, 'models'), results: join(work, 'results') };
  const base = await makeImageFolder(join(work, 'base'));
  for (const path of [...base.truth.keys(), ...base.broken]) {
    const [cls, file] = path.split('/');
    mkdirSync(join(mounts.data, 'val', String(CLASSES.indexOf(cls))), { recursive: true });
    linkSync(join(base.root, path), join(mounts.data, 'val', String(CLASSES.indexOf(cls)), file));
  }
  mkdirSync(mounts.models);
  mkdirSync(mounts.results);
  writeTinyWeights(join(mounts.models, 'alexnet.safetensors'), 4, 11);
  const bin = join(work, 'bin');
  mkdirSync(bin);
  symlinkSync(BIN, join(bin, 'alexnet-cli'));
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(SLURM_|JOB_COMPLETION_INDEX$|ALEXNET_CLI_SHARD_COUNT$)/.test(k)));
  const baseEnv = { ...clean, PATH: `${bin}:${process.env.PATH}` };

  const container = score.spec.template.spec.containers[0];
  const [command, ...args] = mapped(container, mounts);
  const podEnv = (index: number) => ({ ...baseEnv, ...Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value])), JOB_COMPLETION_INDEX: String(index) });
  const completions = score.spec.completions as number;
  for (let index = 0; index < completions; index++) {
    const r = spawnSync(command, args, { encoding: 'utf8', env: podEnv(index) });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`shard ${index}/${completions}: \\d+ images\\nshard {8}from the Kubernetes Indexed Job \\(JOB_COMPLETION_INDEX=${index} ALEXNET_CLI_SHARD_COUNT=${completions}\\)`));
  }
  // a pod of an index retried after it had finished: nothing to do
  const retried = spawnSync(command, args, { encoding: 'utf8', env: podEnv(3) });
  assert.equal(retried.status, 0, retried.stderr);
  assert.match(retried.stderr, /shard-3.jsonl already holds all \d+ images of shard 3\/8; nothing to score/);

  const mergeContainer = merge.spec.template.spec.containers[0];
  const [mergeCommand, ...mergeArgs] = mapped(mergeContainer, mounts);
  const merged = spawnSync(mergeCommand, mergeArgs, { encoding: 'utf8', env: baseEnv });
  assert.equal(merged.status, 0, merged.stderr);

  const reference = join(work, 'unsharded.jsonl');
  const unsharded = spawnSync(BIN, ['score', join(mounts.data, 'val'), '--weights', join(mounts.models, 'alexnet.safetensors'), '--out', reference, '--json'], { encoding: 'utf8', env: baseEnv });
  assert.equal(unsharded.status, 0, unsharded.stderr);
  const expected = JSON.parse(unsharded.stdout);
  const metrics = JSON.parse(readFileSync(join(mounts.results, 'metrics.json'), 'utf8'));
  for (const key of ['top1', 'top5', 'meanPerClassTop1', 'scored', 'unreadable', 'perClass', 'errors']) assert.deepEqual(metrics[key], expected[key], key);
  assert.equal(metrics.shards.length, completions);
  // the same lines but for the last digit of some probabilities: the manifest's pods score batches of
  // 2-3 images, the unsharded run one of 20, and the kernels' sums depend on the batch (docs/score.md)
  const mergedRun = readJsonl(join(mounts.results, 'merged.jsonl'));
  const unshardedRun = readJsonl(reference);
  assert.deepEqual({ ...mergedRun.header, dataset: '' }, { ...unshardedRun.header, dataset: '' });
  assert.deepEqual(mergedRun.records.map((r) => [r.path, r.label, r.top, r.error]), unshardedRun.records.map((r) => [r.path, r.label, r.top, r.error]));
  mergedRun.records.forEach((r, i) => r.prob?.forEach((p, k) => assert.ok(Math.abs(p - unshardedRun.records[i].prob![k]) <= 1e-6, `${r.path} ${p}`)));
});
