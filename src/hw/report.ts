/**
 * The per-chip figures of an emulated run (src/hw/account.ts ChipRunResult), as text rows and as
 * the JSON object of `neuroemu run --json` / `neuroemu replay --json`. `neuroemu run` and
 * `neuroemu replay` print the same rows, so a replay reads like the run it prices.
 *
 *   process.stdout.write(chipReportText(result));          // a titled block of label: value rows
 *   const rows = chipReportRows(result);                   // [label, value][] for your own table
 *   JSON.stringify(chipReportJson(result));                // chip, timesteps, frames, energy, …
 */
import type { ChipRunResult } from './account.ts';

const PREFIXES: [number, string][] = [
  [1, ''],
  [1e-3, 'm'],
  [1e-6, 'µ'],
  [1e-9, 'n'],
  [1e-12, 'p'],
];

/** x in SI units with a prefix, 4 significant digits: 0.001234 J → "1.234 mJ". */
export function si(x: number, unit: string): string {
  if (!Number.isFinite(x)) return `${x} ${unit}`;
  if (x === 0) return `0 ${unit}`;
  const a = Math.abs(x);
  for (const [f, p] of PREFIXES) if (a >= f * 0.9995) return `${(x / f).toPrecision(4)} ${p}${unit}`;
  return `${(x / 1e-12).toPrecision(4)} p${unit}`;
}

/** An energy ratio as the reports print it: one decimal from 1 up, 3 significant digits below, ∞ for a zero denominator. */
export function formatRatio(x: number): string {
  return !Number.isFinite(x) ? '∞' : x >= 1 ? x.toFixed(1) : x.toPrecision(3);
}

/** a count with thousands separators (fractions of a mean kept to one decimal) */
export function count(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const r = Math.abs(x - Math.round(x)) < 1e-9 ? Math.round(x) : Math.round(x * 10) / 10;
  return r.toLocaleString('en-US');
}

const pct = (part: number, whole: number) => (whole > 0 ? `${((100 * part) / whole).toFixed(1)} %` : '—');

/** The rows `neuroemu run` and `neuroemu replay` print per chip: [label, value]. */
export function chipReportRows(r: ChipRunResult, opts: { pricedAt?: string } = {}): [string, string][] {
  const e = r.energy, L = r.latency, c = r.counts;
  const b = e.breakdown_J;
  const rows: [string, string][] = [];
  rows.push(['chip', r.chip]);
  rows.push(['mapping', `${count(r.mapping.cores)} cores on ${r.mapping.chips} chip${r.mapping.chips === 1 ? '' : 's'} (${count(r.mapping.tiles)} tiles)`]);
  const fill = r.fill_ticks ?? 0;
  const varying = L.ticks !== r.frames * (r.timesteps + fill);
  const fillSaid = fill ? ` + ${fill} fill tick${fill === 1 ? '' : 's'}` : '';
  rows.push(['frames × ticks', `${r.frames} × ${varying ? `up to ${r.timesteps}` : r.timesteps}${fillSaid}${r.seed !== null ? ` (seed ${r.seed})` : ''}`]);
  if (fill) rows.push(['layer delay', `1 tick per neuron layer: the readout, ${fill + 1} neuron layers deep, gets its first input after ${fill} ticks; those run and are priced before the readout ticks`]);
  // every energy figure says the ticks it was priced at, and (where measured) the detector's F1 there
  const meanTicks = L.ticks / Math.max(1, r.frames) - fill;
  const ticksSaid = (meanTicks === r.timesteps ? `${r.timesteps} ticks per frame` : `${Number(meanTicks.toFixed(1))} ticks per frame on average (stopping rule, at most ${r.timesteps})`) + fillSaid;
  rows.push(['energy per frame', `${si(e.per_frame_J, 'J')} (total ${si(e.total_J, 'J')}) at ${ticksSaid}${opts.pricedAt ? `, ${opts.pricedAt}` : ''}`]);
  const parts = (['synaptic', 'neuron', 'spike', 'routing', 'offchip', 'static'] as const).map((k) => `${k} ${si(b[k], 'J')} (${pct(b[k], e.per_frame_J)})`);
  rows.push(['  breakdown', parts.slice(0, 3).join(', ')]);
  rows.push(['', parts.slice(3).join(', ')]);
  rows.push(['latency per frame', `${si(L.frame_s, 's')} (mean tick ${si(L.tick_s, 's')}, longest ${si(L.tick_max_s, 's')})`]);
  rows.push(['frames per second', L.fps >= 100 ? L.fps.toFixed(0) : L.fps.toPrecision(3)]);
  rows.push([
    'tick rule',
    L.tick_rule === 'fixed'
      ? `fixed period: ${L.overruns} of ${L.ticks} ticks overran it`
      : `barrier (${si(L.barrier_s, 's')} per tick for the tiles and chips used)`,
  ]);
  if (c.sops !== null) rows.push(['SOPs per frame', `${count(c.sops)} (network); ${count(c.synaptic_events)} synaptic events on chip`]);
  else rows.push(['synaptic events', `${count(c.synaptic_events)} per frame`]);
  rows.push(['spikes per frame', `${c.spikes !== null ? `${count(c.spikes)} (network); ` : ''}${count(c.spikes_out)} generated on chip`]);
  rows.push(['neuron updates', `${count(c.neuron_updates)} per frame (${pct(c.neuron_updates_active, c.neuron_updates)} active)`]);
  rows.push(['packets per frame', `${count(c.packets)}: ${count(c.hops)} mesh hops, ${count(c.hops_tile)} tile-local, ${count(c.chip_crossings)} chip crossings`]);
  const top = r.links[0];
  if (top)
    rows.push([
      'busiest link',
      `${top.name}${top.offchip ? ' (off-chip)' : ''}: ${count(top.packets)} packets in one tick${top.load !== null ? `, ${(100 * top.load).toFixed(1)} % of its capacity` : ' (no capacity given)'}`,
    ]);
  return rows;
}

/** The rows as a text block under a title line. */
export function chipReportText(r: ChipRunResult, opts: { layers?: boolean; pricedAt?: string } = {}): string {
  const rows = chipReportRows(r, opts);
  const w = Math.max(...rows.map(([k]) => k.length));
  const lines = [`${r.network} on ${r.chip}`, ...rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`)];
  if (opts.layers) {
    lines.push('  energy by layer (events and per-core static; chip static not attributed):');
    for (const l of r.byLayer) lines.push(`    ${String(l.layer).padStart(3)} ${l.name.padEnd(10)} ${String(l.cores).padStart(7)} cores  ${si(l.energy_J / Math.max(1, r.frames), 'J').padStart(11)} per frame`);
  }
  for (const n of r.notes) lines.push(`  note: ${n}`);
  return lines.join('\n') + '\n';
}

/** The JSON object of one chip (the keys of `neuroemu run --json`, without baseline and accuracy). */
export function chipReportJson(r: ChipRunResult): Record<string, unknown> {
  return {
    chip: r.chip,
    network: r.network,
    timesteps: r.timesteps,
    fill_ticks: r.fill_ticks,
    frames: r.frames,
    seed: r.seed,
    energy: r.energy,
    latency: r.latency,
    counts: r.counts,
    mapping: r.mapping,
    links: r.links,
    by_layer: r.byLayer,
    by_core: r.byCore,
    per_frame: r.perFrame,
    notes: r.notes,
  };
}
