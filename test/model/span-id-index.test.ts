import { describe, expect, it } from 'vitest';
import { SpanIdIndex } from '../../src/model/span-id-index.js';

describe('SpanIdIndex', () => {
  it('maps 16-hex ids to indices, reports the first index of a repeated id, and misses cleanly', () => {
    const n = 50_000;
    const ids = Array.from({ length: n }, (_, i) => (BigInt(i) * 0x9e3779b97f4a7c15n).toString(16).slice(-16).padStart(16, '0'));
    const idx = new SpanIdIndex(n);
    ids.forEach((id, i) => expect(idx.add(id, i)).toBe(-1));
    expect(idx.add(ids[123] ?? '', 999_999)).toBe(123);
    ids.forEach((id, i) => expect(idx.get(id)).toBe(i));
    expect(idx.get('ffffffffffffffff')).toBe(-1);
    // Ids differing only in one half must not collide.
    const a = new SpanIdIndex(4);
    a.add('00000000ffffffff', 0);
    a.add('ffffffff00000000', 1);
    expect([a.get('00000000ffffffff'), a.get('ffffffff00000000'), a.get('0000000000000000')]).toEqual([0, 1, -1]);
  });

  it('keeps ids that are not 16 lowercase hex digits too', () => {
    const idx = new SpanIdIndex(2);
    expect(idx.add('not-hex', 0)).toBe(-1);
    expect(idx.add('not-hex', 1)).toBe(0);
    expect(idx.get('not-hex')).toBe(0);
    expect(idx.get('ABCDEF0123456789')).toBe(-1);
  });
});
