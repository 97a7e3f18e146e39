/**
 * Toy chips and networks whose mappings the tests work out by hand:
 * - toyChip/toyNet: the toy of tests/account.test.ts (also replayed from traces/toy.bin by
 *   tests/trace.test.ts): a two-core, two-chip board and a two-layer network whose every event,
 *   joule and nanosecond is worked out by hand there;
 * - meshToyChip/meshToyNet: tiny cores on a 2×2 router mesh, for tests/mapper.test.ts and
 *   tests/routing.test.ts.
 */
import { loadChip, type ChipParams } from '../../src/hw/chip-schema.ts';
import type { SnnNetwork } from '../../src/convert/snn-ir.ts';
import type { Shape } from '../../src/model/ir.ts';
import { convLayer, makeSnn } from '../../src/sim/handmade.ts';

const pJ = 1e-12, ns = 1e-9;

/**
 * A generic-style toy chip: 2 cores per chip on a 1×2 router mesh (one core per router), a board
 * of 2×1 chips: the global mesh is 2×2 routers with the chip boundary between x = 0 and x = 1.
 * Round per-event energies and times so that the hand arithmetic is exact.
 */
export function toyChip(): ChipParams {
  const p = structuredClone(loadChip('generic').params);
  p.name = 'toy';
  p.variant = undefined;
  p.board = { chipsX: 2, chipsY: 1 };
  p.chip = { cores: 2, tilesX: 1, tilesY: 2, coresPerTile: 1, mgmtCores: 0 };
  p.core = {
    ...p.core, neurons: 2, axons: 18, synapseMemoryBits: 1 << 20, bitsPerSynapse: 1, maxSynapses: 1 << 20, sharesKernels: true,
    maxWeightsPerNeuron: Infinity, maxFanoutPerNeuron: Infinity, maxFanoutPerCore: Infinity,
  };
  p.noc = { ...p.noc, multicast: false, linkPacketsPerS: 1e9, offchipPacketsPerS: 1e8, maxHopSpan: Infinity, routeEntries: Infinity };
  p.energy = {
    synopJ: 1 * pJ, learnJ: 0, neuronUpdateActiveJ: 10 * pJ, neuronUpdateIdleJ: 2 * pJ, spikeOutJ: 5 * pJ, packetJ: 3 * pJ,
    hopTileJ: 0, hopEwJ: 7 * pJ, hopNsJ: 11 * pJ, chipCrossingJ: 100 * pJ, staticCoreW: 1e-3, staticChipW: 10e-3, activeUpdate: 'input',
  };
  p.power = { kind: 'per_event' };
  p.timing = {
    tick: { rule: 'barrier', minPeriodS: 0 },
    clockHz: null,
    eventS: {
      synop: 10 * ns, learn: 0, neuron_update_active: 20 * ns, neuron_update_idle: 5 * ns, spike_out: 1 * ns, packet: 2 * ns,
      hop_tile: 0, hop_ew: 3 * ns, hop_ns: 4 * ns, chip_crossing: 50 * ns,
    },
    barrierTilesS: [[1, 100 * ns], [4, 400 * ns]],
    barrierChipsS: [],
    coreWork: 'sum',
    // the hand figures are of the idealised tick (tests/snn-core.test.ts covers the delay)
    layerDelayTicks: 0,
  };
  return p;
}

/**
 * Layer 0: 1×1 conv reading the analog 1×2 image x = (1, 1), weights 0.5 (channel 0) and 0.25
 * (channel 1), IF with vth 1: channel 0 fires at ticks 2, 4, channel 1 at tick 4 (both pixels).
 * Layer 1: 3×3 pad 1 conv 2 → 2, integrating (the readout): every layer-0 spike reaches both of
 * its pixels.
 */
export function toyNet(): SnnNetwork {
  const input: Shape = { c: 1, h: 1, w: 2 };
  const l0 = convLayer(0, -1, input, { filters: 2, size: 1, rule: 'if', vthPos: 1, weights: Float32Array.of(0.5, 0.25) });
  const l1 = convLayer(1, 0, l0.outShape, { filters: 2, size: 3, pad: 1, rule: 'integrate', weights: new Float32Array(2 * 2 * 9).fill(1) });
  return makeSnn(input, [l0, l1], [1]);
}

// ---------------------------------------------------------------------------------------------
// the mapper and routing tests' toy: tiny cores on a 2×2 router mesh

/** A generic-style chip with tiny cores: 4 cores per chip on a 2×2 router mesh, one core per router. */
export function meshToyChip(over: { core?: Partial<ChipParams['core']>; noc?: Partial<ChipParams['noc']>; board?: ChipParams['board']; chip?: Partial<ChipParams['chip']> } = {}): ChipParams {
  const p = structuredClone(loadChip('generic').params);
  p.name = 'toy';
  p.board = over.board ?? { chipsX: 2, chipsY: 1 };
  p.chip = { cores: 4, tilesX: 2, tilesY: 2, coresPerTile: 1, mgmtCores: 0, ...over.chip };
  p.core = {
    ...p.core, neurons: 8, axons: 18, synapseMemoryBits: 1 << 20, bitsPerSynapse: 1, maxSynapses: 1 << 20, sharesKernels: true,
    maxWeightsPerNeuron: Infinity, maxFanoutPerNeuron: Infinity, maxFanoutPerCore: Infinity, ...over.core,
  };
  p.noc = { ...p.noc, multicast: false, maxHopSpan: Infinity, routeEntries: Infinity, ...over.noc };
  return p;
}

/** conv 1→2 (3×3, pad 1) on a 4×4 analog image, then conv 2→2 (3×3, pad 1) read out. */
export function meshToyNet(): SnnNetwork {
  const a = convLayer(0, -1, { c: 1, h: 4, w: 4 }, { filters: 2, size: 3, pad: 1 });
  const b = convLayer(1, 0, a.outShape, { filters: 2, size: 3, pad: 1, rule: 'integrate' });
  return makeSnn({ c: 1, h: 4, w: 4 }, [a, b], [1]);
}
