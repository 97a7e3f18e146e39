/**
 * Energy per frame at four accounting levels, each beside its ANN counterpart, so a figure can
 * be compared with papers that count less than the chip does (issue 14):
 *
 *   ops      SOPs × E_AC   against  MACs × E_MAC, both at the baseline's node and precision
 *            (the op-count proxy of most papers, NeuroBench and keras-spiking: FACTS §3.5, §3.7)
 *   dynamic  the chip's on-chip event energy: synaptic + neuron + spike + routing (the chip file's
 *            per-event figures, FACTS §3.1)
 *            against  MACs × E_MAC + every operand read from and result written to a local 8 KB
 *            SRAM (Horowitz 2014, FACTS §3.5: 10 pJ per 64-bit access; one access per operand)
 *   offchip  + chip crossings    against  + every weight read once per frame from DRAM
 *            (Horowitz 2014, FACTS §3.5: 1300 pJ per 64-bit access, the low end of 1300–2600)
 *   static   + static power over the frame's wall time = the run's energy per frame
 *            against  the same as offchip: no sourced ANN accelerator static power (none modelled)
 *
 * Levels dynamic..static are cumulative sums of the chip's breakdown; ops is the proxy that the
 * chip levels replace (the chip's own synaptic energy is in "dynamic").
 */
import type { Network } from '../model/ir.ts';
import { layerMacs } from '../model/stats.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../model/load.ts';
import { UserError } from '../util/errors.ts';
import { ANN_BASELINES } from './power.ts';

export type AccountingLevel = 'ops' | 'dynamic' | 'offchip' | 'static';
export const ACCOUNTING_LEVELS: readonly AccountingLevel[] = ['ops', 'dynamic', 'offchip', 'static'];

export interface LevelFigure {
  level: AccountingLevel;
  /** the SNN on the chip, J per frame */
  per_frame_J: number;
  /** the ANN counterpart, J per frame */
  ann_J: number;
  /** ann_J / per_frame_J (> 1: the SNN costs less) */
  ratio: number;
  /** what the level counts on each side, with its sources */
  rule: string;
}

/** Word width of the baseline's precision (fp32 → 32 bits). */
export function baselineBits(baseline: string): number {
  const m = /(\d+)-/.exec(baseline);
  return m ? Number(m[1]) : 32;
}

/** Horowitz 2014 (FACTS §3.5): 8 KB SRAM, J per 64-bit access (the smallest buffer of the table). */
export const SRAM_8KB_64BIT_J = 10e-12;

/** Horowitz 2014 (FACTS §3.5): DRAM, J per 64-bit access (the low end of 1300–2600 pJ). */
export const DRAM_64BIT_J = 1300e-12;

export interface AnnLayerMovement {
  layer: number;
  name: string;
  macs: number;
  weights: number;
  compute_J: number;
  /** operand reads (weight and input per MAC) and result writes (one per output) in on-chip SRAM */
  sram_J: number;
  /** the layer's weights read once per frame from DRAM */
  dram_J: number;
}

export interface AnnAccelerator {
  baseline: string;
  bits: number;
  compute_J: number;
  sram_J: number;
  dram_J: number;
  /** compute + SRAM + DRAM */
  total_J: number;
  layers: AnnLayerMovement[];
  rule: string;
}

/**
 * The ANN on an accelerator that moves its data, layer by layer: each MAC reads its weight and its
 * input from a local 8 KB SRAM, each output is written there once (one access per operand, at any
 * width up to 64 bits: an upper bound for narrow words, which real buffers pack), and every weight
 * (and bias) comes once per frame from DRAM. Horowitz's 45 nm figures, the MACs' own node. Why not
 * Lemaire et al. (FACTS §3.6): its per-access energy grows with the memory's size, which for one
 * memory per layer prices a weight read of Tiny YOLO v2's largest layer (9.4 M weights) at 3.3 nJ.
 */
export function annAccelerator(net: Network, baseline = 'fp32-45nm'): AnnAccelerator {
  const b = ANN_BASELINES[baseline];
  const bits = baselineBits(baseline);
  const macJ = (b.multPj + b.addPj) * 1e-12;
  const perDram = DRAM_64BIT_J * (bits / 64);
  const layers: AnnLayerMovement[] = [];
  for (const l of net.layers) {
    if (l.kind !== 'conv') continue;
    const macs = layerMacs(l);
    const weights = l.weights.length + l.filters; // the folded bias, one per filter
    const outputs = l.outShape.c * l.outShape.h * l.outShape.w;
    const sram = (2 * macs + outputs) * SRAM_8KB_64BIT_J;
    layers.push({ layer: l.index, name: l.name, macs, weights, compute_J: macs * macJ, sram_J: sram, dram_J: weights * perDram });
  }
  const sum = (k: 'compute_J' | 'sram_J' | 'dram_J') => layers.reduce((a, x) => a + x[k], 0);
  const compute_J = sum('compute_J'), sram_J = sum('sram_J'), dram_J = sum('dram_J');
  return {
    baseline, bits, compute_J, sram_J, dram_J, total_J: compute_J + sram_J + dram_J, layers,
    rule: `${baseline} MACs (${b.multPj}+${b.addPj} pJ); weight + input read per MAC and each output written once in an 8 KB SRAM at ${SRAM_8KB_64BIT_J * 1e12} pJ per access; ` +
      `every weight once per frame from DRAM at ${DRAM_64BIT_J * 1e12} pJ per 64 bits (low end of 1300–2600); Horowitz ISSCC 2014, 45 nm (FACTS §3.5); no ANN static power (no sourced figure)`,
  };
}

export interface ChipEnergyParts {
  per_frame_J: number;
  breakdown_J: { synaptic: number; neuron: number; spike: number; routing: number; offchip: number; static: number };
}

/**
 * The four levels of one chip's run. `sopsPerFrame`: the network's SOPs (synaptic events on chip
 * when the network's count is unknown); the ANN side is `acc` (its compute is MACs × E_MAC).
 */
export function accountingLevels(e: ChipEnergyParts, sopsPerFrame: number, acc: AnnAccelerator, chipPowerModel: string): LevelFigure[] {
  const b = ANN_BASELINES[acc.baseline];
  const x = e.breakdown_J;
  const dynamic = x.synaptic + x.neuron + x.spike + x.routing;
  const offchip = dynamic + x.offchip;
  const annOps = acc.compute_J;
  const annDynamic = acc.compute_J + acc.sram_J;
  const annOffchip = acc.total_J;
  const level = (lv: AccountingLevel, snn: number, ann: number, rule: string): LevelFigure => ({ level: lv, per_frame_J: snn, ann_J: ann, ratio: snn > 0 ? ann / snn : Infinity, rule });
  const fitNote = chipPowerModel === 'truenorth_affine' ? ' (TrueNorth affine fit: routing and neuron updates are inside its per-SOP slope)' : '';
  return [
    level('ops', sopsPerFrame * b.addPj * 1e-12, annOps, `SOPs × ${b.addPj} pJ (${acc.baseline} add) against MACs × ${b.multPj + b.addPj} pJ (${acc.baseline} multiply + add); ${b.source}`),
    level('dynamic', dynamic, annDynamic, `the chip's synaptic + neuron + spike + routing energy${fitNote} against MACs + operand traffic in an 8 KB SRAM (Horowitz 2014)`),
    level('offchip', offchip, annOffchip, 'dynamic + chip crossings against dynamic + weights once per frame from DRAM (Horowitz 2014)'),
    level('static', e.per_frame_J, annOffchip, 'offchip + the chip\'s static power over the frame\'s wall time (= energy per frame) against the ANN at offchip: no ANN static power modelled'),
  ];
}

export interface DeviceAnchor {
  name: string;
  device: string;
  network: string;
  energy_per_frame_J: number;
  latency_s: number | null;
  measured: string;
  source: string;
  tag: string;
}

/**
 * Measured energy per frame of other detectors on real devices (data/anchors.json): reference
 * points for a different network on a different device, printed as such, never a baseline.
 */
export function deviceAnchors(file = join(PROJECT_ROOT, 'data', 'anchors.json')): DeviceAnchor[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UserError(`${file}: cannot read the device anchors (${(e as Error).message.split('\n')[0]})`);
  }
  const list = (parsed as { anchors?: unknown }).anchors;
  if (!Array.isArray(list)) throw new UserError(`${file}: anchors: expected an array`);
  return list.map((a, i) => {
    const x = a as DeviceAnchor;
    for (const k of ['name', 'device', 'network', 'measured', 'source', 'tag'] as const)
      if (typeof x?.[k] !== 'string' || x[k].length === 0) throw new UserError(`${file}: anchors[${i}].${k}: expected a non-empty string`);
    if (!(typeof x.energy_per_frame_J === 'number' && x.energy_per_frame_J > 0 && Number.isFinite(x.energy_per_frame_J))) throw new UserError(`${file}: anchors[${i}].energy_per_frame_J: expected a positive number of joules`);
    return x;
  });
}
