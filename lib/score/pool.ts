// A fixed pool of decode workers (node:worker_threads); each takes one batch at a time, the rest wait
// in a queue. Batch tensors travel as transferred ArrayBuffers.
//
// close() lets each busy worker finish the batch it holds before terminating it: a worker torn down
// with a native decode in flight settles that decode's Promise in a dying environment (the addon is
// built to survive that, CMakeLists.txt NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS; waiting keeps it
// from happening at all on an early stop: Ctrl-C, a full disk, a bad batch).
import { Worker } from 'node:worker_threads';
import type { DecodeReply, DecodeRequest } from './decode-worker.js';

interface Job {
  request: DecodeRequest;
  resolve: (reply: DecodeReply) => void;
  reject: (err: Error) => void;
}

export class DecodePool {
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, Job>();
  private readonly queue: Job[] = [];
  private readonly workers: Worker[] = [];
  private failure?: Error;
  private closing = false;
  /** resolved when a busy worker hands its batch back (or stops) */
  private readonly settled = new Map<Worker, () => void>();

  constructor(size: number) {
    const url = new URL('./decode-worker.js', import.meta.url);
    for (let i = 0; i < size; i++) {
      const worker = new Worker(url);
      worker.on('message', (reply: DecodeReply) => {
        const job = this.busy.get(worker)!;
        this.busy.delete(worker);
        this.idle.push(worker);
        this.settle(worker);
        job.resolve(reply);
        this.dispatch();
      });
      worker.on('error', (err: Error) => this.fail(worker, err));
      worker.on('exit', (code) => {
        if (this.busy.has(worker)) this.fail(worker, new Error(`a decode worker stopped with exit code ${code}`));
        this.settle(worker);
      });
      this.workers.push(worker);
      this.idle.push(worker);
    }
  }

  private settle(worker: Worker): void {
    this.settled.get(worker)?.();
    this.settled.delete(worker);
  }

  private fail(worker: Worker, err: Error): void {
    this.failure ??= err;
    const job = this.busy.get(worker);
    this.busy.delete(worker);
    this.settle(worker);
    job?.reject(err);
    for (const queued of this.queue.splice(0)) queued.reject(err);
  }

  run(request: DecodeRequest): Promise<DecodeReply> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closing) return Promise.reject(new Error('the decode pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (!this.closing && this.idle.length && this.queue.length) {
      const worker = this.idle.pop()!;
      const job = this.queue.shift()!;
      this.busy.set(worker, job);
      worker.postMessage(job.request, [job.request.buffer]);
    }
  }

  /** Drops the queued batches, waits for the busy workers to hand theirs back, then stops every worker */
  async close(): Promise<void> {
    this.closing = true;
    const closed = new Error('the decode pool is closed');
    for (const queued of this.queue.splice(0)) queued.reject(closed);
    await Promise.all([...this.busy.keys()].map((w) => new Promise<void>((resolve) => this.settled.set(w, resolve))));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
