/**
 * The emulation of a spiking network on a chip model, frame by frame: map (src/hw/mapper.ts),
 * simulate with per-core accounting (the SNN core, src/sim/acct.ts), price every tick
 * (src/hw/account.ts), optionally record a trace (src/hw/trace.ts). What `neuroemu run` calls.
 *
 *   const r = await emulateFrames(snn, loadChip('loihi').params, inputs, { timesteps: 64, seed: 1, autoBoard: true });
 *   r.totals.energy.per_frame_J; r.totals.latency.fps; r.readouts[frame][head]   // raw output at T
 *
 * Accounting does not change the dynamics: the readouts are those of a simulator without a
 * mapping (tests/account.test.ts checks it byte for byte).
 */
import type { SnnNetwork } from '../convert/snn-ir.ts';
import { Accountant, NocTally, geometryOf, type AccountantState, type AccountGeometry, type ChipRunResult, type FrameResult, type TickResult } from '../hw/account.ts';
import type { ChipParams } from '../hw/chip-schema.ts';
import { mapNetwork, type Mapping, type PlacementOrder } from '../hw/mapper.ts';
import { TraceWriter } from '../hw/trace.ts';
import { buildAcctTables, type AcctTables } from './acct.ts';
import { planSimulation } from './plan.ts';
import { createSimulator, type BiasOnset, type Simulator } from './simulator.ts';
import { collectGarbage } from '../util/gc.ts';

export interface EmulateOptions {
  /** ticks per frame */
  timesteps: number;
  /** Poisson input seed (default 1) */
  seed?: number;
  /** board too small: take the smallest square board that fits (mapper option) */
  autoBoard?: boolean;
  /** order of the cores along the placement path (mapper option; default DEFAULT_PLACEMENT) */
  placement?: PlacementOrder;
  /** a mapping of this network on this chip made beforehand (default: mapped here) */
  mapping?: Mapping;
  /** accounting tables of that mapping built beforehand (default: built here) */
  accounting?: AcctTables;
  /** record the per-tick per-core counters into this trace file (src/hw/trace.ts) */
  trace?: string;
  /** with the chip's layer delay: when each layer's bias starts (SimulatorOptions.biasOnset; default 'input') */
  biasOnset?: BiasOnset;
  /** event input: each of `inputs` is a T×C×H×W spike tensor of this many ticks (PlanOptions.inputEvents) */
  inputEvents?: number;
  /** wraps the simulator for reset/run/readout, e.g. a two-phase threshold schedule */
  wrap?: (sim: Simulator) => Simulator;
  /** after each frame: its figures and its readouts at T */
  onFrame?: (frame: number, result: FrameResult, readouts: Float32Array[]) => void;
  /** after each tick: its timing and energy */
  onTick?: (frame: number, t: TickResult) => void;
  /** progress lines (stderr in the CLI) */
  onProgress?: (line: string) => void;
  /**
   * Per-frame stopping: every `every` ticks (from `every` on) check(frame, tick, readouts) is asked
   * whether the frame is done; the frame then ends at that tick (its energy and latency are those
   * of the ticks it ran; `timesteps` is the most any frame runs). Absent: every frame runs T ticks.
   */
  stop?: { every: number; check: (frame: number, tick: number, readouts: Float32Array[]) => boolean };
  /**
   * the number of the first of `inputs` in the whole run (a later part of a run split over
   * workers): frame numbers in results, callbacks, stopping checks and progress count from it
   */
  frameOffset?: number;
  /** the whole run's frame count, for progress lines (default: offset + inputs.length) */
  framesInRun?: number;
  /** threads per tick (SimulatorOptions.threads; default 1): 2 puts a second core on every tick, the same bytes out */
  threads?: number;
  /**
   * ticks (counted from each frame's reset, fill ticks included, ascending) at which to read the
   * frame's energy and latency so far: EmulationResult.atTicks (what onTick would give, summed in
   * the same order, but without a callback, so it crosses a worker thread)
   */
  tickStops?: number[];
  /** links and cores listed in the result (default 10 each) */
  topLinks?: number;
  topCores?: number;
}

export interface EmulationResult {
  mapping: Mapping;
  perFrame: FrameResult[];
  /** the run's figures (energy, latency, counts, mapping, links, breakdowns): src/hw/report.ts prints them */
  totals: ChipRunResult;
  /** per frame: the readouts at tick T (per net.readouts entry, C×H×W), for decoding */
  readouts: Float32Array[][];
  /** what the accountant gathered (to merge with the other parts of a run split over workers) */
  state: AccountantState;
  geometry: AccountGeometry;
  notes: string[];
  /** with tickStops: per frame, per stop, the frame's energy (J) and latency (s) from its first tick to that tick */
  atTicks?: TickFigures[][];
}

export interface TickFigures {
  tick: number;
  energyJ: number;
  latencyS: number;
}

/** ticks timed on the first frame to estimate a long run's duration */
const ESTIMATE_TICKS = 8;

const formatDuration = (s: number) => (s >= 3600 ? `${(s / 3600).toFixed(1)} h` : s >= 60 ? `${(s / 60).toFixed(1)} min` : `${s.toFixed(0)} s`);

/** Emulates `inputs` (preprocessed images, C×H×W) for `timesteps` ticks each on `chip`. */
export async function emulateFrames(snn: SnnNetwork, chip: ChipParams, inputs: Float32Array[], opts: EmulateOptions): Promise<EmulationResult> {
  const T = opts.timesteps;
  if (!Number.isInteger(T) || T < 1) throw new Error(`emulateFrames: timesteps must be a positive integer, got ${T}`);
  const seed = opts.seed ?? 1;
  const progress = opts.onProgress ?? (() => {});
  const mapping = opts.mapping ?? mapNetwork(snn, chip, { autoBoard: opts.autoBoard, placement: opts.placement, onProgress: progress });
  if (mapping.chip !== chip && !sameGeometryChip(mapping.chip, chip)) throw new Error(`emulateFrames: the mapping was made for ${mapping.chipName}, a chip of another geometry than ${chip.name}`);
  // the tables are loaded into the core; afterwards only their packet routes are read here, so
  // the host's copy of the records (hundreds of MB on TrueNorth) is not held through the run
  let acct: AcctTables | null = opts.accounting ?? buildAcctTables(mapping);
  // large tables made here: the mapping's scratch goes before the core takes its copy of them, and
  // their host copy once it has (a long run allocates too little for V8 to collect by itself)
  const madeBytes = opts.accounting ? 0 : acct.keySig.byteLength + acct.sigData.byteLength;
  const big = madeBytes >= 32 * 2 ** 20;
  if (big) collectGarbage();
  // the chip's layer delay: a readout D neuron layers deep gets its first input D − 1 ticks later;
  // those fill ticks run (and are priced) before each frame's T readout ticks
  const sim = await createSimulator(snn, { seed, accounting: acct, layerDelay: chip.timing.layerDelayTicks, biasOnset: opts.biasOnset, activeRule: chip.energy.activeUpdate, inputEvents: opts.inputEvents, threads: opts.threads });
  if ((opts.threads ?? 1) > 1 && chip.timing.layerDelayTicks === 1) progress(`emulate ${mapping.chipName}: two threads per tick (the tick's layers shared with a worker)`);
  const routes = acct.routes;
  acct = null;
  if (big) collectGarbage();
  const fill = sim.fillTicks;
  const geo = geometryOf(mapping);
  const offset = opts.frameOffset ?? 0;
  const framesInRun = opts.framesInRun ?? offset + inputs.length;
  let frame = offset;
  const stops = opts.tickStops;
  const atTicks: TickFigures[][] = [];
  let stopFrame = -1, stopTick = 0, nextStop = 0, cumE = 0, cumL = 0;
  const onTick = !opts.onTick && !stops ? undefined : (t: TickResult) => {
    opts.onTick?.(frame, t);
    if (!stops) return;
    if (frame !== stopFrame) {
      [stopFrame, stopTick, nextStop, cumE, cumL] = [frame, 0, 0, 0, 0];
      atTicks.push([]);
    }
    stopTick++;
    cumE += t.energyJ;
    cumL += t.tickS;
    if (stopTick === stops[nextStop]) {
      atTicks[atTicks.length - 1].push({ tick: stopTick, energyJ: cumE, latencyS: cumL });
      nextStop++;
    }
  };
  const accountant = new Accountant(chip, geo, { topLinks: opts.topLinks, topCores: opts.topCores, frameOffset: offset, onTick, coreTally: sim.coreTally() });
  const tally = new NocTally(routes);
  const trace = opts.trace ? TraceWriter.create(opts.trace, { mapping, geometry: geo, routes, timesteps: T, fillTicks: fill, seed, autoBoard: !!opts.autoBoard }) : null;
  try {
    sim.onTick((c) => {
      const rec = tally.record(c);
      accountant.tick(rec);
      trace?.tick(rec);
    });
    const perFrame: FrameResult[] = [];
    const readouts: Float32Array[][] = [];
    const driven = opts.wrap ? opts.wrap(sim) : sim;
    if (opts.stop && trace) throw new Error('emulateFrames: a trace needs the same ticks in every frame (no stopping rule)');
    const every = opts.stop ? opts.stop.every : T;
    if (!Number.isInteger(every) || every < 1) throw new Error(`emulateFrames: stop.every must be a positive integer, got ${every}`);
    for (const input of inputs) {
      driven.reset(input);
      if (!opts.stop && frame === offset && T > 4 * ESTIMATE_TICKS) {
        // a long run says up front how long it will take, from its first ticks (same ticks either way)
        const t0 = performance.now();
        driven.run(ESTIMATE_TICKS);
        // the first run() also runs the fill ticks
        const perTickS = (performance.now() - t0) / 1000 / (ESTIMATE_TICKS + fill);
        const totalS = perTickS * (T + fill) * inputs.length;
        const part = offset || inputs.length < framesInRun ? ` (frames ${offset + 1}–${offset + inputs.length} of ${framesInRun})` : '';
        if (totalS > 20) progress(`emulate ${mapping.chipName}: about ${formatDuration(totalS)} for ${inputs.length} frame${inputs.length === 1 ? '' : 's'}${part} × ${T}${fill ? ` + ${fill} fill` : ''} ticks (${(perTickS * 1e3).toFixed(1)} ms per tick over the first ${ESTIMATE_TICKS + fill})`);
        driven.run(T - ESTIMATE_TICKS);
      } else if (!opts.stop) driven.run(T);
      else while (driven.tick < T) {
        driven.run(Math.min(every, T - driven.tick));
        if (driven.tick < T && opts.stop.check(frame, driven.tick, driven.readout())) break;
      }
      const c = sim.counts();
      const network = { sops: c.totals.sops, spikes: c.totals.posSpikes + c.totals.negSpikes };
      const f = accountant.endFrame(network);
      trace?.endFrame(network);
      const r = driven.readout();
      perFrame.push(f);
      readouts.push(r);
      opts.onFrame?.(frame, f, r);
      progress(`emulate ${mapping.chipName}: frame ${frame + 1}/${framesInRun}: ${(f.energy_J * 1e3).toFixed(3)} mJ, ${(f.latency_s * 1e3).toFixed(2)} ms`);
      frame++;
    }
    trace?.close();
    const notes = [...mapping.notes, ...accountingNotes(mapping, chip)];
    const totals = accountant.result({ timesteps: T, fillTicks: fill, seed, notes });
    return { mapping, perFrame, totals, readouts, state: accountant.state(), geometry: geo, notes, ...(stops ? { atTicks } : {}) };
  } catch (e) {
    trace?.abort();
    throw e;
  } finally {
    sim.onTick(null);
    sim.close();
  }
}

/**
 * The ticks every frame of `snn` runs on `chip` before its readout ticks (the pipeline fill of the
 * chip's layer delay; 0 without one): a frame of T readout ticks runs T + this many.
 */
export function fillTicksOn(snn: SnnNetwork, chip: ChipParams): number {
  return planSimulation(snn, { layerDelay: chip.timing.layerDelayTicks }).fillTicks;
}

/** Two chip parameter sets that map any network the same way (the fields the mapper reads). */
function sameGeometryChip(a: ChipParams, b: ChipParams): boolean {
  return JSON.stringify([a.chip, a.core, a.noc.multicast, a.timing.layerDelayTicks, a.energy.activeUpdate]) === JSON.stringify([b.chip, b.core, b.noc.multicast, b.timing.layerDelayTicks, b.energy.activeUpdate]);
}

/** The accounting rules a report should state for this mapping. */
export function accountingNotes(m: Mapping, chip: ChipParams = m.chip): string[] {
  const active = chip.energy.activeUpdate === 'nonzero'
    ? 'active = received input this tick, or a non-zero potential or bias (energy.active_update nonzero, SANA-FE\'s rule)'
    : 'active = received input this tick (energy.active_update input)';
  const notes = [
    `accounting: neuron updates every tick for every neuron of a used core (copies and partial sums included), ${active}; ` +
      'static power of every used chip is paid whole (unused cores included), per-core static power for mapped cores only',
  ];
  if (m.layers.some((l) => l?.split)) notes.push('accounting: a split layer\'s partial-sum neurons count as active whenever their neuron is (an upper bound)');
  return notes;
}
