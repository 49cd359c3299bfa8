// Activation arenas for Model.forward. Each forward pass holds one arena for its whole run: two ping-pong
// buffers as large as the largest activation, an input buffer for host inputs, and the plans compiled on
// them. So passes in flight at once never share activations (issue 12: 50 concurrent calls on one shared
// arena gave 50 wrong outputs, and a pass of another batch size freed the buffers under a running one).
//
// Memory is bounded: at most `limit` arenas exist, busy or idle. A call that finds none free waits in a
// queue, first come first served; an idle arena of the right (batch, height, width) is reused, and an idle
// one of another shape is freed to make room. close() rejects the waiting calls with ERR_DISPOSED, frees the
// idle arenas at once and the busy ones as their passes finish; `onDrained` runs when none is busy.
import { AlexnetError } from '../errors.js';
import type { NativeTensor } from '../native.js';
import type { Plan } from './plan.js';
import { shapeSize, type LayerShape } from './shapes.js';

export interface Arena {
  /** `${batch}x${height}x${width}` */
  readonly key: string;
  readonly batch: number;
  readonly shapes: LayerShape[];
  readonly buffers: [NativeTensor, NativeTensor];
  /** allocated on the first pass that brings host data (a NativeTensor input is used where it is) */
  input?: NativeTensor;
  /** compiled on first use: 'raw' (what the network outputs) and 'probabilities' (with a final softmax) */
  readonly plans: Map<string, Plan>;
}

interface Waiter {
  key: string;
  batch: number;
  shapes: LayerShape[];
  resolve: (arena: Arena) => void;
  reject: (error: Error) => void;
}

export const disposedError = (): AlexnetError =>
  new AlexnetError('Expected a model that is not disposed but received a call after Model.dispose()', 'ERR_DISPOSED');

export class ArenaPool {
  private readonly idle: Arena[] = []; // least recently used first
  private readonly busy = new Set<Arena>();
  private readonly waiting: Waiter[] = [];
  private closed = false;
  private onDrained?: () => void;

  /** alloc(length): a zeroed float32 buffer of `length` elements on the model's device */
  constructor(private readonly alloc: (length: number) => NativeTensor, readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new AlexnetError(`Expected a positive integer for concurrency but received ${limit}`, 'ERR_USAGE');
  }

  /** An arena for one pass of `batch` items with these layer shapes; resolves when one is free */
  acquire(key: string, batch: number, shapes: LayerShape[]): Promise<Arena> {
    if (this.closed) return Promise.reject(disposedError());
    return new Promise((resolve, reject) => {
      this.waiting.push({ key, batch, shapes, resolve, reject });
      this.serve();
    });
  }

  /** Hands the arena of a finished pass back (to the next waiting call, or idle) */
  release(arena: Arena): void {
    this.busy.delete(arena);
    if (this.closed) {
      free(arena);
      if (this.busy.size === 0) this.onDrained?.();
      return;
    }
    this.idle.push(arena);
    this.serve();
  }

  /** Bytes of the arenas held now, busy and idle */
  get bytes(): number {
    let n = 0;
    for (const a of [...this.idle, ...this.busy]) n += (a.buffers[0].length + a.buffers[1].length + (a.input?.length ?? 0)) * 4;
    return n;
  }

  /** Rejects the waiting calls (ERR_DISPOSED) and frees what is idle; `onDrained` runs once no pass is busy */
  close(onDrained: () => void): void {
    this.closed = true;
    for (const waiter of this.waiting.splice(0)) waiter.reject(disposedError());
    for (const arena of this.idle.splice(0)) free(arena);
    if (this.busy.size === 0) onDrained();
    else this.onDrained = onDrained;
  }

  // the first waiting call gets an arena when one can be had; the others keep their turn
  private serve(): void {
    while (this.waiting.length > 0) {
      const waiter = this.waiting[0];
      let arena: Arena | undefined;
      try {
        arena = this.take(waiter);
      } catch (error) {
        this.waiting.shift();
        waiter.reject(error as Error);
        continue;
      }
      if (!arena) return;
      this.waiting.shift();
      this.busy.add(arena);
      waiter.resolve(arena);
    }
  }

  private take(waiter: Waiter): Arena | undefined {
    const same = this.idle.findIndex((a) => a.key === waiter.key);
    if (same >= 0) return this.idle.splice(same, 1)[0];
    if (this.busy.size + this.idle.length >= this.limit) {
      if (this.idle.length === 0) return undefined;
      free(this.idle.shift()!);
    }
    let largest = 0;
    for (const s of waiter.shapes) largest = Math.max(largest, shapeSize(s.outShape));
    const first = this.alloc(largest * waiter.batch);
    let second: NativeTensor;
    try {
      second = this.alloc(largest * waiter.batch);
    } catch (error) {
      first.dispose();
      throw error;
    }
    return { key: waiter.key, batch: waiter.batch, shapes: waiter.shapes, buffers: [first, second], plans: new Map() };
  }
}

function free(arena: Arena): void {
  arena.buffers[0].dispose();
  arena.buffers[1].dispose();
  arena.input?.dispose();
}
