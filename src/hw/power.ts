/**
 * Closed-form energy, power and timing models of a chip (FACTS.md §3), and the ANN baselines.
 *
 * Every function is pure and reads only `ChipParams` (SI units) and event counts, so the same
 * code prices one core, one tick, one frame or one second (counts per second give watts).
 *
 * Power models (the chip file's `energy.power_model.kind`):
 * - per_event         E = Σ events × energy per event + (P_core × cores used + P_chip × chips used) × T   (FACTS §3.1)
 * - truenorth_affine  P = P0 + e_SOP × r_SOP per chip (A15 Fig. 17 fit, FACTS §2 warning 1); hops and
 *                     neuron updates are inside the fit; chip crossings (outside a one-chip fit) are added
 * - odin              P = P_leak + P_idle × f_clk + E_SOP × r_SOP (FACTS §3.3)
 * - spinnaker         E = Σ_chips P_idle × T + P_active,core × core busy time + E_packet × router passes (FACTS §3.4)
 */
import { UserError } from '../util/errors.ts';
import type { ChipParams } from './chip-schema.ts';

/** Event counts over any span (one core and tick, or a whole run). */
export interface EventCounts {
  /** synaptic operations (one synapse integrating one spike) */
  synops: number;
  /** synaptic learning updates (0 for inference) */
  learnOps?: number;
  neuronUpdatesActive: number;
  neuronUpdatesIdle: number;
  /** spikes generated */
  spikesOut: number;
  /** packets injected into the NoC */
  packets: number;
  /** packets delivered to a core of the source tile (0 mesh hops) */
  hopsTile: number;
  /** east-west hops between routers, chip-boundary hops included */
  hopsEW: number;
  /** north-south hops between routers, chip-boundary hops included */
  hopsNS: number;
  /** hops that cross a chip boundary (each also counted in hopsEW or hopsNS) */
  chipCrossings: number;
}

/** What static power is charged over. */
export interface RunExtent {
  /** emulated wall time, s */
  wallS: number;
  coresUsed: number;
  chipsUsed: number;
  /**
   * Σ over cores of busy time, s (spinnaker model: active-core power is charged for it).
   * Default: the event-time sum `busyS(chip, counts)`.
   */
  coreBusyS?: number;
}

/** Energy by kind, J (the keys of the run report's breakdown_J). */
export interface EnergyBreakdownJ {
  synaptic: number;
  neuron: number;
  spike: number;
  routing: number;
  offchip: number;
  static: number;
  total: number;
}

export const ZERO_COUNTS: EventCounts = {
  synops: 0,
  learnOps: 0,
  neuronUpdatesActive: 0,
  neuronUpdatesIdle: 0,
  spikesOut: 0,
  packets: 0,
  hopsTile: 0,
  hopsEW: 0,
  hopsNS: 0,
  chipCrossings: 0,
};

function withTotal(b: Omit<EnergyBreakdownJ, 'total'>): EnergyBreakdownJ {
  return { ...b, total: b.synaptic + b.neuron + b.spike + b.routing + b.offchip + b.static };
}

/** Core-side busy time of the counted events, s: Σ n_event × t_event (compute events only). */
export function busyS(chip: ChipParams, c: EventCounts): number {
  const t = chip.timing.eventS;
  return (
    c.synops * t.synop +
    (c.learnOps ?? 0) * t.learn +
    c.neuronUpdatesActive * t.neuron_update_active +
    c.neuronUpdatesIdle * t.neuron_update_idle +
    c.spikesOut * t.spike_out +
    c.packets * t.packet
  );
}

/**
 * Energy of the counted events plus static power over the extent, by kind, per the chip's power
 * model. The per_event model is the sum of FACTS §3.1 term by term.
 */
export function energyJ(chip: ChipParams, c: EventCounts, x: RunExtent): EnergyBreakdownJ {
  const e = chip.energy;
  const pm = chip.power;
  const learn = c.learnOps ?? 0;
  switch (pm.kind) {
    case 'per_event':
      return withTotal({
        synaptic: c.synops * e.synopJ + learn * e.learnJ,
        neuron: c.neuronUpdatesActive * e.neuronUpdateActiveJ + c.neuronUpdatesIdle * e.neuronUpdateIdleJ,
        spike: c.spikesOut * e.spikeOutJ,
        routing: c.packets * e.packetJ + c.hopsTile * e.hopTileJ + c.hopsEW * e.hopEwJ + c.hopsNS * e.hopNsJ,
        offchip: c.chipCrossings * e.chipCrossingJ,
        static: (e.staticCoreW * x.coresUsed + e.staticChipW * x.chipsUsed) * x.wallS,
      });
    case 'truenorth_affine':
      return withTotal({
        synaptic: c.synops * pm.sopJ,
        neuron: 0,
        spike: 0,
        routing: 0,
        offchip: c.chipCrossings * e.chipCrossingJ,
        static: pm.p0W * x.chipsUsed * x.wallS,
      });
    case 'odin': {
      const f = chip.timing.clockHz ?? 0;
      return withTotal({
        synaptic: c.synops * pm.sopJ,
        neuron: 0,
        spike: 0,
        routing: 0,
        offchip: c.chipCrossings * e.chipCrossingJ,
        static: (pm.pLeakW + pm.pIdleWPerHz * f) * x.chipsUsed * x.wallS,
      });
    }
    case 'spinnaker': {
      // Active-core energy is split over the work that kept the cores busy.
      const t = chip.timing.eventS;
      const synT = c.synops * t.synop + learn * t.learn;
      const neuT = c.neuronUpdatesActive * t.neuron_update_active + c.neuronUpdatesIdle * t.neuron_update_idle;
      const spkT = c.spikesOut * t.spike_out + c.packets * t.packet;
      const sum = synT + neuT + spkT;
      const busy = x.coreBusyS ?? sum;
      const active = pm.activeCoreW * busy;
      const share = (part: number) => (sum > 0 ? (active * part) / sum : 0);
      // A packet passes its source router, then one router per hop; boundary hops are the off-chip part.
      return withTotal({
        synaptic: share(synT),
        neuron: sum > 0 ? share(neuT) : active,
        spike: share(spkT),
        routing: pm.packetJ * (c.packets + c.hopsEW + c.hopsNS - c.chipCrossings),
        offchip: pm.packetJ * c.chipCrossings,
        static: pm.idleChipW * x.chipsUsed * x.wallS,
      });
    }
  }
}

/** Mean power, W, at the given event rates (counts per second) on the given cores and chips. */
export function powerW(chip: ChipParams, ratesPerS: EventCounts, coresUsed: number, chipsUsed: number, coreBusyFraction?: number): number {
  return energyJ(chip, ratesPerS, { wallS: 1, coresUsed, chipsUsed, coreBusyS: coreBusyFraction === undefined ? undefined : coreBusyFraction * coresUsed }).total;
}

/** TrueNorth affine model: chip power, W, at r_SOP synaptic operations per second. */
export function truenorthAffinePowerW(p0W: number, sopJ: number, rSopPerS: number): number {
  return p0W + sopJ * rSopPerS;
}

/** ODIN model: power, W, at clock f and r_SOP synaptic operations per second. */
export function odinPowerW(pLeakW: number, pIdleWPerHz: number, sopJ: number, clockHz: number, rSopPerS: number): number {
  return pLeakW + pIdleWPerHz * clockHz + sopJ * rSopPerS;
}

/** SpiNNaker model (FEC): chip power, W, with a fraction u of its cores busy. */
export function spinnakerChipPowerW(idleChipW: number, fullChipW: number, u: number): number {
  return idleChipW + (fullChipW - idleChipW) * u;
}

/** Fits P = p0 + e × r through two (r, P) points (the way SC fitted A15 Fig. 17). */
export function fitAffine(a: [number, number], b: [number, number]): { p0: number; slope: number } {
  const slope = (b[1] - a[1]) / (b[0] - a[0]);
  return { p0: a[1] - slope * a[0], slope };
}

// ---------------------------------------------------------------------------------------------
// Timing (FACTS §3.2)

function interp(points: [number, number][], x: number, log: boolean): number {
  const f = (v: number) => (log ? Math.log2(v) : v);
  if (points.length === 1 || x <= points[0][0]) return points[0][1];
  let i = 1;
  while (i < points.length - 1 && x > points[i][0]) i++;
  const [x0, y0] = points[i - 1];
  const [x1, y1] = points[i];
  return y0 + ((y1 - y0) * (f(x) - f(x0))) / (f(x1) - f(x0));
}

/**
 * Barrier time, s, for a tick that used `tilesUsed` tiles on `chipsUsed` chips.
 * One chip: the tiles table, piecewise linear (flat below its first point, extrapolated past its
 * last). Several chips: the chips table, piecewise linear in log2(chips), starting from the
 * one-chip barrier of a full chip at 1 chip; never less than the one-chip barrier.
 */
export function barrierS(chip: ChipParams, tilesUsed: number, chipsUsed = 1): number {
  const tiles = chip.timing.barrierTilesS;
  const oneChip = (n: number) => (tiles.length ? Math.max(0, interp(tiles, n, false)) : 0);
  if (chipsUsed <= 1 || chip.timing.barrierChipsS.length === 0) return oneChip(tilesUsed);
  const full = oneChip(chip.chip.tilesX * chip.chip.tilesY);
  const pts: [number, number][] = [[1, full], ...chip.timing.barrierChipsS.filter(([n]) => n > 1)];
  return Math.max(full, interp(pts, chipsUsed, true));
}

export interface TickTime {
  /** the time the work of the tick takes: slowest core + NoC drain (+ barrier) */
  stepS: number;
  /** the tick's wall time: max(step, fixed period or throttle) */
  tickS: number;
  /** a fixed-period chip whose step did not fit in its period */
  overrun: boolean;
}

/**
 * One tick's duration: T_step = slowest core busy time + NoC drain + barrier(tiles, chips) (barrier
 * rule) and T_wall = max(T_step, T_tick) (FACTS §3.2). A fixed-tick chip has no barrier cost; its
 * tick overruns when T_step exceeds the period.
 */
export function tickTime(chip: ChipParams, maxCoreBusyS: number, nocDrainS: number, tilesUsed: number, chipsUsed = 1): TickTime {
  const t = chip.timing.tick;
  if (t.rule === 'fixed') {
    const stepS = maxCoreBusyS + nocDrainS;
    return { stepS, tickS: Math.max(stepS, t.periodS), overrun: stepS > t.periodS };
  }
  const stepS = maxCoreBusyS + nocDrainS + barrierS(chip, tilesUsed, chipsUsed);
  return { stepS, tickS: Math.max(stepS, t.minPeriodS), overrun: false };
}

/** Latency, s, of one packet over the route: injection + hops + crossings (or a tile-local delivery). */
export function packetLatencyS(chip: ChipParams, hopsEW: number, hopsNS: number, chipCrossings: number): number {
  const t = chip.timing.eventS;
  if (hopsEW === 0 && hopsNS === 0) return t.packet + t.hop_tile;
  return t.packet + hopsEW * t.hop_ew + hopsNS * t.hop_ns + chipCrossings * t.chip_crossing;
}

// ---------------------------------------------------------------------------------------------
// ANN baselines (FACTS §3.5: Horowitz, ISSCC 2014, 45 nm, 0.9 V)

export interface AnnBaseline {
  name: string;
  multPj: number;
  addPj: number;
  source: string;
  tag: 'P' | 'P*' | 'C' | 'D' | 'S' | 'U';
}

export const ANN_BASELINES: Record<string, AnnBaseline> = {
  'fp32-45nm': { name: 'fp32-45nm', multPj: 3.7, addPj: 0.9, source: 'Horowitz ISSCC 2014, 45 nm 0.9 V (FACTS §3.5: PMC8934428 Table 3)', tag: 'S' },
  'fp16-45nm': { name: 'fp16-45nm', multPj: 1.1, addPj: 0.4, source: 'Horowitz ISSCC 2014, 45 nm 0.9 V (FACTS §3.5: PMC8934428 Table 3)', tag: 'S' },
  'int32-45nm': { name: 'int32-45nm', multPj: 3.1, addPj: 0.1, source: 'Horowitz ISSCC 2014 via LEAT-EDGE/qualia-plugin-snn (FACTS §3.5)', tag: 'C' },
  'int8-45nm': { name: 'int8-45nm', multPj: 0.2, addPj: 0.03, source: 'Horowitz ISSCC 2014, 45 nm 0.9 V (FACTS §3.5: PMC8934428 Table 3)', tag: 'S' },
};

/**
 * Why there is no GPU baseline: FACTS.md §1.8 lists the paper's GPU figure as unconfirmed [U] and
 * gives no GPU energy with a source, and no sourced per-frame GPU energy of Tiny YOLO was found.
 */
export const GPU_BASELINE_NOTE =
  'no GPU baseline: FACTS.md gives no sourced GPU energy figure (the paper\'s GPU comparison is unconfirmed, §1.8)';

export interface AnnEnergy {
  name: string;
  macs: number;
  perMacPj: number;
  energyJ: number;
  source: string;
}

/** ANN energy: MACs × (multiply + add) energy of the named baseline. */
export function annBaselineJ(macs: number, name = 'fp32-45nm'): AnnEnergy {
  const b = ANN_BASELINES[name];
  if (!b) throw new UserError(`unknown ANN baseline "${name}" (known: ${Object.keys(ANN_BASELINES).join(', ')})`);
  const perMacPj = b.multPj + b.addPj;
  return { name, macs, perMacPj, energyJ: macs * perMacPj * 1e-12, source: b.source };
}
