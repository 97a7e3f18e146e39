/**
 * The design space of a sweep: `--vary PATH=VALUES` axes, their cross product, and each point's
 * configuration, validated before anything runs.
 *
 *   PATH   a chip field by its dotted path in the chip file (core.neurons, energy.synop_pJ,
 *          timing.synop_ns, noc.multicast, ...), or a run field: timesteps, thresholds (a file
 *          written by `neuroemu tune`, or none), norm, statistic, neuron, placement.
 *   VALUES a list `a,b,c`, or an inclusive range `LO:HI:STEP` (10:30:5 = 10,15,20,25,30).
 *
 * The first axis is the outermost loop: point k's coordinates are k's digits in the mixed radix
 * of the axis sizes, last axis fastest. Points that differ only in fields the mapper and the
 * simulator never read (energy and timing constants, tick rule, link bandwidth) share a
 * simulation group: one emulation with a trace, the others priced by replaying it.
 */
import { createHash } from 'node:crypto';
import { chipGeometry } from '../hw/trace.ts';
import { chipWithOverrides, loadChip, type Chip } from '../hw/chip-schema.ts';
import { UserError } from '../util/errors.ts';

export type AxisValue = number | string | boolean;

export interface Axis {
  path: string;
  values: AxisValue[];
  /** true for a chip field, false for a run field */
  chip: boolean;
}

/** Run fields a sweep may vary besides chip fields, with the check of one value. */
export const RUN_FIELDS: Record<string, (v: AxisValue) => string | null> = {
  timesteps: (v) => (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 1_000_000 ? null : 'expected an integer number of ticks in 1..1000000'),
  thresholds: (v) => (typeof v === 'string' && v.length > 0 ? null : 'expected a thresholds file (neuroemu tune --out) or none'),
  norm: (v) => (v === 'channel' || v === 'layer' || v === 'percentile' ? null : 'expected channel, layer or percentile'),
  statistic: (v) => (v === 'max' || (typeof v === 'number' && v > 0 && v <= 100) ? null : 'expected max or a percentile in (0, 100]'),
  neuron: (v) => (v === 'ibt' || v === 'if' ? null : 'expected ibt or if'),
  placement: (v) => (v === 'layers' || v === 'regions' ? null : 'expected layers or regions'),
};

export const MAX_POINTS = 1_000_000;

function parseScalar(s: string): AxisValue {
  const t = s.trim();
  if (t === 'true') return true;
  if (t === 'false') return false;
  if (t !== '' && Number.isFinite(Number(t))) return Number(t);
  return t;
}

/** Parses one `--vary PATH=VALUES` argument. */
export function parseAxis(arg: string): Axis {
  const eq = arg.indexOf('=');
  const bad = (what: string): never => {
    throw new UserError(`--vary ${arg}: ${what}`);
  };
  if (eq <= 0) bad('expected PATH=VALUES, e.g. core.neurons=256,512,1024 or energy.synop_pJ=10:30:5');
  const path = arg.slice(0, eq).trim().replace(/\.value$/, '');
  const spec = arg.slice(eq + 1).trim();
  if (!/^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/.test(path)) bad(`"${path}" is not a field path (dotted names such as energy.synop_pJ)`);
  if (spec === '') bad('no values');
  let values: AxisValue[];
  const range = /^([^:,]+):([^:,]+):([^:,]+)$/.exec(spec);
  if (range) {
    const [lo, hi, step] = range.slice(1).map(Number);
    if (![lo, hi, step].every(Number.isFinite)) bad(`range "${spec}": LO:HI:STEP must be numbers`);
    if (step <= 0) bad(`range "${spec}": STEP must be > 0`);
    if (hi < lo) bad(`range "${spec}": HI must be >= LO`);
    const n = Math.floor((hi - lo) / step + 1e-9) + 1;
    if (n > MAX_POINTS) bad(`range "${spec}" has ${n} values`);
    // integer multiples of the step from LO, printed without binary noise (0.1+0.2 → 0.3)
    values = Array.from({ length: n }, (_, k) => Number((lo + k * step).toPrecision(12)));
  } else {
    if (spec.includes(':')) bad(`"${spec}": a range is LO:HI:STEP (three numbers)`);
    values = spec.split(',').map(parseScalar);
    if (values.some((v) => v === '')) bad('an empty value in the list');
  }
  const seen = new Set<string>();
  for (const v of values) {
    const k = JSON.stringify(v);
    if (seen.has(k)) bad(`the value ${k} is listed twice`);
    seen.add(k);
  }
  const runCheck = RUN_FIELDS[path];
  if (runCheck) for (const v of values) {
    const why = runCheck(v);
    if (why) bad(`${path} ${JSON.stringify(v)}: ${why}`);
  }
  return { path, values, chip: !runCheck };
}

/** `--max-points` when not given: a sweep of more points must say so (each point is a row, many a simulation) */
export const DEFAULT_MAX_POINTS = 10_000;

export function parseAxes(args: string[], maxPoints = DEFAULT_MAX_POINTS): Axis[] {
  const axes = args.map(parseAxis);
  const seen = new Set<string>();
  for (const a of axes) {
    if (seen.has(a.path)) throw new UserError(`--vary ${a.path}: the field is varied twice (give its values in one --vary)`);
    seen.add(a.path);
  }
  const n = axes.reduce((p, a) => p * a.values.length, 1);
  const cap = Math.min(maxPoints, MAX_POINTS);
  if (n > cap) throw new UserError(`--vary: the cross product has ${n.toLocaleString('en-US')} points, more than ${cap.toLocaleString('en-US')} (${cap < MAX_POINTS ? `--max-points, at most ${MAX_POINTS.toLocaleString('en-US')}` : 'the most a sweep holds'})`);
  return axes;
}

/** What the run fields are when not varied. */
export interface RunSettings {
  timesteps: number;
  thresholds: string | null;
  norm: string;
  statistic: 'max' | number | null;
  neuron: string;
  /** core order along the placement path (src/hw/mapper.ts) */
  placement: string;
}

export interface SweepPoint {
  /** index in the full cross product (0-based) */
  index: number;
  /** the varied fields' values, in axis order */
  values: AxisValue[];
  /** `core.neurons=512 energy.synop_pJ=15` */
  label: string;
  /** chip fields set on the base chip */
  chipSet: Record<string, AxisValue>;
  run: RunSettings;
  /** points with equal keys are one simulation (same network, ticks and chip geometry) */
  simKey: string;
  /** the conversion this point needs (norm, statistic, neuron, thresholds) */
  snnKey: string;
}

export function pointCount(axes: Axis[]): number {
  return axes.reduce((p, a) => p * a.values.length, 1);
}

/** The point at `index` of the cross product, without its chip (see validatePoints). */
export function pointAt(axes: Axis[], index: number, fixed: RunSettings): Omit<SweepPoint, 'simKey'> {
  const values: AxisValue[] = new Array(axes.length);
  let r = index;
  for (let a = axes.length - 1; a >= 0; a--) {
    const n = axes[a].values.length;
    values[a] = axes[a].values[r % n];
    r = Math.floor(r / n);
  }
  const chipSet: Record<string, AxisValue> = {};
  const run: RunSettings = { ...fixed };
  axes.forEach((ax, a) => {
    const v = values[a];
    if (ax.chip) chipSet[ax.path] = v;
    else if (ax.path === 'thresholds') run.thresholds = v === 'none' ? null : String(v);
    else (run as unknown as Record<string, AxisValue>)[ax.path] = v;
  });
  const label = axes.map((ax, a) => `${ax.path}=${values[a]}`).join(' ');
  const snnKey = JSON.stringify([run.norm, run.statistic, run.neuron, run.thresholds]);
  return { index, values, label, chipSet, run, snnKey };
}

/**
 * The shard of every point under `N` shards (0-based): whole simulation groups go to one shard
 * (group g, in the order of their first points, to shard g mod N), so no group is simulated twice
 * across a cluster; when there are fewer groups than shards, points are dealt instead (point k to
 * shard k mod N), every shard then simulating the groups it touches. Rows do not depend on the
 * rule: every point is priced by replaying its group's trace.
 */
export function shardRule<T extends { point: { index: number; simKey: string } }>(points: readonly T[], count: number): (p: T) => number {
  const groups = new Map<string, number>();
  for (const p of points) if (!groups.has(p.point.simKey)) groups.set(p.point.simKey, groups.size);
  if (groups.size >= count) return (p) => groups.get(p.point.simKey)! % count;
  return (p) => p.point.index % count;
}

/** The points of shard `I/N` (0-based I) by shardRule; all points without a shard. */
export function selectShard<T extends { point: { index: number; simKey: string } }>(points: T[], shard: { index: number; count: number } | null): T[] {
  if (!shard) return points;
  const shardOf = shardRule(points, shard.count);
  return points.filter((p) => shardOf(p) === shard.index);
}

export function parseShard(s: string | undefined): { index: number; count: number } | null {
  if (s === undefined) return null;
  const m = /^(\d+)\/(\d+)$/.exec(String(s).trim());
  if (!m) throw new UserError(`--shard ${s}: expected I/N, e.g. 0/8 (I counts from 0, as Slurm's --array=0-7 and Kubernetes' JOB_COMPLETION_INDEX do)`);
  const index = Number(m[1]), count = Number(m[2]);
  if (count < 1) throw new UserError(`--shard ${s}: N must be >= 1`);
  if (index >= count) throw new UserError(`--shard ${s}: I must be in 0..${count - 1}`);
  return { index, count };
}

/** Values of one chip axis validated before anything runs; the rest of a longer axis when priced. */
export const UPFRONT_VALUES = 256;

/** A point of the sweep and its chip, built (and validated against the schema) when read. */
export interface PlannedPoint {
  point: SweepPoint;
  /** the point's chip; throws the schema's UserError when the point's fields are invalid together */
  readonly chip: Chip;
}

/**
 * The points of the cross product, planned before anything runs; returns the points of the shard
 * (all without one).
 *
 * Validation is done where it is cheap and complete, and lazily where it is not:
 * - the values of every chip axis are validated at once, each in the first point that holds it (so
 *   a bad value refuses the sweep before anything runs, naming that point): all of them up to
 *   UPFRONT_VALUES per axis, else that many and the last; one chip per value, not one per point;
 * - simulation groups come from the values of the axes that change the chip's geometry (an axis
 *   whose values give different `chipGeometry` or boards), not from building every point's chip;
 * - each point's own chip is built when the point is priced: a combination of valid values that
 *   the schema refuses together (a cross-field rule), or a value of a long axis not checked up
 *   front, gets a row saying why, like a point the mapper refuses.
 * A million points thus plan in seconds, not minutes and gigabytes.
 */
export function validatePoints(
  base: string,
  axes: Axis[],
  fixed: RunSettings,
  shard: { index: number; count: number } | null,
  onProgress?: (line: string) => void,
): PlannedPoint[] {
  const total = pointCount(axes);
  const baseChip = loadChip(base);
  const chipOf = (p: Omit<SweepPoint, 'simKey'>): Chip => chipWithOverrides(baseChip, p.chipSet, `sweep point ${p.index} (${p.label})`);
  // 1. the values of every chip axis, in the first point that holds each (the other axes at their
  //    first value): all of them up to UPFRONT_VALUES per axis, else that many and the last one
  const strides = axes.map((_, a) => axes.slice(a + 1).reduce((n, x) => n * x.values.length, 1));
  const geometryAxes: number[] = [];
  axes.forEach((ax, a) => {
    if (!ax.chip) return;
    const n = ax.values.length;
    const checked = n <= UPFRONT_VALUES ? Array.from({ length: n }, (_, j) => j) : [...Array.from({ length: UPFRONT_VALUES - 1 }, (_, j) => j), n - 1];
    const seen = new Set<string>();
    for (const j of checked) {
      const c = chipOf(pointAt(axes, j * strides[a], fixed)).params;
      seen.add(JSON.stringify([chipGeometry(c), c.board]));
    }
    // a field that changes the geometry for some values changes it for the others too
    if (seen.size > 1) geometryAxes.push(a);
  });
  // 2. the points and their groups (same network, ticks, placement and geometry-axis values)
  const out: PlannedPoint[] = [];
  let lastReport = performance.now();
  for (let i = 0; i < total; i++) {
    const p = pointAt(axes, i, fixed);
    const simKey = JSON.stringify([p.snnKey, p.run.timesteps, p.run.placement, geometryAxes.map((a) => p.values[a])]);
    const point: SweepPoint = { ...p, simKey };
    out.push({ point, get chip() { return chipOf(point); } });
    if (onProgress && (i & 0xffff) === 0 && performance.now() - lastReport > 2000) {
      lastReport = performance.now();
      onProgress(`sweep: planned ${i.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} points`);
    }
  }
  return selectShard(out, shard);
}

/** A short stable id of everything that defines a sweep's results (resume and merge check it). */
export function sweepId(definition: unknown): string {
  return createHash('sha256').update(canonicalJson(definition)).digest('hex').slice(0, 16);
}

/** JSON with object keys sorted, so equal definitions hash equally. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}
