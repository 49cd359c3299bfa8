// The options several sub-commands share. (The error type is lib/errors.ts, formatting lib/format.ts.)
import type { Argv } from 'yargs';

export function withArchOption<T>(y: Argv<T>) {
  return y.option('arch', { type: 'string', choices: ['seed', 'caffe', 'torchvision'], describe: 'architecture (default: what the weights say, else seed)' });
}

export function withDeviceOption<T>(y: Argv<T>) {
  return y.option('device', { type: 'string', default: 'cpu', describe: 'where to run: cpu (cuda where built)' });
}

export function withThreadsOption<T>(y: Argv<T>) {
  return y.option('threads', { type: 'number', describe: 'CPU threads for the kernels (default: all cores)' });
}
