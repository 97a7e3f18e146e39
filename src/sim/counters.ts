/**
 * The event counts of a simulation, exact and accumulated over the run (since the last reset).
 * They are what the energy model consumes, so their definitions are spelled out:
 *
 * - posSpikes / negSpikes[c]: +1 / −1 spikes the layer emitted in output channel c. For a conv
 *   these are its neurons' spikes; for a max-pool the spikes it forwarded; for a route or an
 *   upsample the spike events it passes on (copies of its sources' spikes, stride² per spike for an
 *   upsample) — not new neurons, so `totals` counts spikes of conv layers only.
 * - sops[c]: synaptic operations into output channel c: one SOP = one input spike delivered to
 *   one synapse = one weight added to one membrane. Exactly the adds done: a kernel tap whose
 *   output pixel falls outside the layer (border) is not delivered and not counted. Only convs
 *   have synapses; the analog-input layer's constant current is not a spike and counts no SOP.
 * - neuronUpdates[c]: neurons of channel c whose state was updated, summed over ticks. The core is
 *   time-stepped: every conv neuron integrates its bias, tests its threshold and (maybe) resets
 *   every tick, so this is ticks × H × W for every conv channel (0 for the other kinds).
 * - activeNeurons[c]: neurons of channel c that received at least one input event in a tick,
 *   summed over ticks (the event-driven share an energy model may price differently). Every
 *   neuron of an analog-input layer receives the image current every tick and counts as active.
 */
export interface LayerCounts {
  index: number;
  kind: 'conv' | 'maxpool' | 'route' | 'upsample';
  posSpikes: Float64Array;
  negSpikes: Float64Array;
  sops: Float64Array;
  neuronUpdates: Float64Array;
  activeNeurons: Float64Array;
  /** sums over the channels */
  total: CountTotals;
}

export interface CountTotals {
  posSpikes: number;
  negSpikes: number;
  sops: number;
  neuronUpdates: number;
  activeNeurons: number;
}

export interface SimCounts {
  /** ticks done */
  ticks: number;
  layers: LayerCounts[];
  /** Poisson input spikes per input channel (zeros with analog input) */
  input: { posSpikes: Float64Array; negSpikes: Float64Array };
  /** over the network: spikes and neuron counts of conv layers, SOPs of all layers */
  totals: CountTotals;
}

export const sum = (a: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
};

export function layerTotals(l: Omit<LayerCounts, 'total'>): CountTotals {
  return {
    posSpikes: sum(l.posSpikes),
    negSpikes: sum(l.negSpikes),
    sops: sum(l.sops),
    neuronUpdates: sum(l.neuronUpdates),
    activeNeurons: sum(l.activeNeurons),
  };
}

export function networkTotals(layers: LayerCounts[]): CountTotals {
  const t: CountTotals = { posSpikes: 0, negSpikes: 0, sops: 0, neuronUpdates: 0, activeNeurons: 0 };
  for (const l of layers) {
    t.sops += l.total.sops;
    if (l.kind !== 'conv') continue;
    t.posSpikes += l.total.posSpikes;
    t.negSpikes += l.total.negSpikes;
    t.neuronUpdates += l.total.neuronUpdates;
    t.activeNeurons += l.total.activeNeurons;
  }
  return t;
}

/**
 * Per-channel SOPs and active neurons of a conv from its per-group counters: every delivered tap
 * adds one weight to each of the group's C_out/groups channels at one output pixel; an active
 * (pixel, group) pair activates one neuron in each of the group's channels.
 */
export function expandGroups(perGroup: ArrayLike<number>, channels: number): Float64Array {
  const groups = perGroup.length;
  const coutG = channels / groups;
  const out = new Float64Array(channels);
  for (let c = 0; c < channels; c++) out[c] = perGroup[Math.floor(c / coutG)];
  return out;
}
