// examples/slurm/ on a real Slurm: a single-node cluster started here from Debian's packages
// (test/slurm/cluster.sh: munged, slurmctld, slurmd on this host's cores), the two sbatch lines of
// the README submitted unchanged as an array of 4 tasks, one task killed mid-run (scancel
// --signal=KILL) and requeued (scontrol requeue), the dependent merge job waited for. The merged
// metrics and predictions must be those of one unsharded run, line for line; then the whole array is
// submitted again and every task must find its output complete and exit at once.
//
// The network is torchvision's AlexNet with random weights (random:1, a 4-class head): slow enough
// (~0.1 s an image on a shared core) that a task can be caught in the middle of its shard.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeImageFolder, readJsonl } from './score-dataset.js';

// dist/test/slurm.test.js -> <root>
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLUSTER = join(ROOT, 'test', 'slurm', 'cluster.sh');
const EXAMPLES = join(ROOT, 'examples', 'slurm');
const BIN = join(ROOT, 'dist', 'bin', 'alexnet-cli.js');
const TASKS = 4;

const work = mkdtempSync(join(tmpdir(), 'alexnet-slurm-'));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The environment of the jobs: `alexnet-cli` on PATH, our cluster's SLURM_CONF, no outer Slurm job's variables */
function jobEnv(slurmConf: string): NodeJS.ProcessEnv {
  const bin = join(work, 'bin');
  if (!existsSync(bin)) {
    mkdirSync(bin);
    symlinkSync(BIN, join(bin, 'alexnet-cli'));
  }
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(SLURM_|SBATCH_|JOB_COMPLETION_INDEX$|ALEXNET_CLI_SHARD_COUNT$)/.test(k)));
  return { ...env, PATH: `${bin}:${process.env.PATH}`, SLURM_CONF: slurmConf };
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): string {
  const r = spawnSync(command, args, { encoding: 'utf8', env, cwd: work });
  assert.equal(r.status, 0, `${command} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

/** JobState of a job or array element, from `scontrol show job` (kept MinJobAge=300 s after the end) */
function jobStates(id: string, env: NodeJS.ProcessEnv): string[] {
  const r = spawnSync('scontrol', ['show', 'job', '-o', id], { encoding: 'utf8', env });
  return [...r.stdout.matchAll(/JobState=(\S+)/g)].map((m) => m[1]);
}

const ENDED = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY', 'BOOT_FAIL', 'DEADLINE', 'PREEMPTED']);

/** Waits until every job of `id` has ended; a guard against a hang, not a time limit on the work */
async function waitEnded(id: string, env: NodeJS.ProcessEnv): Promise<string[]> {
  for (let i = 0; i < 3000; i++) {
    const states = jobStates(id, env);
    if (states.length && states.every((s) => ENDED.has(s))) return states;
    await sleep(200);
  }
  throw new Error(`job ${id} did not end in 10 minutes: ${jobStates(id, env).join(' ')}`);
}

/** The records in a shard's output and the shard's size, or undefined before its header */
function progress(file: string): { records: number; count: number } | undefined {
  if (!existsSync(file)) return undefined;
  const lines = readFileSync(file, 'utf8').split('\n');
  try {
    return { records: lines.length - 2, count: JSON.parse(lines[0]).count };
  } catch {
    return undefined;
  }
}

test('examples/slurm on a real Slurm: 4 tasks, one killed and requeued, the merge job gives the unsharded run', async (t) => {
  const clusterDir = join(work, 'cluster');
  const started = spawnSync('bash', [CLUSTER, 'start', clusterDir], { encoding: 'utf8' });
  if (started.status !== 0) {
    t.skip(`no Slurm cluster could be started on this machine: ${(started.stderr || started.error?.message || '').trim()}`);
    return;
  }
  const env = jobEnv(started.stdout.trim());
  try {
    // 3 copies of the generated ImageFolder: 60 files (48 images, 12 broken), 15 per task
    const base = await makeImageFolder(join(work, 'base', 'val'));
    const dataset = join(work, 'val');
    for (const path of [...base.truth.keys(), ...base.broken]) {
      const [cls, file] = path.split('/');
      mkdirSync(join(dataset, cls), { recursive: true });
      for (let k = 0; k < 3; k++) linkSync(join(base.root, path), join(dataset, cls, `copy${k}-${file}`));
    }
    // --batch 1: each image computed alone, so the shards' lines can equal the unsharded run's byte for
    // byte (the kernels' sums depend on the batch size: docs/score.md)
    const options = ['--weights', 'random:1', '--arch', 'torchvision', '--labels', base.labelsFile, '--batch', '1'];
    const reference = join(work, 'unsharded.jsonl');
    const unsharded = JSON.parse(run(process.execPath, [BIN, 'score', dataset, ...options, '--threads', '1', '--workers', '1', '--out', reference, '--json'], env));
    assert.equal(unsharded.scored + unsharded.unreadable, 60);

    // the README's two lines
    const results = join(work, 'results');
    const submit = () => {
      const array = run('sbatch', ['--parsable', `--array=0-${TASKS - 1}`, '--cpus-per-task=1', join(EXAMPLES, 'score.sbatch'), dataset, results, ...options], env);
      const merge = run('sbatch', ['--parsable', `--dependency=afterany:${array}`, join(EXAMPLES, 'merge.sbatch'), results], env);
      return { array, merge };
    };
    const first = submit();

    // kill a task in the middle of its shard, then requeue it
    let killed: number | undefined;
    for (let i = 0; i < 6000 && killed === undefined; i++) {
      for (let task = 0; task < TASKS; task++) {
        const p = progress(join(results, `shard-${task}.jsonl`));
        if (p && p.records >= 2 && p.records < p.count) {
          run('scancel', ['--signal=KILL', `${first.array}_${task}`], env);
          killed = task;
          break;
        }
      }
      if (killed === undefined) await sleep(20);
    }
    assert.notEqual(killed, undefined, 'caught a task in the middle of its shard');
    const element = `${first.array}_${killed}`;
    const before = progress(join(results, `shard-${killed}.jsonl`))!;
    await waitEnded(element, env);
    t.diagnostic(`task ${killed} killed with ${before.records} of ${before.count} records written`);
    assert.notDeepEqual(jobStates(element, env), ['COMPLETED']);
    run('scontrol', ['requeue', element], env);
    // a requeued job waits 120 s (the credential lifetime) before it may start again: start it now
    run('scontrol', ['update', `JobId=${element}`, 'StartTime=now'], env);

    assert.deepEqual(await waitEnded(first.array, env), Array(TASKS).fill('COMPLETED'));
    assert.deepEqual(await waitEnded(first.merge, env), ['COMPLETED'], readdirSync(work).filter((f) => f.startsWith('alexnet-merge')).map((f) => readFileSync(join(work, f), 'utf8')).join('\n'));

    // the killed task ran twice and went on from its own output
    const log = readFileSync(join(work, `alexnet-score-${first.array}_${killed}.log`), 'utf8');
    assert.match(log, /, start 0, [\s\S]*, start 1, /);
    const resumed = Number(/^resumed +(\d+) images already in the output$/m.exec(log)?.[1]);
    assert.ok(resumed >= before.records - 1 && resumed < before.count, `resumed ${resumed} after ${before.records} of ${before.count}`);

    // merged = unsharded: metrics, and predictions line for line (nothing missing, nothing twice)
    const metrics = JSON.parse(readFileSync(join(results, 'metrics.json'), 'utf8'));
    for (const key of ['top1', 'top5', 'meanPerClassTop1', 'scored', 'unreadable', 'perClass', 'errors']) assert.deepEqual(metrics[key], unsharded[key], key);
    assert.deepEqual(metrics.shards.map((s: { index: number; count: number }) => `${s.index}/${s.count}`), ['0/4', '1/4', '2/4', '3/4']);
    assert.deepEqual([metrics.missingShards, metrics.incompleteShards, metrics.missingImages], [[], [], 0]);
    assert.equal(readFileSync(join(results, 'merged.jsonl'), 'utf8'), readFileSync(reference, 'utf8'));
    const paths = readJsonl(join(results, 'merged.jsonl')).records.map((r) => r.path);
    assert.equal(new Set(paths).size, 60);

    // the same two lines again: every task finds its output complete and exits at once
    const again = submit();
    assert.deepEqual(await waitEnded(again.array, env), Array(TASKS).fill('COMPLETED'));
    assert.deepEqual(await waitEnded(again.merge, env), ['COMPLETED']);
    for (let task = 0; task < TASKS; task++) {
      const taskLog = readFileSync(join(work, `alexnet-score-${again.array}_${task}.log`), 'utf8');
      assert.match(taskLog, new RegExp(`shard-${task}.jsonl already holds all 15 images of shard ${task}/4; nothing to score`));
    }
    assert.equal(readFileSync(join(results, 'merged.jsonl'), 'utf8'), readFileSync(reference, 'utf8'));
  } finally {
    spawnSync('scancel', ['--user', 'root'], { env });
    spawnSync('bash', [CLUSTER, 'stop', clusterDir]);
  }
});
