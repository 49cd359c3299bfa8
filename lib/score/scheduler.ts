// Which shard of a dataset this process scores, when `--shard` is not given: read from the
// environment the scheduler sets for one task of an array.
//
// - Slurm job array (sbatch --array): SLURM_ARRAY_TASK_ID of SLURM_ARRAY_TASK_COUNT tasks. Task ids
//   need not start at 0 or step by 1 (--array=1-8, --array=0-30:2): the shard is the task's position
//   in the range, (ID - SLURM_ARRAY_TASK_MIN) / SLURM_ARRAY_TASK_STEP. A list that is no range
//   (--array=1,4,9) has no such position: pass --shard, or ALEXNET_CLI_SHARD_COUNT (below).
// - Slurm job step (srun -n N): SLURM_PROCID of SLURM_NTASKS, inside a step only (SLURM_STEP_ID set
//   and not the batch script itself, where SLURM_NTASKS counts the tasks the job may start, not
//   processes running this command). Inside an array task, both: array position * NTASKS + PROCID
//   of COUNT * NTASKS shards.
// - Kubernetes Indexed Job (completionMode: Indexed): JOB_COMPLETION_INDEX, and the number of
//   completions, which Kubernetes does not put in the environment, from ALEXNET_CLI_SHARD_COUNT
//   (set it in the manifest next to spec.completions).
//
// ALEXNET_CLI_SHARD_COUNT also serves Slurm: when it is set, the array task id itself is the shard
// index, so that a subset of an array can be resubmitted (sbatch --array=3,5 with
// ALEXNET_CLI_SHARD_COUNT=8 reruns shards 3/8 and 5/8).
import { AlexnetError } from '../errors.js';
import { parseShard, type Shard } from './dataset.js';

export type ShardSource = 'option' | 'default' | 'slurm-array' | 'slurm-step' | 'slurm-array-step' | 'kubernetes';

export interface ShardChoice {
  shard: Shard;
  source: ShardSource;
  /** the variables it was read from, as found */
  variables: Record<string, string>;
}

type Env = Record<string, string | undefined>;

const SHARD_COUNT_VARIABLE = 'ALEXNET_CLI_SHARD_COUNT';

const usage = (message: string) => new AlexnetError(message, 'ERR_USAGE');

function integerVariable(env: Env, name: string, min: number): number {
  const text = env[name];
  const value = text !== undefined && /^\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (!(value >= min)) throw usage(`Expected an integer >= ${min} in the environment variable ${name} but received ${text === undefined ? 'nothing (unset)' : JSON.stringify(text)}`);
  return value;
}

function pick(env: Env, names: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of names) if (env[n] !== undefined) out[n] = env[n]!;
  return out;
}

/** The array task's position and the array's size, or undefined outside a Slurm array */
function slurmArray(env: Env): { index: number; count: number; names: string[] } | undefined {
  if (env.SLURM_ARRAY_TASK_ID === undefined) return undefined;
  const id = integerVariable(env, 'SLURM_ARRAY_TASK_ID', 0);
  if (env[SHARD_COUNT_VARIABLE] !== undefined) {
    const count = integerVariable(env, SHARD_COUNT_VARIABLE, 1);
    if (id >= count) throw usage(`Expected SLURM_ARRAY_TASK_ID below ${SHARD_COUNT_VARIABLE}=${count} (the task id is the shard index when it is set) but received ${id}`);
    return { index: id, count, names: ['SLURM_ARRAY_TASK_ID', SHARD_COUNT_VARIABLE] };
  }
  const names = ['SLURM_ARRAY_TASK_ID', 'SLURM_ARRAY_TASK_COUNT', 'SLURM_ARRAY_TASK_MIN', 'SLURM_ARRAY_TASK_MAX', 'SLURM_ARRAY_TASK_STEP'];
  const count = integerVariable(env, 'SLURM_ARRAY_TASK_COUNT', 1);
  const min = env.SLURM_ARRAY_TASK_MIN !== undefined ? integerVariable(env, 'SLURM_ARRAY_TASK_MIN', 0) : 0;
  const max = env.SLURM_ARRAY_TASK_MAX !== undefined ? integerVariable(env, 'SLURM_ARRAY_TASK_MAX', min) : min + count - 1;
  const step = env.SLURM_ARRAY_TASK_STEP !== undefined ? integerVariable(env, 'SLURM_ARRAY_TASK_STEP', 1) : 1;
  const isRange = (max - min) % step === 0 && (max - min) / step + 1 === count && id >= min && id <= max && (id - min) % step === 0;
  if (!isRange) {
    const found = Object.entries(pick(env, names)).map(([k, v]) => `${k}=${v}`).join(' ');
    throw usage(`Expected the Slurm array's task ids to be a range (--array=A-B or A-B:STEP) but found ${found}; pass --shard I/N, or set ${SHARD_COUNT_VARIABLE}=N to use the task id as the shard index`);
  }
  return { index: (id - min) / step, count, names };
}

/** SLURM_PROCID of SLURM_NTASKS inside an srun step (not in the batch script itself) */
function slurmStep(env: Env): { index: number; count: number; names: string[] } | undefined {
  const step = env.SLURM_STEP_ID ?? env.SLURM_STEPID;
  if (step === undefined || env.SLURM_PROCID === undefined || env.SLURM_NTASKS === undefined) return undefined;
  // the batch script runs as step "batch" (4294967294 in some versions); extern as "extern" (4294967295)
  if (!/^\d+$/.test(step) || Number(step) >= 4294967290) return undefined;
  const count = integerVariable(env, 'SLURM_NTASKS', 1);
  const index = integerVariable(env, 'SLURM_PROCID', 0);
  if (index >= count) throw usage(`Expected SLURM_PROCID below SLURM_NTASKS=${count} but received ${index}`);
  return { index, count, names: ['SLURM_PROCID', 'SLURM_NTASKS'] };
}

/**
 * The shard to score: `--shard` when given (it always wins), else what the scheduler's environment
 * says, else the whole dataset (0/1).
 */
export function chooseShard(option: string | undefined, env: Env = process.env): ShardChoice {
  if (option !== undefined) return { shard: parseShard(option), source: 'option', variables: {} };
  const array = slurmArray(env);
  const step = slurmStep(env);
  if (array && step && step.count > 1) {
    return {
      shard: { index: array.index * step.count + step.index, count: array.count * step.count },
      source: 'slurm-array-step',
      variables: pick(env, [...array.names, ...step.names]),
    };
  }
  if (array) return { shard: { index: array.index, count: array.count }, source: 'slurm-array', variables: pick(env, array.names) };
  if (step && step.count > 1) return { shard: { index: step.index, count: step.count }, source: 'slurm-step', variables: pick(env, step.names) };
  if (env.JOB_COMPLETION_INDEX !== undefined) {
    const index = integerVariable(env, 'JOB_COMPLETION_INDEX', 0);
    if (env[SHARD_COUNT_VARIABLE] === undefined) {
      throw usage(`Expected ${SHARD_COUNT_VARIABLE} (the Job's spec.completions) next to JOB_COMPLETION_INDEX=${index} but received nothing; set it in the manifest's env, or pass --shard I/N`);
    }
    const count = integerVariable(env, SHARD_COUNT_VARIABLE, 1);
    if (index >= count) throw usage(`Expected JOB_COMPLETION_INDEX below ${SHARD_COUNT_VARIABLE}=${count} but received ${index}`);
    return { shard: { index, count }, source: 'kubernetes', variables: pick(env, ['JOB_COMPLETION_INDEX', SHARD_COUNT_VARIABLE]) };
  }
  return { shard: { index: 0, count: 1 }, source: 'default', variables: {} };
}

/** "from Slurm (SLURM_ARRAY_TASK_ID=2 ...)" for the report; empty for --shard and the default */
export function describeShardChoice(choice: ShardChoice): string {
  const what: Record<ShardSource, string> = {
    option: '--shard', default: 'the whole dataset', 'slurm-array': 'the Slurm array task', 'slurm-step': 'the Slurm job step',
    'slurm-array-step': 'the Slurm array task and job step', kubernetes: 'the Kubernetes Indexed Job',
  };
  const vars = Object.entries(choice.variables).map(([k, v]) => `${k}=${v}`).join(' ');
  return vars ? `${what[choice.source]} (${vars})` : what[choice.source];
}

/** `--out` with `{shard}` replaced by the shard index (one srun command line, one file per task) */
export function expandOutPath(out: string, shard: Shard): string {
  return out.replaceAll('{shard}', String(shard.index)).replaceAll('{shards}', String(shard.count));
}
