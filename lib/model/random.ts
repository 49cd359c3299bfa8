// Deterministic He-initialised weights (`--weights random[:SEED]`) for tests, benchmarks and profiling.
// Weights ~ N(0, 2/fan_in) (He et al. 2015, kaiming_normal_ fan_in); biases ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))
// as torch.nn.Conv2d/Linear initialise them.

/** xoshiro128** seeded through splitmix32: fast, and the same sequence on every platform */
export class Rng {
  private s = new Uint32Array(4);

  constructor(seed: number) {
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
  }

  /** uniform in [0, 1) */
  next(): number {
    const s = this.s;
    const result = Math.imul(((Math.imul(s[1], 5) << 7) | (Math.imul(s[1], 5) >>> 25)) >>> 0, 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = ((s[3] << 11) | (s[3] >>> 21)) >>> 0;
    return result / 4294967296;
  }

  private spare: number | undefined;

  /** standard normal (Box-Muller, both values of each pair used) */
  normal(): number {
    if (this.spare !== undefined) {
      const z = this.spare;
      this.spare = undefined;
      return z;
    }
    const r = Math.sqrt(-2 * Math.log(1 - this.next()));
    const theta = 2 * Math.PI * this.next();
    this.spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  }
}

/** Fill one parameter tensor; `fanIn` is in_channels/groups * kh * kw for convs, in_features for linear layers */
export function initParameter(rng: Rng, shape: number[], fanIn: number, isBias: boolean): Float32Array {
  const count = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(count);
  if (isBias) {
    const bound = 1 / Math.sqrt(fanIn);
    for (let i = 0; i < count; i++) out[i] = (2 * rng.next() - 1) * bound;
  } else {
    const std = Math.sqrt(2 / fanIn);
    for (let i = 0; i < count; i++) out[i] = rng.normal() * std;
  }
  return out;
}

/** Parse `random` / `random:SEED`; undefined when the spec is not a random-weights request */
export function parseRandomSpec(spec: string): number | undefined {
  const m = /^random(?::(\d+))?$/.exec(spec);
  if (!m) return undefined;
  return m[1] === undefined ? 0 : Number(m[1]);
}
