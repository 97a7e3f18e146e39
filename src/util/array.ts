/**
 * Math.max(init, ...values) and Math.min(init, ...values) without spreading the list into
 * arguments: a spread overflows the call stack beyond about 120,000 values (seen with a detector
 * that found 241,200 boxes). NaN anywhere gives NaN, as Math.max does.
 */
export function maxOf(values: Iterable<number>, init = -Infinity): number {
  let m = init;
  for (const v of values) if (v > m || Number.isNaN(v)) m = Number.isNaN(m) ? m : v;
  return m;
}

export function minOf(values: Iterable<number>, init = Infinity): number {
  let m = init;
  for (const v of values) if (v < m || Number.isNaN(v)) m = Number.isNaN(m) ? m : v;
  return m;
}

/** Appends every item of `items` to `out` (no spread: safe for any length). */
export function appendAll<T>(out: T[], items: Iterable<T>): T[] {
  for (const x of items) out.push(x);
  return out;
}

/** An Int32Array that grows by doubling (tables built without knowing their size first). */
export class Growable {
  a: Int32Array;
  n = 0;
  constructor(cap: number) {
    this.a = new Int32Array(Math.max(16, cap));
  }
  reserve(k: number): void {
    if (this.n + k <= this.a.length) return;
    let cap = this.a.length * 2;
    while (cap < this.n + k) cap *= 2;
    const b = new Int32Array(cap);
    b.set(this.a.subarray(0, this.n));
    this.a = b;
  }
  push(v: number): void {
    if (this.n === this.a.length) this.reserve(1);
    this.a[this.n++] = v;
  }
  /** the filled part (a view: no copy, fresh memory is slow to touch on some VMs) */
  done(): Int32Array {
    return this.a.subarray(0, this.n);
  }
}

/** FNV-1a over the first n ints of a: the content hash of a record for HashSlots. */
export function hashInts(a: Int32Array, n: number): number {
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < n; i++) h = Math.imul(h ^ a[i], 16777619);
  return h;
}

/**
 * Open-addressing table from a 32-bit content hash to non-negative int32 values (no deletions),
 * for deduplicating records stored elsewhere: the caller says whether a candidate value holds the
 * same content. Grows to keep at most half its slots used.
 */
export class HashSlots {
  private slots: Int32Array;
  private hashes: Int32Array;
  private used = 0;
  constructor(capacityPow2 = 1 << 12) {
    this.slots = new Int32Array(capacityPow2).fill(-1);
    this.hashes = new Int32Array(capacityPow2);
  }
  /** the first value stored under `hash` for which `same` holds, or −1 */
  find(hash: number, same: (value: number) => boolean): number {
    const s = this.slots, h = this.hashes, mask = s.length - 1;
    for (let i = hash & mask; s[i] !== -1; i = (i + 1) & mask) if (h[i] === hash && same(s[i])) return s[i];
    return -1;
  }
  add(hash: number, value: number): void {
    if (2 * (this.used + 1) > this.slots.length) {
      const os = this.slots, oh = this.hashes;
      this.slots = new Int32Array(os.length * 2).fill(-1);
      this.hashes = new Int32Array(os.length * 2);
      for (let i = 0; i < os.length; i++) if (os[i] !== -1) this.put(oh[i], os[i]);
    }
    this.put(hash, value);
    this.used++;
  }
  private put(hash: number, value: number): void {
    const s = this.slots, mask = s.length - 1;
    let i = hash & mask;
    while (s[i] !== -1) i = (i + 1) & mask;
    s[i] = value;
    this.hashes[i] = hash;
  }
}
