// A lock file beside a cache entry, so that processes sharing a cache (the tasks of a job array on
// one node, or on several nodes over NFS) download and convert each file once: the first takes the
// lock and works, the others wait, then find the file done.
//
// The lock is `<file>.lock`, created with O_CREAT|O_EXCL ('wx': atomic on local file systems and on
// NFSv3 and later), holding "<host> <pid>". Its holder touches it every REFRESH_MS while it works. A
// waiter takes over a lock whose holder is gone: on this host, a pid that no longer runs; on another
// host, a lock left untouched for staleMs. (proper-lockfile and lockfile, the npm packages, judge
// staleness by the same mtime; one waiter may remove a stale lock that another waiter has just
// replaced only if both read it within the same few microseconds, and the loser then downloads to
// the same `.part`, which the download's hash check still catches.)
import { hostname } from 'node:os';
import { mkdir, open, readFile, rm, stat, utimes } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const REFRESH_MS = 5_000;
const DEFAULT_STALE_MS = 30_000;
const DEFAULT_POLL_MS = 250;

export interface LockOptions {
  signal?: AbortSignal;
  /** called once when the lock is held by another process: its "<host> <pid>" */
  onWait?: (holder: string) => void;
  /** a lock of another host untouched this long is taken over (default 30 s) */
  staleMs?: number;
  pollMs?: number;
}

/** Whether process `pid` runs on this host (EPERM: it does, as another user); lock holders left behind are taken over */
export function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readHolder(path: string): Promise<{ text: string; mtimeMs: number } | undefined> {
  try {
    const [text, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    return { text: text.trim(), mtimeMs: info.mtimeMs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function isStale(holder: { text: string; mtimeMs: number }, staleMs: number): boolean {
  const [host, pidText] = holder.text.split(' ');
  const pid = Number(pidText);
  if (host === hostname() && Number.isInteger(pid) && pid > 0 && !processRuns(pid)) return true;
  // a lock still being written (empty) is fresh; an old one of any kind is stale
  return Date.now() - holder.mtimeMs > staleMs;
}

/** Runs `work` holding `<path>.lock`; waits while another process holds it. */
export async function withFileLock<T>(path: string, work: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const lock = `${path}.lock`;
  const me = `${hostname()} ${process.pid}`;
  const staleMs = options.staleMs ?? DEFAULT_STALE_MS;
  let told = false;
  await mkdir(dirname(lock), { recursive: true });
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      const handle = await open(lock, 'wx');
      try {
        await handle.writeFile(`${me}\n`);
      } finally {
        await handle.close();
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = await readHolder(lock);
    if (!holder) continue; // released meanwhile
    if (isStale(holder, staleMs)) {
      // remove it only if it is still the lock just judged stale
      const again = await readHolder(lock);
      if (again && again.text === holder.text && again.mtimeMs === holder.mtimeMs) await rm(lock, { force: true });
      continue;
    }
    if (!told) {
      options.onWait?.(holder.text);
      told = true;
    }
    await sleep(options.pollMs ?? DEFAULT_POLL_MS, undefined, { signal: options.signal });
  }
  const refresh = setInterval(() => {
    const now = new Date();
    utimes(lock, now, now).catch(() => undefined);
  }, REFRESH_MS);
  refresh.unref();
  try {
    return await work();
  } finally {
    clearInterval(refresh);
    const holder = await readHolder(lock).catch(() => undefined);
    if (holder?.text === me) await rm(lock, { force: true });
  }
}
