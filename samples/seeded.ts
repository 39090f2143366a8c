// Seeded randomness for generated samples and benchmark inputs: the same seed writes the same bytes.
import type { IdGenerator } from '@opentelemetry/sdk-trace-base';

/** mulberry32: a small, fast 32-bit PRNG; uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Deterministic trace and span ids (the SDK's RandomIdGenerator uses Math.random). */
export class SeededIdGenerator implements IdGenerator {
  constructor(private readonly next: () => number) {}
  private hex(digits: number): string {
    let s = '';
    for (let i = 0; i < digits; i++) s += Math.floor(this.next() * 16).toString(16);
    return /^0+$/.test(s) ? `${s.slice(0, -1)}1` : s;
  }
  generateTraceId(): string {
    return this.hex(32);
  }
  generateSpanId(): string {
    return this.hex(16);
  }
}
