// A fixed pool of decode workers (node:worker_threads); each takes one batch at a time, the rest wait
// in a queue. Batch tensors travel as transferred ArrayBuffers.
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

  constructor(size: number) {
    const url = new URL('./decode-worker.js', import.meta.url);
    for (let i = 0; i < size; i++) {
      const worker = new Worker(url);
      worker.on('message', (reply: DecodeReply) => {
        const job = this.busy.get(worker)!;
        this.busy.delete(worker);
        this.idle.push(worker);
        job.resolve(reply);
        this.dispatch();
      });
      worker.on('error', (err: Error) => this.fail(worker, err));
      worker.on('exit', (code) => {
        if (this.busy.has(worker)) this.fail(worker, new Error(`a decode worker stopped with exit code ${code}`));
      });
      this.workers.push(worker);
      this.idle.push(worker);
    }
  }

  private fail(worker: Worker, err: Error): void {
    this.failure ??= err;
    const job = this.busy.get(worker);
    this.busy.delete(worker);
    job?.reject(err);
    for (const queued of this.queue.splice(0)) queued.reject(err);
  }

  run(request: DecodeRequest): Promise<DecodeReply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.idle.length && this.queue.length) {
      const worker = this.idle.pop()!;
      const job = this.queue.shift()!;
      this.busy.set(worker, job);
      worker.postMessage(job.request, [job.request.buffer]);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
