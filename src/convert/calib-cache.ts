/**
 * Calibration results cached by content, so a second command on the same network and photos
 * does not recalibrate (issue 11). The key is a sha256 of the network as loaded (every layer's
 * fields and weight bytes, the input and preprocessing; not its file names), the histogram
 * layout and the calibration images' bytes in order: any change to what calibration reads gives
 * another key. A file holds the exact statistics (float64 extremes, uint32 histograms), so a
 * cached calibration converts to the same bytes as a fresh one.
 *
 * Location: $NEUROEMU_CACHE_DIR/calibration, default .cache/calibration in the project;
 * NEUROEMU_CACHE_DIR=off disables the cache. A damaged or foreign file is ignored (recomputed);
 * the CACHE_ENTRIES most recently written entries are kept.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Network } from '../model/ir.ts';
import { PROJECT_ROOT } from '../model/load.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { ActivationStats, HIST_BINS } from './calibrate.ts';

const MAGIC = 'neuroemu-calibration-1';
/** Entries kept (the most recently written); a face-detector entry at 416 is about 24 MB. */
export const CACHE_ENTRIES = 24;

/** The cache folder, or null when disabled. */
export function calibrationCacheDir(): string | null {
  const env = process.env.NEUROEMU_CACHE_DIR;
  if (env === 'off') return null;
  return join(env && env.length ? env : join(PROJECT_ROOT, '.cache'), 'calibration');
}

/** sha256 of everything in the network that the forward pass reads, file names aside. */
export function networkHash(net: Network): string {
  const h = createHash('sha256');
  const walk = (v: unknown, depth: number): void => {
    if (depth > 64) throw new Error('networkHash: structure too deep');
    if (ArrayBuffer.isView(v)) {
      h.update(`<${v.constructor.name}:${v.byteLength}>`);
      h.update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    } else if (Array.isArray(v)) {
      h.update('[');
      for (const x of v) walk(x, depth + 1);
      h.update(']');
    } else if (v !== null && typeof v === 'object') {
      h.update('{');
      for (const k of Object.keys(v).sort()) {
        if (k === 'source' || k === 'file') continue; // where it was read from does not change what it computes
        h.update(JSON.stringify(k));
        walk((v as Record<string, unknown>)[k], depth + 1);
      }
      h.update('}');
    } else if (typeof v !== 'function') h.update(JSON.stringify(v) ?? 'undefined');
  };
  walk(net, 0);
  return h.digest('hex');
}

export function calibrationKey(net: Network, imageHashes: string[], engine: string): string {
  return createHash('sha256').update(JSON.stringify({ magic: MAGIC, net: networkHash(net), bins: HIST_BINS, engine, images: imageHashes })).digest('hex');
}

interface LayerHeader {
  layer: number;
  channels: number;
  count: number;
  neg: boolean;
}

/** The statistics as bytes: a JSON header line (with the body's sha256), then the arrays. */
export function encodeStats(stats: ActivationStats, key: string): Uint8Array {
  const parts: Uint8Array[] = [];
  const layers: LayerHeader[] = [];
  for (const s of stats.layers.values()) {
    layers.push({ layer: s.layer, channels: s.channels, count: s.count, neg: !!s.negHist });
    for (const a of [s.max, s.min, s.minPos, s.minNegAbs, s.posHist, ...(s.negHist ? [s.negHist] : [])]) parts.push(new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength)));
  }
  const body = Buffer.concat(parts);
  const header = JSON.stringify({ magic: MAGIC, key, bins: HIST_BINS, images: stats.images, hashes: stats.hashes, layers, bodyBytes: body.length, bodySha256: createHash('sha256').update(body).digest('hex') });
  return Buffer.concat([Buffer.from(header + '\n'), body]);
}

/** Statistics for `net` from bytes written by encodeStats under `key`, or null if they do not fit. */
export function decodeStats(bytes: Uint8Array, net: Network, key: string): ActivationStats | null {
  const nl = bytes.indexOf(10);
  if (nl < 0 || nl > 1 << 24) return null;
  let hdr: { magic: string; key: string; bins: number; images: string[]; hashes: string[]; layers: LayerHeader[]; bodyBytes: number; bodySha256: string };
  try {
    hdr = JSON.parse(Buffer.from(bytes.subarray(0, nl)).toString('utf8'));
  } catch {
    return null;
  }
  const body = bytes.subarray(nl + 1);
  if (hdr?.magic !== MAGIC || hdr.key !== key || hdr.bins !== HIST_BINS || hdr.bodyBytes !== body.length) return null;
  if (createHash('sha256').update(body).digest('hex') !== hdr.bodySha256) return null;
  const stats = new ActivationStats(net);
  if (!Array.isArray(hdr.layers) || hdr.layers.length !== stats.layers.size) return null;
  let at = 0;
  const take = <T extends Float64Array | Uint32Array>(into: T): boolean => {
    const n = into.byteLength;
    if (at + n > body.length) return false;
    new Uint8Array(into.buffer, into.byteOffset, n).set(body.subarray(at, at + n));
    at += n;
    return true;
  };
  for (const l of hdr.layers) {
    const s = stats.layers.get(l.layer);
    if (!s || s.channels !== l.channels || !!s.negHist !== l.neg) return null;
    s.count = l.count;
    for (const a of [s.max, s.min, s.minPos, s.minNegAbs, s.posHist, ...(s.negHist ? [s.negHist] : [])]) if (!take(a)) return null;
  }
  if (at !== body.length) return null;
  stats.images.push(...hdr.images);
  stats.hashes.push(...hdr.hashes);
  return stats;
}

/** The cached statistics of this key, or null (absent, disabled, damaged). */
export function readCachedStats(net: Network, key: string): ActivationStats | null {
  const dir = calibrationCacheDir();
  if (!dir) return null;
  const file = join(dir, `${key}.bin`);
  if (!existsSync(file)) return null;
  try {
    return decodeStats(readFileSync(file), net, key);
  } catch {
    return null;
  }
}

/** Stores the statistics under their key (atomically; a failure to write only loses the cache). */
export function writeCachedStats(stats: ActivationStats, key: string): void {
  const dir = calibrationCacheDir();
  if (!dir) return;
  try {
    mkdirSync(dir, { recursive: true });
    writeFileAtomic(join(dir, `${key}.bin`), encodeStats(stats, key));
    const entries = readdirSync(dir).filter((f) => /^[0-9a-f]{64}\.bin$/.test(f)).map((f) => ({ f, t: statSync(join(dir, f)).mtimeMs }));
    entries.sort((a, b) => b.t - a.t || (a.f < b.f ? -1 : 1));
    for (const e of entries.slice(CACHE_ENTRIES)) rmSync(join(dir, e.f), { force: true });
  } catch {
    // a read-only or full disk: calibrate again next time
  }
}
