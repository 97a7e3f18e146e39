/**
 * Trace files: what the energy and timing model consumed during a run (the per-tick per-core
 * counters and the NoC summary of every tick, src/hw/account.ts TickRecord), so that the run can
 * be priced on another chip without re-running the network — when that chip's geometry maps the
 * network the same way. Format: traces/README.md (kept in sync with this file).
 *
 *   file    = magic "NEUROTRC" · u32 version · u32 n · header JSON (n bytes, UTF-8) · pad to 4 ·
 *             i32 coreLayer[cores] · i32 coreNeurons[cores] · chunk* · end chunk
 *   chunk   = u32 kind (1 frame, 2 end) · u32 raw bytes · u32 stored bytes · deflate-raw(payload)
 *   frame   = varint ticks · tick* · u8 has-counts · [f64 sops · f64 spikes]
 *   tick    = varint tick · 8 × kind · drain · links on-chip · links off-chip
 *   kind    = varint n · n × (varint core − previous core of this kind, varint value)  (non-zero only)
 *   drain   = varint n · n × (varint E-W hops, varint N-S hops, varint crossings)
 *   links   = varint n · n × (varint directed link id, varint packets)
 * All integers little-endian; varint = unsigned LEB128. Written to FILE.PID.tmp and renamed when
 * complete, so a reader never sees half a trace.
 */
import { checkJsonDepth } from '../util/json.ts';
import { removeStaleTemps } from '../util/atomic.ts';
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { UserError } from '../util/errors.ts';
import { Accountant, type AccountGeometry, type AccountantOptions, type ChipRunResult, type NetworkCounts, type TickRecord } from './account.ts';
import type { ChipParams } from './chip-schema.ts';
import type { Mapping } from './mapper.ts';
import { boardCores, smallestSquareBoard } from './placement.ts';
import { CK, CORE_KIND_NAMES, CORE_KINDS, type NocRoutes } from '../sim/acct.ts';

export const TRACE_MAGIC = 'NEUROTRC';
export const TRACE_VERSION = 1;
const CHUNK_FRAME = 1;
const CHUNK_END = 2;

/** The mapping-relevant fields of a chip: equal fields → the same mapping of any network. */
export interface ChipGeometry {
  chip: { cores: number; tilesX: number; tilesY: number; coresPerTile: number };
  core: { neurons: number; axons: number | null; synapseMemoryBits: number; bitsPerSynapse: number; sharesKernels: boolean; maxFanoutPerNeuron: number | null };
  noc: { multicast: boolean };
  /** absent in traces written before layer delays: 0 (the idealised tick) */
  timing?: { layerDelayTicks: number };
  /** absent in traces written before the rule existed: 'input' */
  activeUpdate?: 'input' | 'nonzero';
}

export interface TraceHeader {
  format: 'neuroemu-trace';
  version: number;
  network: string;
  /** the chip the run was recorded on (NAME or NAME@VARIANT) */
  recordedOn: string;
  /** readout ticks per frame; a frame holds fillTicks + timesteps ticks */
  timesteps: number;
  /** the pipeline fill before the readout ticks (layer delay); absent in older traces: 0 */
  fillTicks?: number;
  seed: number;
  geometry: Omit<AccountGeometry, 'coreLayer' | 'coreNeurons'>;
  fingerprint: {
    chip: ChipGeometry;
    board: { chipsX: number; chipsY: number };
    /** how the board was chosen: the chip file's, given by the caller, or the smallest square that fits */
    boardSource: 'file' | 'given' | 'auto';
    autoBoard: boolean;
    /** sha256 of the placement and the per-core layers and neuron counts (informative) */
    placementHash: string;
  };
  counterKinds: string[];
  arrays: { name: 'coreLayer' | 'coreNeurons'; length: number }[];
  linksPerTick: number;
}

const finiteOrNull = (v: number) => (Number.isFinite(v) ? v : null);

/** The header fields replay reads, each checked, so a corrupt header is a one-line error naming the field. */
function checkHeaderFields(h: TraceHeader, bad: (what: string) => never): void {
  const field = (name: string, ok: boolean) => {
    if (!ok) bad(`corrupt trace header (${name})`);
  };
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const int = (v: unknown, lo: number, hi: number) => Number.isInteger(v) && (v as number) >= lo && (v as number) <= hi;
  field('network', typeof h.network === 'string');
  field('recordedOn', typeof h.recordedOn === 'string');
  field('timesteps: an integer tick count in 1..1000000', int(h.timesteps, 1, 1_000_000));
  field('fillTicks: an integer tick count in 0..100000', h.fillTicks === undefined || int(h.fillTicks, 0, 100_000));
  field('seed', h.seed === null || int(h.seed, 0, 2 ** 32 - 1));
  field('linksPerTick', int(h.linksPerTick, 0, 2 ** 31));
  field('counterKinds', Array.isArray(h.counterKinds) && h.counterKinds.every((k) => typeof k === 'string'));
  field('arrays', Array.isArray(h.arrays));
  const g = h.geometry as unknown;
  field('geometry', isObj(g));
  const geo = g as Record<string, unknown>;
  field('geometry.cores', int(geo.cores, 1, 2 ** 26));
  for (const k of ['chipsUsed', 'tilesUsed', 'meshWidth', 'meshHeight', 'tilesX', 'tilesY'] as const) field(`geometry.${k}`, int(geo[k], 0, 2 ** 31));
  field('geometry.layerNames', Array.isArray(geo.layerNames) && (geo.layerNames as unknown[]).every((n) => typeof n === 'string'));
  const fp = h.fingerprint as unknown;
  field('fingerprint', isObj(fp));
  const f = fp as Record<string, unknown>;
  field('fingerprint.chip', isObj(f.chip));
  for (const k of ['chip', 'core', 'noc'] as const) field(`fingerprint.chip.${k}`, isObj((f.chip as Record<string, unknown>)[k]));
  const timing = (f.chip as Record<string, unknown>).timing;
  field('fingerprint.chip.timing', timing === undefined || (isObj(timing) && int(timing.layerDelayTicks, 0, 1)));
  const rule = (f.chip as Record<string, unknown>).activeUpdate;
  field('fingerprint.chip.activeUpdate', rule === undefined || rule === 'input' || rule === 'nonzero');
  field('fingerprint.board', isObj(f.board) && int((f.board as Record<string, unknown>).chipsX, 1, 2 ** 20) && int((f.board as Record<string, unknown>).chipsY, 1, 2 ** 20));
  field('fingerprint.boardSource', f.boardSource === 'file' || f.boardSource === 'given' || f.boardSource === 'auto');
  field('fingerprint.autoBoard', typeof f.autoBoard === 'boolean');
  field('fingerprint.placementHash', typeof f.placementHash === 'string');
}

export function chipGeometry(c: ChipParams): ChipGeometry {
  return {
    chip: { cores: c.chip.cores, tilesX: c.chip.tilesX, tilesY: c.chip.tilesY, coresPerTile: c.chip.coresPerTile },
    core: {
      neurons: c.core.neurons,
      axons: finiteOrNull(c.core.axons),
      synapseMemoryBits: c.core.synapseMemoryBits,
      bitsPerSynapse: c.core.bitsPerSynapse,
      sharesKernels: c.core.sharesKernels,
      maxFanoutPerNeuron: finiteOrNull(c.core.maxFanoutPerNeuron),
    },
    noc: { multicast: c.noc.multicast },
    timing: { layerDelayTicks: c.timing.layerDelayTicks },
    activeUpdate: c.energy.activeUpdate,
  };
}

export function placementHash(m: Mapping): string {
  const h = createHash('sha256');
  for (const a of [m.placement.meshX, m.placement.meshY, m.placement.chip, m.cores.layer, m.cores.neurons]) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return h.digest('hex');
}

// ---------------------------------------------------------------------------------------------
// bytes

class ByteWriter {
  buf = new Uint8Array(1 << 16);
  n = 0;
  private ensure(k: number): void {
    if (this.n + k <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.n + k) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.n));
    this.buf = b;
  }
  varint(v: number): void {
    if (!(v >= 0) || !Number.isInteger(v)) throw new Error(`trace: cannot store ${v} as an unsigned integer`);
    this.ensure(10);
    while (v >= 128) {
      this.buf[this.n++] = (v % 128) | 128;
      v = Math.floor(v / 128);
    }
    this.buf[this.n++] = v;
  }
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.n++] = v;
  }
  f64(v: number): void {
    this.ensure(8);
    new DataView(this.buf.buffer).setFloat64(this.n, v, true);
    this.n += 8;
  }
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.n);
  }
  reset(): void {
    this.n = 0;
  }
}

class ByteReader {
  p = 0;
  private dv: DataView;
  constructor(private readonly b: Uint8Array, readonly where: string) {
    this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  private need(k: number): void {
    if (this.p + k > this.b.length) throw new UserError(`${this.where}: truncated trace (a record ends past the data)`);
  }
  varint(): number {
    let v = 0, mul = 1;
    for (;;) {
      this.need(1);
      const x = this.b[this.p++];
      v += (x & 127) * mul;
      if (x < 128) return v;
      mul *= 128;
      if (mul > 2 ** 56) throw new UserError(`${this.where}: corrupt trace (varint too long)`);
    }
  }
  u8(): number {
    this.need(1);
    return this.b[this.p++];
  }
  f64(): number {
    this.need(8);
    const v = this.dv.getFloat64(this.p, true);
    this.p += 8;
    return v;
  }
  /** a varint that fits the Int32Array counters (a larger one would wrap to a negative count) */
  i32(): number {
    const v = this.varint();
    if (v > 0x7fffffff) throw new UserError(`${this.where}: corrupt trace (a count of ${v} is beyond the 2^31 a counter holds)`);
    return v;
  }
  get remaining(): number {
    return this.b.length - this.p;
  }
  get done(): boolean {
    return this.p >= this.b.length;
  }
}

function u32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, true);
  return b;
}

function encodeTick(w: ByteWriter, rec: TickRecord, cores: number): void {
  w.varint(rec.tick);
  const c = rec.core;
  for (let k = 0; k < CORE_KINDS; k++) {
    let n = 0;
    for (let i = k; i < c.length; i += CORE_KINDS) if (c[i] !== 0) n++;
    w.varint(n);
    let prev = 0;
    for (let core = 0; core < cores; core++) {
      const v = c[core * CORE_KINDS + k];
      if (v === 0) continue;
      w.varint(core - prev);
      w.varint(v);
      prev = core;
    }
  }
  for (const arr of [rec.drain]) {
    w.varint(arr.length / 3);
    for (let i = 0; i < arr.length; i++) w.varint(arr[i]);
  }
  for (const arr of [rec.linksOn, rec.linksOff]) {
    w.varint(arr.length / 2);
    for (let i = 0; i < arr.length; i++) w.varint(arr[i]);
  }
}

function decodeTick(r: ByteReader, cores: number, coreNeurons: Int32Array): TickRecord {
  const tick = r.varint();
  const core = new Int32Array(cores * CORE_KINDS);
  for (let k = 0; k < CORE_KINDS; k++) {
    const n = r.varint();
    let at = 0;
    for (let i = 0; i < n; i++) {
      at += r.varint();
      if (at >= cores) throw new UserError(`${r.where}: corrupt trace: tick ${tick} names core ${at} of ${cores}`);
      core[at * CORE_KINDS + k] = r.i32();
    }
  }
  for (let at = 0; at < cores; at++) {
    const active = core[at * CORE_KINDS + CK.active];
    if (active > coreNeurons[at]) throw new UserError(`${r.where}: corrupt trace: tick ${tick} gives core ${at} ${active} active neuron updates, but it has ${coreNeurons[at]} neurons`);
  }
  const list = (per: number) => {
    const n = r.varint();
    // every entry takes at least one byte: a longer list is corrupt (and must not be allocated)
    if (n * per > r.remaining) throw new UserError(`${r.where}: corrupt trace: tick ${tick} lists ${n} entries, more than the frame holds`);
    const a = new Int32Array(n * per);
    for (let i = 0; i < a.length; i++) a[i] = r.i32();
    return a;
  };
  const drain = list(3);
  const linksOn = list(2);
  const linksOff = list(2);
  return { tick, core, drain, linksOn, linksOff };
}

// ---------------------------------------------------------------------------------------------
// writing

export interface TraceMeta {
  mapping: Mapping;
  geometry: AccountGeometry;
  routes: NocRoutes;
  timesteps: number;
  /** ticks before the readout ticks in every frame (layer delay) */
  fillTicks?: number;
  seed: number;
  autoBoard: boolean;
}

/** Writes a trace frame by frame (see the module comment); close() makes the file appear. */
export class TraceWriter {
  private fd: number;
  private readonly tmp: string;
  private readonly w = new ByteWriter();
  private ticks = 0;
  private closed = false;

  private constructor(readonly file: string, private readonly cores: number, head: Uint8Array) {
    this.tmp = `${file}.${process.pid}.tmp`;
    removeStaleTemps(file);
    try {
      mkdirSync(dirname(file), { recursive: true });
      this.fd = openSync(this.tmp, 'w');
    } catch (e) {
      throw new UserError(`${file}: cannot write the trace (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    writeSync(this.fd, head);
  }

  static create(file: string, meta: TraceMeta): TraceWriter {
    const m = meta.mapping, g = meta.geometry;
    const { coreLayer, coreNeurons, ...geometry } = g;
    const boardSource: TraceHeader['fingerprint']['boardSource'] = m.boardNote.includes('(given)') ? 'given' : m.boardNote.includes('(auto') ? 'auto' : 'file';
    const header: TraceHeader = {
      format: 'neuroemu-trace',
      version: TRACE_VERSION,
      network: m.network,
      recordedOn: m.chipName,
      timesteps: meta.timesteps,
      ...(meta.fillTicks ? { fillTicks: meta.fillTicks } : {}),
      seed: meta.seed,
      geometry,
      fingerprint: { chip: chipGeometry(m.chip), board: { ...m.board }, boardSource, autoBoard: meta.autoBoard, placementHash: placementHash(m) },
      counterKinds: [...CORE_KIND_NAMES],
      arrays: [{ name: 'coreLayer', length: g.cores }, { name: 'coreNeurons', length: g.cores }],
      linksPerTick: 16,
    };
    const json = new TextEncoder().encode(JSON.stringify(header));
    const pad = (4 - ((16 + json.length) % 4)) % 4;
    const head = new Uint8Array(16 + json.length + pad + 8 * g.cores);
    head.set(new TextEncoder().encode(TRACE_MAGIC), 0);
    head.set(u32(TRACE_VERSION), 8);
    head.set(u32(json.length), 12);
    head.set(json, 16);
    const dv = new DataView(head.buffer);
    let at = 16 + json.length + pad;
    for (const a of [coreLayer, coreNeurons]) for (let i = 0; i < g.cores; i++, at += 4) dv.setInt32(at, a[i], true);
    return new TraceWriter(file, g.cores, head);
  }

  tick(rec: TickRecord): void {
    if (this.ticks === 0) this.w.reset();
    this.ticks++;
    encodeTick(this.w, rec, this.cores);
  }

  endFrame(network: NetworkCounts | null): void {
    const body = this.w.bytes().slice();
    const w = new ByteWriter();
    w.varint(this.ticks);
    const out = new Uint8Array(w.n + body.length + 17);
    out.set(w.bytes(), 0);
    out.set(body, w.n);
    const tail = new ByteWriter();
    tail.u8(network ? 1 : 0);
    if (network) {
      tail.f64(network.sops);
      tail.f64(network.spikes);
    }
    out.set(tail.bytes(), w.n + body.length);
    const raw = out.subarray(0, w.n + body.length + tail.n);
    this.chunk(CHUNK_FRAME, raw);
    this.ticks = 0;
    this.w.reset();
  }

  private chunk(kind: number, raw: Uint8Array): void {
    const z = deflateRawSync(raw);
    writeSync(this.fd, u32(kind));
    writeSync(this.fd, u32(raw.length));
    writeSync(this.fd, u32(z.length));
    writeSync(this.fd, z);
  }

  close(): void {
    if (this.closed) return;
    this.chunk(CHUNK_END, new Uint8Array(0));
    closeSync(this.fd);
    this.closed = true;
    try {
      renameSync(this.tmp, this.file);
    } catch (e) {
      throw new UserError(`${this.file}: cannot write the trace (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  }

  /** Drops a half-written trace. */
  abort(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      closeSync(this.fd);
      unlinkSync(this.tmp);
    } catch {
      // nothing to clean
    }
  }
}

/**
 * Joins traces of consecutive parts of one run (the same network, chip, mapping and settings, each
 * frame in exactly one part, in frame order) into `file`: the header of the first, then every
 * part's frame chunks, then one end chunk. Frames are independent chunks, so the result is the
 * bytes one writer would have written for the whole run. The parts' headers must be identical.
 */
export function concatTraces(parts: string[], file: string): void {
  if (parts.length === 0) throw new Error('concatTraces: no parts');
  const datas = parts.map((f) => readFileSync(f));
  const headEnd = (b: Uint8Array, f: string) => {
    readTrace(f); // a complete, well-formed trace
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const n = dv.getUint32(12, true);
    const header = JSON.parse(new TextDecoder().decode(b.subarray(16, 16 + n))) as TraceHeader;
    return 16 + n + ((4 - ((16 + n) % 4)) % 4) + 8 * header.geometry.cores;
  };
  const chunksOf = (b: Uint8Array, from: number) => {
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    let at = from;
    while (dv.getUint32(at, true) === CHUNK_FRAME) at += 12 + dv.getUint32(at + 8, true);
    return { frames: b.subarray(from, at), end: b.subarray(at) };
  };
  const h0 = headEnd(datas[0], parts[0]);
  const head = datas[0].subarray(0, h0);
  const pieces: Uint8Array[] = [head];
  let end: Uint8Array = new Uint8Array(0);
  datas.forEach((b, k) => {
    const h = headEnd(b, parts[k]);
    if (h !== h0 || Buffer.compare(b.subarray(0, h), head) !== 0) throw new Error(`concatTraces: ${parts[k]} was not recorded with the same header as ${parts[0]}`);
    const c = chunksOf(b, h);
    pieces.push(c.frames);
    end = c.end;
  });
  pieces.push(end);
  const tmp = `${file}.${process.pid}.tmp`;
  removeStaleTemps(file);
  try {
    mkdirSync(dirname(file), { recursive: true });
    const fd = openSync(tmp, 'w');
    try {
      for (const p of pieces) writeSync(fd, p);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (e) {
    try { unlinkSync(tmp); } catch { /* nothing to clean */ }
    throw new UserError(`${file}: cannot write the trace (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

// ---------------------------------------------------------------------------------------------
// reading

export interface TraceFrame {
  ticks: TickRecord[];
  network: NetworkCounts | null;
}

export interface Trace {
  file: string;
  header: TraceHeader;
  geometry: AccountGeometry;
  /** decodes the frames one at a time */
  frames(): Generator<TraceFrame>;
}

export function readTrace(file: string): Trace {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`${file}: cannot read the trace${code === 'ENOENT' ? ' (no such file)' : code ? ` (${code})` : ''}`);
  }
  const bad = (what: string): never => {
    throw new UserError(`${file}: ${what}`);
  };
  if (bytes.length < 16 || new TextDecoder().decode(bytes.subarray(0, 8)) !== TRACE_MAGIC) bad('not a neuroemu trace (no NEUROTRC magic)');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(8, true);
  if (version !== TRACE_VERSION) bad(`trace format version ${version}; this neuroemu reads version ${TRACE_VERSION}`);
  const n = dv.getUint32(12, true);
  if (16 + n > bytes.length) bad('truncated trace (header)');
  let header: TraceHeader;
  try {
    const text = new TextDecoder().decode(bytes.subarray(16, 16 + n));
    checkJsonDepth(text, "header");
    header = JSON.parse(text);
  } catch (e) {
    return bad(`corrupt trace header: ${(e as Error).message}`);
  }
  if (header.format !== 'neuroemu-trace') bad('not a neuroemu trace (header format)');
  checkHeaderFields(header, bad);
  const cores = header.geometry.cores;
  const pad = (4 - ((16 + n) % 4)) % 4;
  let at = 16 + n + pad;
  if (at + 8 * cores > bytes.length) bad('truncated trace (core arrays)');
  const arr = () => {
    const a = new Int32Array(cores);
    for (let i = 0; i < cores; i++, at += 4) a[i] = dv.getInt32(at, true);
    return a;
  };
  const coreLayer = arr();
  const coreNeurons = arr();
  // the arrays carry no checksum: at least keep them to what the header's geometry allows
  const layerCount = header.geometry.layerNames.length, perCore = (header.fingerprint.chip.core as { neurons?: unknown }).neurons;
  for (let c = 0; c < cores; c++) {
    if (!(coreLayer[c] >= 0 && coreLayer[c] < layerCount)) bad(`corrupt trace: core ${c} is on layer ${coreLayer[c]}, the network has ${layerCount}`);
    if (!(coreNeurons[c] >= 0 && (typeof perCore !== 'number' || coreNeurons[c] <= perCore))) bad(`corrupt trace: core ${c} holds ${coreNeurons[c]} neurons, a core has ${String(perCore)}`);
  }
  // per tick at most: the tick, per counter kind a count and (core step, value) per core, the NoC
  // drain (3 values per entry, at most a few per core) and the link lists; varints ≤ 10 bytes
  const frameTicks = header.timesteps + (header.fillTicks ?? 0);
  const maxFrameBytes = 64 + frameTicks * (10 + CORE_KINDS * (10 + 20 * cores) + 3 * 10 * 4 * cores + 2 * 2 * 10 * (header.linksPerTick + 1) + 20) + 20;
  const geometry: AccountGeometry = { ...header.geometry, coreLayer, coreNeurons };
  const start = at;
  // the end chunk must be there: a trace without it was not closed
  function* frames(): Generator<TraceFrame> {
    let p = start;
    for (;;) {
      if (p + 12 > bytes.length) bad('truncated trace (no end chunk: the run did not finish writing it)');
      const kind = dv.getUint32(p, true), rawLen = dv.getUint32(p + 4, true), zLen = dv.getUint32(p + 8, true);
      p += 12;
      if (p + zLen > bytes.length) bad('truncated trace (a chunk ends past the file)');
      if (kind === CHUNK_END) return;
      if (kind !== CHUNK_FRAME) bad(`corrupt trace (chunk kind ${kind})`);
      // a frame cannot hold more than its ticks can say: refuse a larger claim, and inflate no
      // further than the claim (a small file must not inflate to gigabytes)
      if (rawLen > maxFrameBytes) bad(`corrupt trace (a frame claims ${rawLen} bytes, more than ${frameTicks} ticks of ${cores} cores can hold: ${maxFrameBytes})`);
      let raw: Uint8Array;
      try {
        raw = inflateRawSync(bytes.subarray(p, p + zLen), { maxOutputLength: Math.max(1, rawLen) });
      } catch (e) {
        return bad(`corrupt trace (a frame does not inflate: ${(e as Error).message})`);
      }
      if (raw.length !== rawLen) bad('corrupt trace (frame length)');
      p += zLen;
      const r = new ByteReader(raw, file);
      const nt = r.varint();
      // a trace is recorded without a stopping rule: every frame runs the header's ticks
      if (nt !== frameTicks) bad(`corrupt trace (a frame of ${nt} ticks, the header says ${frameTicks})`);
      const ticks: TickRecord[] = [];
      for (let i = 0; i < nt; i++) ticks.push(decodeTick(r, cores, coreNeurons));
      const has = r.u8();
      if (has > 1) bad(`corrupt trace (a frame's has-counts byte is ${has})`);
      const network = has ? { sops: r.f64(), spikes: r.f64() } : null;
      if (network && !(Number.isFinite(network.sops) && network.sops >= 0 && Number.isFinite(network.spikes) && network.spikes >= 0)) bad(`corrupt trace (a frame counts ${network.sops} SOPs and ${network.spikes} spikes)`);
      if (!r.done) bad(`corrupt trace (${raw.length - r.p} bytes after a frame's records)`);
      yield { ticks, network };
    }
  }
  return { file, header, geometry, frames };
}

// ---------------------------------------------------------------------------------------------
// replay

const GEOMETRY_FIELDS: [string, string, (g: ChipGeometry) => unknown][] = [
  ['core geometry', 'neurons per core', (g) => g.core.neurons],
  ['core geometry', 'axons per core', (g) => g.core.axons ?? 'unlimited'],
  ['core geometry', 'synapse memory per core (bits)', (g) => g.core.synapseMemoryBits],
  ['core geometry', 'bits per synapse', (g) => g.core.bitsPerSynapse],
  ['core geometry', 'kernel sharing', (g) => g.core.sharesKernels],
  ['core geometry', 'fan-out per neuron', (g) => g.core.maxFanoutPerNeuron ?? 'unlimited'],
  ['chip geometry', 'cores per chip', (g) => g.chip.cores],
  ['chip geometry', 'tiles per chip', (g) => `${g.chip.tilesX}x${g.chip.tilesY}`],
  ['chip geometry', 'cores per tile', (g) => g.chip.coresPerTile],
  ['NoC', 'multicast', (g) => g.noc.multicast],
  ['timing', 'layer delay (ticks)', (g) => g.timing?.layerDelayTicks ?? 0],
  ['accounting', 'active-update rule', (g) => g.activeUpdate ?? 'input'],
];

/**
 * Why `chip` would map the recorded network differently, or null when it maps it the same way
 * (same core, chip and NoC geometry, and the board the mapper would take is the recorded one).
 */
export function replayMismatch(h: TraceHeader, chip: ChipParams): string | null {
  const rec = h.fingerprint.chip, other = chipGeometry(chip);
  for (const [what, label, get] of GEOMETRY_FIELDS) {
    const a = get(rec), b = get(other);
    if (a !== b) return `different ${what}: ${label} ${a} vs ${b}`;
  }
  const fp = h.fingerprint;
  const cores = h.geometry.cores;
  let board = chip.board;
  if (fp.boardSource === 'given') board = fp.board;
  else if (cores > boardCores(chip, chip.board)) {
    if (!fp.autoBoard) return `the network's ${cores} cores do not fit the ${chip.board.chipsX}x${chip.board.chipsY} board of ${chip.name}`;
    board = smallestSquareBoard(chip, cores);
  }
  if (board.chipsX !== fp.board.chipsX || board.chipsY !== fp.board.chipsY)
    return `different board: ${fp.board.chipsX}x${fp.board.chipsY} chips vs ${board.chipsX}x${board.chipsY} (placement and routes would differ)`;
  return null;
}

/**
 * Prices a recorded run on `chip`: the recorded TickRecords fed to an Accountant with the chip's
 * energy and timing constants. Refused (UserError) when the chip's geometry would map the network
 * differently.
 */
export function replayTrace(file: string, chip: ChipParams, opts: AccountantOptions & { onProgress?: (line: string) => void } = {}): ChipRunResult {
  return replayTraceOnChips(file, [chip], opts)[0];
}

/**
 * replayTrace on several chips in one pass over the trace (decoding the trace costs more than
 * pricing it: a design-space sweep prices a group's points this way).
 */
export function replayTraceOnChips(file: string, chips: ChipParams[], opts: AccountantOptions & { onProgress?: (line: string) => void } = {}): ChipRunResult[] {
  const t = readTrace(file);
  const accountants = chips.map((chip) => {
    const why = replayMismatch(t.header, chip);
    const name = chip.variant ? `${chip.name}@${chip.variant}` : chip.name;
    if (why) throw new UserError(`${file}: cannot replay on ${name}: ${why} (recorded on ${t.header.recordedOn})`);
    return new Accountant(chip, t.geometry, opts);
  });
  let i = 0;
  for (const f of t.frames()) {
    for (const acc of accountants) {
      for (const rec of f.ticks) acc.tick(rec);
      acc.endFrame(f.network);
    }
    opts.onProgress?.(`replay: frame ${++i}`);
  }
  return accountants.map((acc) => acc.result({
    timesteps: t.header.timesteps,
    fillTicks: t.header.fillTicks ?? 0,
    seed: t.header.seed,
    notes: [`replayed from ${file}, recorded on ${t.header.recordedOn} (same mapping: ${t.header.fingerprint.placementHash.slice(0, 12)})`],
  }));
}
