/**
 * `neuroemu run --model FILE.nir`: a spiking network from another framework (a NIR graph, imported
 * by src/convert/nir-import.ts) priced on the chip models. Not a detector: no decoding, no ANN
 * baseline (the graph has no ANN); per chip the energy, latency, SOPs, spikes and cores of one
 * inference of T ticks on a seeded Poisson input, and the output layer's spikes per neuron.
 */
import { loadNirSnn } from '../convert/nir-import.ts';
import { nirDt, nirInputs } from '../convert/nir-input.ts';
import { loadChip } from '../hw/chip-schema.ts';
import type { PlacementOrder } from '../hw/mapper.ts';
import { chipReportJson, chipReportText, si } from '../hw/report.ts';
import { shortenPaths } from '../report/paths.ts';
import { formatTable, thousands } from '../report/table.ts';
import { emulateFrames } from '../sim/emulate.ts';
import { createSimulator } from '../sim/simulator.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { fail } from '../util/errors.ts';

export interface RunNirArgs {
  model: string;
  chip: string[];
  timesteps: number;
  seed: number;
  'input-rate'?: string;
  'input-events'?: string;
  'nir-dt'?: number;
  'auto-board': boolean;
  placement: string;
  json?: string;
  trace?: string;
}

export async function runNir(args: RunNirArgs, T: number): Promise<void> {
  const progress = (m: string) => process.stderr.write(`${m}\n`);
  const chips = (args.chip ?? []).map(String);
  if (chips.length === 0) fail('--chip', 'name at least one chip (neuroemu chips lists them)');
  const chipParams = chips.map((c) => loadChip(c).params);
  const imp = loadNirSnn(args.model, { dtS: nirDt(args['nir-dt']) });
  const snn = imp.snn;
  const I = imp.input;
  const input = nirInputs(I, { rate: args['input-rate'], events: args['input-events'] }, args.seed);
  const { frames, inputEvents } = input;
  const nF = frames.length;
  process.stdout.write(
    `neuroemu run — NIR graph ${shortenPaths(snn.ann.source)}, input ${I.c}x${I.h}x${I.w}, ${nF} inference${nF === 1 ? '' : 's'} × ${T} ticks, seed ${args.seed}\n` +
      `${input.said}\n` +
      'imported as (no calibration: the graph\'s own weights and thresholds):\n',
  );
  process.stdout.write(
    formatTable(
      [{ header: '#' }, { header: 'NIR nodes', align: 'left' }, { header: 'SNN layer', align: 'left' }, { header: 'how', align: 'left' }],
      imp.notes.map((n) => {
        const l = snn.layers[n.layer];
        const shape = `${l.inShape.c}x${l.inShape.h}x${l.inShape.w} → ${l.outShape.c}x${l.outShape.h}x${l.outShape.w}`;
        return [n.layer, n.nodes.join(' + '), l.kind === 'conv' ? `conv ${l.size}x${l.size}/${l.stride} ${shape}` : shape, n.how];
      }),
    ) + '\n\n',
  );
  /**
   * The output layer's spikes per neuron (a classifier's class counts) from a plain run with the
   * chip's layer delay (accounting does not change the dynamics, the delay does): 0 is how NIR's
   * simulators step a graph (every layer within the time step), 1 how tick-based chips do.
   */
  const outputSpikes = async (layerDelay: 0 | 1): Promise<number[][]> => {
    const sim = await createSimulator(snn, { seed: args.seed, layerDelay, inputEvents });
    const out: number[][] = [];
    for (const x of frames) {
      sim.reset(x);
      sim.run(T);
      const c = sim.counts();
      out.push([...c.layers[c.layers.length - 1].posSpikes]);
    }
    return out;
  };
  const fmtOne = (o: number[]) => `${o.join(' ')}${o.length > 1 ? ` (most: ${o.indexOf(Math.max(...o))})` : ''}`;
  const SHOWN = 8;
  const fmtOut = (os: number[][]) => (os.length === 1 ? fmtOne(os[0])
    : os.slice(0, SHOWN).map((o, k) => `\n    sample ${k}: ${fmtOne(o)}`).join('') + (os.length > SHOWN ? `\n    (${os.length - SHOWN} more in the JSON)` : ''));
  const outSpikes = await outputSpikes(0);
  const results: Record<string, unknown>[] = [];
  const summary: (string | number)[][] = [];
  for (let ci = 0; ci < chips.length; ci++) {
    // with several chips, one trace each: FILE-CHIP.EXT (as for a detector)
    const cp = chipParams[ci];
    const trace = args.trace && chips.length > 1 ? args.trace.replace(/(\.[^./]*)?$/, (ext) => `-${cp.name}${cp.variant ? `@${cp.variant}` : ''}${ext}`) : args.trace;
    const em = await emulateFrames(snn, cp, frames, { timesteps: T, seed: args.seed, autoBoard: args['auto-board'], placement: args.placement as PlacementOrder, onProgress: progress, inputEvents, trace });
    const r = em.totals;
    const delay = chipParams[ci].timing.layerDelayTicks;
    const out = delay === 0 ? outSpikes : await outputSpikes(delay);
    process.stdout.write(chipReportText(r, { pricedAt: `${T} ticks` }));
    process.stdout.write(out.length === 1 ? `  output spikes      ${fmtOut(out)} (layer delay ${delay})\n\n` : `  output spikes      per sample (layer delay ${delay}):${fmtOut(out)}\n\n`);
    results.push({
      ...chipReportJson(r), chip: chips[ci],
      input: input.json,
      layer_delay_ticks: delay, output_spikes: inputEvents !== undefined ? out : out[0],
    });
    summary.push([chips[ci], si(r.energy.per_frame_J, 'J'), si(r.latency.frame_s, 's'), r.mapping.cores, r.mapping.chips, thousands(r.counts.sops ?? r.counts.synaptic_events), thousands(r.counts.spikes ?? r.counts.spikes_out), si(r.energy.breakdown_J.static, 'J'), delay]);
  }
  if (chips.length > 1) {
    process.stdout.write(`per inference (${T} ticks):\n` + formatTable(
      [{ header: 'chip', align: 'left' }, { header: 'energy' }, { header: 'latency' }, { header: 'cores' }, { header: 'chips' }, { header: 'SOPs' }, { header: 'spikes' }, { header: 'of it static' }, { header: 'layer delay' }],
      summary,
    ) + '\n');
  }
  const lastLayer = snn.layers[snn.layers.length - 1];
  process.stdout.write(`output (${lastLayer.name}) as NIR's simulators step the graph (no layer delay): spikes per neuron over ${T} ticks${outSpikes.length > 1 ? `, per sample:${fmtOut(outSpikes)}` : `: ${fmtOut(outSpikes)}`}\n`);
  if (args.json) writeFileAtomic(args.json, JSON.stringify(results, null, 1) + '\n');
}
