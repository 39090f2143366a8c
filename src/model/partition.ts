// Which partition of the cluster's span stream a trace belongs to (issue 11): FNV-1a-32 of the
// 16 bytes of its id, mod P. Every span of a trace lands on one partition, so one analyser sees
// the whole trace. The hash is over the id's bytes (not its hex text), so it is the same whatever
// case the id arrived in; FNV-1a is fixed and documented, so every node and version agrees.

/** 32-bit FNV-1a of the bytes of a lowercase (or uppercase) hex string; 0 ≤ result < 2^32. */
export function fnv1a32Hex(hex: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i + 1 < hex.length; i += 2) {
    h ^= (hexDigit(hex.charCodeAt(i)) << 4) | hexDigit(hex.charCodeAt(i + 1));
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  if (c >= 97 && c <= 102) return c - 87; // a-f
  if (c >= 65 && c <= 70) return c - 55; // A-F
  throw new RangeError(`not a hex digit: ${String.fromCharCode(c)}`);
}

/** The partition of a trace: FNV-1a-32 of its 16 id bytes, mod P. `traceId` is 32 hex digits. */
export function partitionOf(traceId: string, partitions: number): number {
  return fnv1a32Hex(traceId) % partitions;
}

