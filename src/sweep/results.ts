import { maxOf, minOf } from '../util/array.ts';
import type { Fidelity } from '../detect/fidelity.ts';
/**
 * A sweep's results file: one CSV row per point, each carrying its full configuration and seed,
 * appended as points finish (resumable), sorted by point when the sweep is complete; merging of
 * shard files; the Pareto front; the JSON summary and the SVG plots.
 *
 * Rows hold no wall-clock figure, so the same sweep gives the same bytes however it was run
 * (in one process, resumed, or as shards merged).
 */
import { appendFileSync, existsSync, readFileSync, statSync, truncateSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import type { ChipRunResult } from '../hw/account.ts';
import { lineChart, type Series } from '../report/svg.ts';
import { UserError } from '../util/errors.ts';
import type { Axis, SweepPoint } from './space.ts';

/** The figures of one point (ChipRunResult, reduced to what a row holds). */
export interface PointFigures {
  energy_per_frame_J: number;
  breakdown_J: ChipRunResult['energy']['breakdown_J'];
  latency_frame_s: number;
  fps: number;
  tick_s: number;
  overruns: number;
  sops: number | null;
  spikes: number | null;
  synaptic_events: number;
  neuron_updates: number;
  packets: number;
  hops: number;
  chip_crossings: number;
  cores: number;
  chips: number;
  /** ticks each frame ran before its readout ticks (the chip's layer delay), priced in the figures */
  fill_ticks: number;
}

export function pointFigures(r: ChipRunResult): PointFigures {
  return {
    energy_per_frame_J: r.energy.per_frame_J,
    breakdown_J: r.energy.breakdown_J,
    latency_frame_s: r.latency.frame_s,
    fps: r.latency.fps,
    tick_s: r.latency.tick_s,
    overruns: r.latency.overruns,
    sops: r.counts.sops,
    spikes: r.counts.spikes,
    synaptic_events: r.counts.synaptic_events,
    neuron_updates: r.counts.neuron_updates,
    packets: r.counts.packets,
    hops: r.counts.hops,
    chip_crossings: r.counts.chip_crossings,
    cores: r.mapping.cores,
    chips: r.mapping.chips,
    fill_ticks: r.fill_ticks ?? 0,
  };
}

const FIGURE_COLUMNS = [
  'energy_per_frame_J', 'energy_synaptic_J', 'energy_neuron_J', 'energy_spike_J', 'energy_routing_J', 'energy_offchip_J', 'energy_static_J',
  'latency_frame_s', 'fps', 'tick_s', 'overruns', 'sops', 'spikes', 'synaptic_events', 'neuron_updates', 'packets', 'hops', 'chip_crossings',
  'cores', 'chips', 'ap50_vs_ann', 'f1_vs_ann', 'precision_vs_ann', 'recall_vs_ann', 'logit_bias_mean', 'score_threshold', 'fill_ticks',
] as const;

/** The columns of a sweep's CSV: identity, the varied chip fields, the run fields, status, figures, config. */
export function csvColumns(axes: Axis[]): string[] {
  return [
    'point', 'sweep', 'points', 'chip', 'varied',
    ...axes.filter((a) => a.chip).map((a) => a.path),
    'timesteps', 'norm', 'statistic', 'neuron', 'thresholds', 'placement', 'seed',
    'status', ...FIGURE_COLUMNS, 'config',
  ];
}

export interface RowInput {
  point: SweepPoint;
  sweep: string;
  points: number;
  chip: string;
  seed: number;
  /** 'ok', or why the point has no figures (e.g. the mapper's refusal) */
  status: string;
  figures: PointFigures | null;
  ap50: number | null;
  /** fidelity at the ANN's score threshold (src/detect/fidelity.ts) */
  fidelity: Fidelity | null;
  /** the point's full configuration (chip and overrides, model, images, run settings, seed) */
  config: unknown;
  /** false for an imported NIR graph: no conversion, so its norm, statistic, neuron and thresholds cells are empty */
  converted?: boolean;
}

const cell = (v: number | string | boolean | null | undefined): string => (v === null || v === undefined ? '' : String(v));

export function csvRow(axes: Axis[], r: RowInput): string[] {
  const p = r.point, f = r.figures;
  const figs = f
    ? [f.energy_per_frame_J, f.breakdown_J.synaptic, f.breakdown_J.neuron, f.breakdown_J.spike, f.breakdown_J.routing, f.breakdown_J.offchip, f.breakdown_J.static,
       f.latency_frame_s, f.fps, f.tick_s, f.overruns, f.sops, f.spikes, f.synaptic_events, f.neuron_updates, f.packets, f.hops, f.chip_crossings, f.cores, f.chips, r.ap50,
       r.fidelity?.f1, r.fidelity?.precision, r.fidelity?.recall, r.fidelity?.bias.mean, r.fidelity?.threshold, f.fill_ticks]
    : FIGURE_COLUMNS.map(() => null);
  return [
    p.index, r.sweep, r.points, r.chip, p.label,
    ...axes.filter((a) => a.chip).map((a) => p.chipSet[a.path]),
    p.run.timesteps, ...(r.converted === false ? [null, null, null, null] : [p.run.norm, p.run.statistic ?? 'default', p.run.neuron, p.run.thresholds ?? 'none']), p.run.placement, r.seed,
    r.status, ...figs, JSON.stringify(r.config),
  ].map(cell);
}

export const csvLine = (cells: string[]) => stringify([cells]);

/** A row read back: its cells by column name. */
export type Row = Record<string, string>;

export interface ResultsFile {
  columns: string[];
  rows: Row[];
}

/**
 * Reads a results file. A last line without its newline is a row cut short by a kill: with
 * `repair` the file is truncated to its last whole row, otherwise the line is ignored.
 */
export function readResults(file: string, opts: { repair?: boolean } = {}): ResultsFile {
  let text = readFileSync(file, 'utf8');
  if (text.length && !text.endsWith('\n')) {
    const keep = text.lastIndexOf('\n') + 1;
    if (opts.repair) truncateSync(file, Buffer.byteLength(text.slice(0, keep)));
    text = text.slice(0, keep);
  }
  if (text.trim() === '') return { columns: [], rows: [] };
  let records: string[][];
  try {
    records = parse(text, { relax_column_count: false }) as string[][];
  } catch (e) {
    throw new UserError(`${file}: not a sweep results file (${(e as Error).message})`);
  }
  const [columns, ...data] = records;
  if (!columns.includes('point') || !columns.includes('sweep')) throw new UserError(`${file}: not a sweep results file (no point/sweep columns)`);
  const rows = data.map((cells) => Object.fromEntries(columns.map((c, i) => [c, cells[i]])));
  rows.forEach((r, i) => {
    const bad = (what: string): never => {
      throw new UserError(`${file}: row ${i + 1}: ${what}`);
    };
    if (!/^\d+$/.test(r.point)) bad(`point "${r.point}" is not a point index`);
    if (r.points !== undefined && (!/^\d+$/.test(r.points) || Number(r.points) <= Number(r.point))) bad(`points "${r.points}" is not a point count above the point index ${r.point}`);
    if (r.sweep === '') bad('no sweep id');
  });
  return { columns, rows };
}

/** Appends one row (the header first when the file is new): at most this row is lost on a kill. */
export function appendRow(file: string, columns: string[], cells: string[]): void {
  if (!existsSync(file) || statSync(file).size === 0) appendFileSync(file, csvLine(columns));
  appendFileSync(file, csvLine(cells));
}

/** The whole file, rows sorted by point: the form of a complete sweep (and of merged shards). */
export function formatResults(columns: string[], rows: Row[]): string {
  const sorted = [...rows].sort((a, b) => Number(a.point) - Number(b.point));
  return stringify([columns, ...sorted.map((r) => columns.map((c) => r[c] ?? ''))]);
}

/**
 * Checks shard files for merging: one sweep, the same columns, every point exactly once.
 * Returns the merged rows; throws a one-line UserError naming what is missing or duplicated.
 */
export function mergeResults(files: { file: string; results: ResultsFile }[]): { columns: string[]; rows: Row[]; sweep: string; points: number } {
  if (files.length === 0) throw new UserError('sweep merge: no shard files');
  const first = files.find((f) => f.results.rows.length > 0);
  if (!first) throw new UserError(`sweep merge: the files hold no rows (${files.map((f) => f.file).join(', ')})`);
  const columns = first.results.columns;
  const sweep = first.results.rows[0].sweep;
  const points = Number(first.results.rows[0].points);
  const where = new Map<number, string>();
  const rows: Row[] = [];
  for (const { file, results } of files) {
    if (results.rows.length && results.columns.join(',') !== columns.join(',')) throw new UserError(`sweep merge: ${file} has other columns than ${first.file} (another sweep)`);
    for (const r of results.rows) {
      if (r.sweep !== sweep) throw new UserError(`sweep merge: ${file} point ${r.point} belongs to sweep ${r.sweep}, ${first.file} to sweep ${sweep} (not the same sweep definition)`);
      const k = Number(r.point);
      const seen = where.get(k);
      if (seen !== undefined) throw new UserError(`sweep merge: point ${k} is in ${seen} and in ${file} (duplicated; were two shards given the same --shard?)`);
      where.set(k, file);
      rows.push(r);
    }
  }
  const missing: number[] = [];
  for (let k = 0; k < points; k++) if (!where.has(k)) missing.push(k);
  if (missing.length) {
    const shown = missing.slice(0, 12).join(', ') + (missing.length > 12 ? ', ...' : '');
    throw new UserError(`sweep merge: ${missing.length} of ${points} points are in no file (points ${shown}): a shard is missing or unfinished`);
  }
  return { columns, rows, sweep, points };
}

// ---------------------------------------------------------------------------------------------
// Pareto front, summary, plots

const num = (s: string | undefined) => (s === undefined || s === '' ? NaN : Number(s));

/** Rows with figures, on the front of (energy per frame, frame latency), both minimized. */
export function paretoFront(rows: Row[]): Row[] {
  const ok = rows.filter((r) => r.status === 'ok' && Number.isFinite(num(r.energy_per_frame_J)) && Number.isFinite(num(r.latency_frame_s)));
  const sorted = [...ok].sort((a, b) => num(a.latency_frame_s) - num(b.latency_frame_s) || num(a.energy_per_frame_J) - num(b.energy_per_frame_J) || num(a.point) - num(b.point));
  const front: Row[] = [];
  let best = Infinity;
  for (const r of sorted) {
    const e = num(r.energy_per_frame_J);
    if (e < best) {
      front.push(r);
      best = e;
    }
  }
  return front;
}

/** `core.neurons=512 energy.synop_pJ=15` → `neurons=512 synop_pJ=15` (plot labels). */
export const shortLabel = (label: string) => label.replace(/(^|\s)[A-Za-z0-9_.]*\.([A-Za-z0-9_]+=)/g, '$1$2');

export interface SweepPlots {
  pareto: string;
  ap: string;
}

export function sweepPlots(rows: Row[], title: string): SweepPlots {
  const ok = rows.filter((r) => r.status === 'ok').sort((a, b) => num(a.point) - num(b.point));
  const front = new Set(paretoFront(rows).map((r) => r.point));
  const mJ = (r: Row) => num(r.energy_per_frame_J) * 1e3;
  const ms = (r: Row) => num(r.latency_frame_s) * 1e3;
  const spread = (v: number[]) => (v.length ? maxOf(v) / minOf(v) : 1);
  const logE = spread(ok.map(mJ).filter((v) => v > 0)) > 30;
  const labelAll = ok.length <= 60; // overlapping labels are left out (svg.ts)
  const rest = ok.filter((r) => !front.has(r.point));
  const onFront = ok.filter((r) => front.has(r.point)).sort((a, b) => ms(a) - ms(b));
  const series: Series[] = [
    { name: 'points', scatter: true, points: rest.map((r) => [ms(r), mJ(r)]), labels: labelAll ? rest.map((r) => shortLabel(r.varied)) : undefined },
    { name: 'Pareto front', scatter: true, emphasis: true, points: onFront.map((r) => [ms(r), mJ(r)]), labels: onFront.map((r) => shortLabel(r.varied)) },
  ];
  const pareto = lineChart(series, {
    title: `${title}: energy vs latency`,
    xLabel: 'latency per frame (ms, emulated)',
    yLabel: 'energy per frame (mJ)',
    yLog: logE,
    xLog: spread(ok.map(ms).filter((v) => v > 0)) > 30,
    pad: 0.05,
  });
  const withAp = ok.filter((r) => Number.isFinite(num(r.ap50_vs_ann)));
  // one series per value of the first varied field, each mark labelled by the others
  const bySeries = new Map<string, Row[]>();
  for (const r of withAp) {
    const [head] = r.varied.split(' ');
    bySeries.set(head, [...(bySeries.get(head) ?? []), r]);
  }
  const rest1 = (r: Row) => shortLabel(r.varied.split(' ').slice(1).join(' '));
  const ap = lineChart(
    [...bySeries].map(([name, rs]) => ({ name: shortLabel(name), scatter: true, points: rs.map((r) => [mJ(r), num(r.ap50_vs_ann)] as [number, number]), labels: labelAll ? rs.map(rest1) : undefined })),
    { title: withAp.length || !ok.length ? `${title}: energy vs accuracy` : `${title}: no AP (not a detector, e.g. a NIR graph)`, xLabel: 'energy per frame (mJ)', yLabel: 'AP@0.5 against the ANN', xLog: logE, yMin: 0, yMax: 1, pad: 0.05 },
  );
  return { pareto, ap };
}

/** The JSON summary: what was varied, how the points were priced, the front and the extremes. */
export function sweepSummary(
  rows: Row[],
  meta: { sweep: string; points: number; base: string; axes: Axis[]; fixed: Record<string, unknown>; seed: number; run?: Record<string, number>; groups?: number },
): Record<string, unknown> {
  const ok = rows.filter((r) => r.status === 'ok');
  const pick = (r: Row | undefined) => r && {
    point: Number(r.point), varied: r.varied,
    energy_per_frame_J: num(r.energy_per_frame_J), latency_frame_s: num(r.latency_frame_s), fps: num(r.fps),
    ap50_vs_ann: r.ap50_vs_ann === '' ? null : num(r.ap50_vs_ann),
    f1_vs_ann: r.f1_vs_ann === undefined || r.f1_vs_ann === '' ? null : num(r.f1_vs_ann), score_threshold: r.score_threshold === undefined || r.score_threshold === '' ? null : num(r.score_threshold),
    cores: num(r.cores), chips: num(r.chips),
  };
  const by = (k: string) => [...ok].sort((a, b) => num(a[k]) - num(b[k]) || num(a.point) - num(b.point))[0];
  return {
    format: 'neuroemu-sweep-summary',
    sweep: meta.sweep,
    chip: meta.base,
    seed: meta.seed,
    axes: meta.axes.map((a) => ({ path: a.path, kind: a.chip ? 'chip field' : 'run field', values: a.values })),
    fixed: meta.fixed,
    points: meta.points,
    rows: rows.length,
    complete: rows.length === meta.points,
    refused: rows.filter((r) => r.status !== 'ok').map((r) => ({ point: Number(r.point), varied: r.varied, status: r.status })),
    ...(meta.groups !== undefined ? { simulation_groups: meta.groups, simulation_groups_note: 'points of one group differ only in fields the mapper and simulator never read: one emulation with a trace, every point priced by replaying it' } : {}),
    ...(meta.run ? { this_run: meta.run } : {}),
    pareto_front: paretoFront(rows).map(pick),
    lowest_energy: pick(by('energy_per_frame_J')) ?? null,
    lowest_latency: pick(by('latency_frame_s')) ?? null,
    provenance:
      'energy and timing from the chip file\'s figures (each with its source, `neuroemu chips show`); a varied chip field is tagged U with source ' +
      'neuroemu in the point\'s chip (its config column), since no publication stands behind a swept value. AP@0.5 is scored against the ANN on the same frames (a NIR graph is not a detector: no AP or F1).',
  };
}
