/**
 * Chip models: the zod schema of a chip file (chips/*.json), its defaults, loading and validation,
 * and the flat SI view (`ChipParams`) that the mapper, the timing model and the energy model read.
 *
 * Every number in a chip file is a *figure*: `{ "value": 23.6, "source": "D18 Table 2 p.96",
 * "tag": "P*", "note": "..." }`. The schema refuses a bare number, so no figure can lose its
 * source. `source` starts with a key declared in the file's `sources` map (or the implicit key
 * `neuroemu`, which means "a choice neuroemu made; chips/README.md says why"). Categorical fields
 * (booleans, enums) are plain values; their provenance goes in the section's `notes`.
 * Keys starting with `_` (e.g. `_comment`) and `$schema` are ignored anywhere in a file.
 * chips/README.md documents every field, its unit and its default.
 */
import { checkJsonDepth } from '../util/json.ts';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { UserError } from '../util/errors.ts';

/** The directory of the built-in chip files. */
export const CHIPS_DIR = fileURLToPath(new URL('../../chips/', import.meta.url));

/** Evidence tags of FACTS.md: primary, primary-via-quotation, code, derived, secondary, unconfirmed. */
export const EVIDENCE_TAGS = ['P', 'P*', 'C', 'D', 'S', 'U'] as const;
export type EvidenceTag = (typeof EVIDENCE_TAGS)[number];

/** A source key every file may use without declaring it: a choice made (and documented) by neuroemu. */
export const IMPLICIT_SOURCE_KEY = 'neuroemu';

// ---------------------------------------------------------------------------------------------
// Figures

interface Bounds {
  int?: boolean;
  /** inclusive lower bound */
  min?: number;
  /** exclusive lower bound */
  gt?: number;
  /** inclusive upper bound */
  max?: number;
}

function boundsText(b: Bounds): string {
  const what = b.int ? 'an integer' : 'a number';
  const parts: string[] = [];
  if (b.gt !== undefined) parts.push(`> ${b.gt}`);
  if (b.min !== undefined) parts.push(`>= ${b.min}`);
  if (b.max !== undefined) parts.push(`<= ${b.max}`);
  return `expected ${what}${parts.length ? ' ' + parts.join(' and ') : ''}`;
}

function boundedNumber(b: Bounds) {
  const error = boundsText(b);
  let s = z.number({ error });
  if (b.int) s = s.int({ error });
  if (b.min !== undefined) s = s.min(b.min, { error });
  if (b.gt !== undefined) s = s.gt(b.gt, { error });
  if (b.max !== undefined) s = s.max(b.max, { error });
  return s;
}

const sourceText = z
  .string({ error: 'expected a source string: "<KEY> <where>", KEY declared in "sources"' })
  .min(1, { error: 'expected a non-empty source: "<KEY> <where>"' });
const tagEnum = z.enum(EVIDENCE_TAGS, { error: `expected one of the evidence tags ${EVIDENCE_TAGS.join(', ')}` });

function figureError(iss: { input?: unknown }): string {
  if (iss.input === undefined) return 'required field missing';
  if (typeof iss.input === 'number') return `a bare number needs a source: write {"value": ${iss.input}, "source": "<KEY> <where>", "tag": "P"}`;
  return 'expected a figure {"value", "source", "tag"?, "note"?}';
}

/** A numeric figure: value (with bounds), source, optional evidence tag and note. */
function fig(b: Bounds, description: string) {
  return z
    .strictObject(
      {
        value: boundedNumber(b),
        source: sourceText,
        tag: tagEnum.optional(),
        note: z.string({ error: 'expected a string' }).optional(),
      },
      { error: figureError },
    )
    .describe(description);
}

/** A table figure: value is a list of [x, y] points with x strictly increasing (interpolated). */
function tableFig(description: string) {
  const point = z.tuple([boundedNumber({ gt: 0 }), boundedNumber({ min: 0 })], { error: 'expected a point [x, y]' });
  return z
    .strictObject(
      {
        value: z.array(point, { error: 'expected a list of [x, y] points' }).min(1, { error: 'expected at least one [x, y] point' }),
        source: sourceText,
        tag: tagEnum.optional(),
        note: z.string({ error: 'expected a string' }).optional(),
      },
      { error: figureError },
    )
    .describe(description);
}

export interface Figure {
  value: number;
  source: string;
  tag?: EvidenceTag;
  note?: string;
}

/** The figure a schema default supplies: source `neuroemu default`, tag U, with a note saying so. */
function def(value: number, note: string): Figure {
  return { value, source: `${IMPLICIT_SOURCE_KEY} default`, tag: 'U', note: `schema default: ${note}` };
}

const notes = z.string({ error: 'expected a string' }).optional().describe('free text: provenance of the categorical fields of this section, caveats');

// ---------------------------------------------------------------------------------------------
// Sections

const pos = { gt: 0 };
const nonneg = { min: 0 };
const int1 = { int: true, min: 1 };
const int0 = { int: true, min: 0 };
const bits = { int: true, min: 1, max: 64 };

const BoardSchema = z
  .strictObject({
    chips_x: fig(int1, 'chips along x of the board (the chip grid is itself a 2D mesh)'),
    chips_y: fig(int1, 'chips along y of the board'),
    notes,
  })
  .describe('the board the chip is modelled on: a chips_x × chips_y grid of identical chips');

const ChipSectionSchema = z
  .strictObject({
    process_nm: fig(pos, 'process node, nm (informative)').optional(),
    area_mm2: fig(pos, 'die area, mm² (informative)').optional(),
    cores: fig(int1, 'neuromorphic cores per chip usable by the mapper'),
    tiles_x: fig(int1, 'tiles (routers) along x of the on-chip 2D mesh'),
    tiles_y: fig(int1, 'tiles (routers) along y of the on-chip 2D mesh'),
    mgmt_cores: fig(int0, 'management cores per chip not usable for neurons (Loihi x86, SpiNNaker monitor)').default(def(0, 'no management cores')),
    notes,
  })
  .describe('one chip: cores on a tiles_x × tiles_y mesh of routers, noc.cores_per_tile cores per router');

const CoreSchema = z
  .strictObject({
    neurons: fig(int1, 'neurons (compartments) per core'),
    axons: fig(int1, 'input axons per core = fan-in limit of the core; absent: limited only by synapse memory').optional(),
    synapse_memory_bits: fig(int1, 'synapse memory per core, bits'),
    bits_per_synapse: fig(pos, 'bits one stored synapse costs in synapse memory'),
    weight_bits: fig(bits, 'synaptic weight precision, bits (signed)'),
    membrane_bits: fig(bits, 'membrane potential precision, bits (signed)'),
    shares_kernels: z
      .boolean({ error: 'expected true or false' })
      .describe('true: a convolution kernel is stored once per core and shared (Loihi-style); false: unrolled into the crossbar (TrueNorth)'),
    max_weights_per_neuron: fig(int1, 'distinct weight values per neuron (TrueNorth: 4 axon types); absent: unlimited').optional(),
    max_fanout_per_neuron: fig(int1, 'destination cores (axons) per neuron (TrueNorth: 1); absent: unlimited').optional(),
    max_fanout_per_core: fig(int1, 'core-to-core fan-out edges per core (Loihi N_axout 4096); absent: unlimited').optional(),
    notes,
  })
  .describe('one neuromorphic core');

const TickSchema = z
  .discriminatedUnion(
    'rule',
    [
      z.strictObject({
        rule: z.literal('fixed').describe('every tick lasts period_s (TrueNorth, SpiNNaker real time); a slower step overruns'),
        period_s: fig(pos, 'tick period, s'),
      }),
      z.strictObject({
        rule: z.literal('barrier').describe('a tick ends when the slowest core, the NoC drain and the barrier are done (Loihi)'),
        min_period_s: fig(nonneg, 'throttle: a tick lasts at least this, s (Loihi real-time mode: 1 ms)').default(def(0, 'unthrottled')),
        barrier_tiles_ns: tableFig('barrier time, ns, against tiles used on one chip: [[tiles, ns], ...], piecewise linear').optional(),
        barrier_chips_ns: tableFig('multi-chip barrier time, ns, against chips used: [[chips, ns], ...], piecewise linear in log2(chips)').optional(),
      }),
    ],
    { error: 'expected {"rule": "fixed", "period_s": ...} or {"rule": "barrier", ...}' },
  )
  .describe('the tick rule');

const ClockSchema = z
  .discriminatedUnion(
    'kind',
    [
      z.strictObject({ kind: z.literal('async').describe('no global clock: per-event times must be given in ns') }),
      z.strictObject({ kind: z.literal('sync'), hz: fig(pos, 'core clock, Hz') }),
    ],
    { error: 'expected {"kind": "async"} or {"kind": "sync", "hz": ...}' },
  )
  .describe('clocking');

/** Event kinds that cost time (and energy). `*_ns` or `*_cycles` per kind, exactly one. */
export const TIMED_EVENTS = [
  'synop',
  'learn',
  'neuron_update_active',
  'neuron_update_idle',
  'spike_out',
  'packet',
  'hop_tile',
  'hop_ew',
  'hop_ns',
  'chip_crossing',
] as const;
export type TimedEvent = (typeof TIMED_EVENTS)[number];
/** Events whose time may be omitted (then 0). */
const OPTIONAL_TIMED: ReadonlySet<TimedEvent> = new Set(['learn', 'packet', 'hop_tile']);

const EVENT_DESCRIPTIONS: Record<TimedEvent, string> = {
  synop: 'one synaptic operation (one synapse integrating one incoming spike)',
  learn: 'one synaptic learning update',
  neuron_update_active: 'one neuron update in a tick where the neuron received input or fired',
  neuron_update_idle: 'one neuron update in a tick without input',
  spike_out: 'generating one output spike at the source core',
  packet: 'injecting one packet into the NoC at the source core',
  hop_tile: 'delivering one packet to a core in the same tile (0 mesh hops)',
  hop_ew: 'one east-west hop between adjacent routers',
  hop_ns: 'one north-south hop between adjacent routers',
  chip_crossing: 'one hop that crosses a chip boundary (in addition to the hop itself)',
};

type TimedKey = `${TimedEvent}_ns` | `${TimedEvent}_cycles`;

function timedShape(): Record<TimedKey, z.ZodOptional<ReturnType<typeof fig>>> {
  const shape = {} as Record<TimedKey, z.ZodOptional<ReturnType<typeof fig>>>;
  for (const e of TIMED_EVENTS) {
    shape[`${e}_ns`] = fig(nonneg, `time of ${EVENT_DESCRIPTIONS[e]}, ns`).optional();
    shape[`${e}_cycles`] = fig(nonneg, `time of ${EVENT_DESCRIPTIONS[e]}, clock cycles (sync clock only)`).optional();
  }
  return shape;
}

const TimingSchema = z
  .strictObject({
    tick: TickSchema,
    clock: ClockSchema,
    ...timedShape(),
    core_work: z
      .enum(['sum', 'overlap'], { error: 'expected "sum" or "overlap"' })
      .default('sum')
      .describe('a core\'s busy time in a tick: sum (synaptic, neuron and output work one after the other; neuroemu\'s default) or overlap (the longest of the three, as SANA-FE\'s pipelined cores)'),
    layer_delay_ticks: fig({ int: true, min: 0, max: 1 }, 'ticks a spike takes from one neuron layer to the next: 1 = a spike emitted at tick t is integrated by the next layer at t + 1 (tick-based chips), so a readout D neuron layers deep starts D − 1 ticks later; 0 = it crosses the whole network within its tick (event-driven, or the idealised tick)')
      .default(def(1, 'a spike emitted at tick t is integrated by the next layer at t + 1, as on Loihi, TrueNorth and SpiNNaker')),
    notes,
  })
  .describe('tick rule, clock and the time of each event kind (give <event>_ns or <event>_cycles)');

const NocSchema = z
  .strictObject({
    topology: z.literal('mesh2d', { error: 'expected "mesh2d"' }).describe('2D mesh of tiles, across chips as well'),
    routing: z.literal('xy', { error: 'expected "xy"' }).describe('dimension-order routing, X first then Y; hops = |dx| + |dy|'),
    multicast: z
      .boolean({ error: 'expected true or false' })
      .describe('true: one packet per spike branches in the routers; false: one packet per destination core'),
    cores_per_tile: fig(int1, 'cores sharing one router (Loihi: 4)').default(def(1, 'one core per router')),
    packet_bits: fig(int1, 'bits per spike packet'),
    link_packets_per_s: fig(pos, 'packets per second one mesh link carries; absent: link load not checked').optional(),
    offchip_packets_per_s: fig(pos, 'packets per second one chip-to-chip link carries; absent: not checked').optional(),
    max_hop_span: fig(int1, 'largest |dx| or |dy| one packet can address (TrueNorth ±255); absent: unlimited').optional(),
    route_entries: fig(int1, 'routing-table entries per router (SpiNNaker); absent: unlimited').optional(),
    notes,
  })
  .describe('network on chip');

const PowerModelSchema = z
  .discriminatedUnion(
    'kind',
    [
      z.strictObject({
        kind: z.literal('per_event').describe('E = Σ events × energy.* + (static_core_W × cores used + static_chip_W × chips used) × wall time'),
      }),
      z.strictObject({
        kind: z.literal('truenorth_affine').describe('P = p0_W + sop_pJ × r_SOP per chip; hops and neuron updates are inside the fit'),
        p0_W: fig(nonneg, 'power per chip at zero synaptic activity, W (fit intercept)'),
        sop_pJ: fig(nonneg, 'marginal energy per synaptic operation, pJ (fit slope; includes average routing)'),
        voltage_V: fig(pos, 'supply voltage of the fit, V'),
        sweep_rate_hz_power_mW: tableFig('published points the fit reproduces: [[mean firing rate Hz, chip power mW], ...]').optional(),
        sweep_synapses_per_neuron: fig(pos, 'active synapses per neuron in the sweep (r_SOP = rate × neurons × this)').optional(),
        sweep_neurons: fig(int1, 'neurons firing in the sweep').optional(),
      }),
      z.strictObject({
        kind: z.literal('odin').describe('P = p_leak_W + p_idle_W_per_MHz × f_clk + sop_pJ × r_SOP (r_SOP <= f_clk / synop_cycles)'),
        p_leak_W: fig(nonneg, 'leakage power, W'),
        p_idle_W_per_MHz: fig(nonneg, 'idle (clock) power per MHz of clock, W/MHz'),
        sop_pJ: fig(nonneg, 'incremental energy per synaptic operation, pJ'),
        voltage_V: fig(pos, 'supply voltage, V'),
        global_sop_pJ: fig(nonneg, 'published global energy per SOP (total power / r_SOP at full load), pJ').optional(),
        measured_power_W: fig(nonneg, 'published total power at the clock of timing.clock.hz and full SOP load, W').optional(),
      }),
      z.strictObject({
        kind: z.literal('spinnaker').describe('E = idle_chip_W × chips × T + (full_chip_W − idle_chip_W)/(cores+mgmt) × core busy time + packet_nJ × router passes'),
        idle_chip_W: fig(nonneg, 'chip power with all cores idle, W'),
        full_chip_W: fig(nonneg, 'chip power with all cores busy, W'),
        packet_nJ: fig(nonneg, 'energy per packet per router it passes, nJ'),
      }),
    ],
    { error: 'expected a power model: {"kind": "per_event" | "truenorth_affine" | "odin" | "spinnaker", ...}' },
  )
  .describe('which closed-form model prices a run (src/hw/power.ts)');

const EnergySchema = z
  .strictObject({
    synop_pJ: fig(nonneg, 'energy per synaptic operation, pJ'),
    learn_pJ: fig(nonneg, 'energy per synaptic learning update, pJ').default(def(0, 'no learning is emulated')),
    neuron_update_active_pJ: fig(nonneg, 'energy per active neuron update, pJ'),
    neuron_update_idle_pJ: fig(nonneg, 'energy per idle neuron update, pJ'),
    spike_out_pJ: fig(nonneg, 'energy per generated spike at the source core, pJ'),
    packet_pJ: fig(nonneg, 'energy per packet injected into the NoC, pJ').default(def(0, 'included in hop energies')),
    hop_tile_pJ: fig(nonneg, 'energy per packet delivered within its source tile, pJ').default(def(0, 'one core per tile')),
    hop_ew_pJ: fig(nonneg, 'energy per east-west hop, pJ'),
    hop_ns_pJ: fig(nonneg, 'energy per north-south hop, pJ'),
    chip_crossing_pJ: fig(nonneg, 'energy per chip-boundary crossing, pJ, in addition to that hop'),
    static_core_W: fig(nonneg, 'static power per core used, W'),
    static_chip_W: fig(nonneg, 'static power per chip used, W'),
    active_update: z
      .enum(['input', 'nonzero'], { error: 'expected "input" or "nonzero"' })
      .default('input')
      .describe('when a neuron update is priced as active: input (its neuron received an input event that tick; neuroemu\'s default) or nonzero (also when it holds a non-zero potential or bias, as SANA-FE)'),
    power_model: PowerModelSchema,
    notes,
  })
  .describe('per-event energies (the per_event view) and the power model that prices a run');

const SourcesSchema = z
  .record(
    z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.+-]*$/, { error: 'a source key is letters, digits and _ . + -' }),
    z.string({ error: 'expected the citation text' }).min(1, { error: 'expected the citation text' }),
    { error: (iss) => (iss.code === 'invalid_type' ? 'expected {"KEY": "citation", ...}' : undefined) },
  )
  .refine((r) => Object.keys(r).length > 0, { error: 'declare at least one source' })
  .describe('source keys used by the figures: {"D18": "Davies et al., IEEE Micro 38(1):82 (2018)", ...}');

const VariantSchema = z.strictObject({
  description: z.string({ error: 'expected a string' }).min(1),
  sources: SourcesSchema.optional().describe('extra source keys for this variant'),
  set: z
    .record(z.string().regex(/^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/, { error: 'expected a dotted field path like "energy.synop_pJ"' }), z.unknown(), {
      error: (iss) => (iss.code === 'invalid_type' ? 'expected {"dotted.path": value, ...}' : undefined),
    })
    .describe('fields to replace, by dotted path: {"energy.synop_pJ": {"value": 35.5, "source": "..."}}'),
});

export const ChipSchema = z
  .strictObject({
    name: z
      .string({ error: 'expected a string' })
      .regex(/^[a-z0-9][a-z0-9_-]*$/, { error: 'expected a lower-case name: letters, digits, _ and -' })
      .describe('chip name, as given to --chip'),
    description: z.string({ error: 'expected a string' }).min(1, { error: 'expected a description' }),
    sources: SourcesSchema,
    model_notes: z.string({ error: 'expected a string' }).optional().describe('which model the file uses and why'),
    board: BoardSchema.default({ chips_x: def(1, 'one chip'), chips_y: def(1, 'one chip') }),
    chip: ChipSectionSchema,
    core: CoreSchema,
    timing: TimingSchema,
    noc: NocSchema,
    energy: EnergySchema,
    variants: z
      .record(z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, { error: 'a variant name is lower-case letters, digits, _ and -' }), VariantSchema)
      .optional()
      .describe('named alternatives, loaded as NAME@VARIANT: the base file with `set` applied'),
  }, { error: (iss) => (iss.code === 'invalid_type' ? 'expected a chip object {"name", "description", "sources", "chip", "core", "timing", "noc", "energy"}' : undefined) })
  .superRefine(crossChecks);

export type ChipSpec = z.output<typeof ChipSchema>;

// ---------------------------------------------------------------------------------------------
// Cross-field checks (run after the per-field checks pass)

function isFigure(v: unknown): v is Figure {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && 'value' in v && 'source' in v;
}

function* walkFigures(v: unknown, path: (string | number)[] = []): Generator<[(string | number)[], Figure]> {
  if (isFigure(v)) {
    yield [path, v];
    return;
  }
  if (typeof v !== 'object' || v === null) return;
  for (const [k, child] of Object.entries(v)) if (k !== 'variants') yield* walkFigures(child, [...path, k]);
}

/** The source key a source string starts with. */
export function sourceKey(source: string): string {
  return /^[^\s,;:()]+/.exec(source.trim())?.[0] ?? '';
}

/** Limits of what the emulator lays out (a TrueNorth 7x7 board for Tiny YOLO is 200,704 routers). */
export const MAX_BOARD_CHIPS = 65_536;
export const MAX_CHIP_TILES = 1_048_576;
export const MAX_BOARD_ROUTERS = 16_777_216;

/** Why a board of chipsX × chipsY chips of tilesX × tilesY routers is too large to lay out, or null. */
export function boardLimitProblem(chipsX: number, chipsY: number, tilesX: number, tilesY: number): string | null {
  const chips = chipsX * chipsY, tiles = tilesX * tilesY;
  const n = (x: number) => x.toLocaleString('en-US');
  if (chips > MAX_BOARD_CHIPS) return `${chipsX}x${chipsY} = ${n(chips)} chips exceeds the ${n(MAX_BOARD_CHIPS)} chips per board this emulator lays out`;
  if (tiles > MAX_CHIP_TILES) return `tiles_x × tiles_y = ${n(tiles)} routers per chip exceeds the ${n(MAX_CHIP_TILES)} this emulator lays out`;
  if (chips * tiles > MAX_BOARD_ROUTERS) return `${n(chips)} chips × ${n(tiles)} routers = ${n(chips * tiles)} routers exceeds the ${n(MAX_BOARD_ROUTERS)} per board this emulator lays out`;
  return null;
}

function crossChecks(spec: ChipSpecRaw, ctx: z.RefinementCtx): void {
  const add = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  const keys = new Set([...Object.keys(spec.sources), IMPLICIT_SOURCE_KEY]);
  for (const [path, f] of walkFigures(spec)) {
    const key = sourceKey(f.source);
    if (!keys.has(key)) add([...path, 'source'], `unknown source key "${key}" (declare it in "sources", or use "${IMPLICIT_SOURCE_KEY}" for a documented model choice)`);
  }
  const tiles = spec.chip.tiles_x.value * spec.chip.tiles_y.value;
  const capacity = tiles * spec.noc.cores_per_tile.value;
  // sizes the mapper and the accounting lay out arrays for: refused here, before anything allocates
  const tooBig = boardLimitProblem(spec.board.chips_x.value, spec.board.chips_y.value, spec.chip.tiles_x.value, spec.chip.tiles_y.value);
  if (tooBig) add([tiles > MAX_CHIP_TILES ? 'chip' : 'board'], tooBig);
  if (spec.chip.cores.value > capacity)
    add(['chip', 'cores', 'value'], `expected <= tiles_x × tiles_y × noc.cores_per_tile = ${capacity}, got ${spec.chip.cores.value}`);
  if (spec.core.synapse_memory_bits.value < spec.core.bits_per_synapse.value)
    add(['core', 'synapse_memory_bits', 'value'], `expected >= bits_per_synapse (${spec.core.bits_per_synapse.value}), got ${spec.core.synapse_memory_bits.value}`);
  const timing = spec.timing as Record<string, unknown>;
  for (const e of TIMED_EVENTS) {
    const hasNs = timing[`${e}_ns`] !== undefined;
    const hasCycles = timing[`${e}_cycles`] !== undefined;
    if (hasNs && hasCycles) add(['timing', `${e}_cycles`], `give ${e}_ns or ${e}_cycles, not both`);
    else if (!hasNs && !hasCycles && !OPTIONAL_TIMED.has(e)) add(['timing', `${e}_ns`], `required field missing (give ${e}_ns or ${e}_cycles)`);
    if (hasCycles && spec.timing.clock.kind !== 'sync') add(['timing', `${e}_cycles`], 'cycles need a sync clock ({"kind": "sync", "hz": ...}); give ns');
  }
  if (spec.timing.tick.rule === 'barrier') {
    for (const k of ['barrier_tiles_ns', 'barrier_chips_ns'] as const) {
      const t = spec.timing.tick[k];
      if (!t) continue;
      t.value.forEach(([x], i) => {
        if (i > 0 && x <= t.value[i - 1][0]) add(['timing', 'tick', k, 'value', i, 0], `expected x values strictly increasing, got ${x} after ${t.value[i - 1][0]}`);
        if (!Number.isInteger(x)) add(['timing', 'tick', k, 'value', i, 0], `expected an integer count, got ${x}`);
      });
    }
  }
  const pm = spec.energy.power_model;
  if (pm.kind === 'odin' && spec.timing.clock.kind !== 'sync') add(['energy', 'power_model', 'kind'], 'the odin power model needs a sync clock (timing.clock.hz)');
  if (pm.kind === 'truenorth_affine' && pm.sweep_rate_hz_power_mW && (!pm.sweep_synapses_per_neuron || !pm.sweep_neurons))
    add(['energy', 'power_model', 'sweep_rate_hz_power_mW'], 'a sweep needs sweep_synapses_per_neuron and sweep_neurons');
  // a busy chip drawing less than an idle one would price every core-busy second as negative energy
  if (pm.kind === 'spinnaker' && pm.full_chip_W && pm.idle_chip_W && pm.full_chip_W.value < pm.idle_chip_W.value)
    add(['energy', 'power_model', 'full_chip_W', 'value'], `expected >= idle_chip_W (${pm.idle_chip_W.value}), got ${pm.full_chip_W.value}`);
}

/** The parsed shape before the cross checks (same as the output: defaults already applied). */
type ChipSpecRaw = {
  sources: Record<string, string>;
  board: { chips_x: Figure; chips_y: Figure };
  chip: { cores: Figure; tiles_x: Figure; tiles_y: Figure };
  core: { synapse_memory_bits: Figure; bits_per_synapse: Figure };
  noc: { cores_per_tile: Figure };
  timing: {
    clock: { kind: 'async' } | { kind: 'sync'; hz: Figure };
    tick: { rule: 'fixed' } | { rule: 'barrier'; barrier_tiles_ns?: { value: [number, number][] }; barrier_chips_ns?: { value: [number, number][] } };
  };
  energy: { power_model: { kind: string; sweep_rate_hz_power_mW?: unknown; sweep_synapses_per_neuron?: unknown; sweep_neurons?: unknown; idle_chip_W?: Figure; full_chip_W?: Figure } };
};

// ---------------------------------------------------------------------------------------------
// Validation with one-line errors

/** Drops `$schema` and every key starting with `_` (comments), recursively. */
export function stripComments(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripComments);
  if (typeof v !== 'object' || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, child] of Object.entries(v)) if (!k.startsWith('_') && k !== '$schema') out[k] = stripComments(child);
  return out;
}

function formatPath(path: PropertyKey[]): string {
  let s = '';
  for (const p of path) {
    if (typeof p === 'number') s += `[${p}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(String(p))) s += (s ? '.' : '') + String(p);
    else s += `[${JSON.stringify(String(p))}]`;
  }
  return s || '(top level)';
}

function at(obj: unknown, path: PropertyKey[]): unknown {
  let v = obj;
  for (const p of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[p as string];
  }
  return v;
}

function show(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object' && v !== null) return 'an object';
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? s.slice(0, 37) + '...' : s;
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  const path = [...issue.path];
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => `"${k}"`).join(', ');
    return `${formatPath(path)}: unknown field${issue.keys.length > 1 ? 's' : ''} ${keys} (comments go in keys starting with "_")`;
  }
  const got = at(input, path);
  let msg = issue.message;
  if (issue.code === 'invalid_type' && got === undefined) msg = msg.startsWith('required') ? msg : 'required field missing';
  else if (issue.code !== 'custom' && !msg.startsWith('a bare number') && got !== undefined) msg += `, got ${show(got)}`;
  return `${formatPath(path)}: ${msg}`;
}

/**
 * Validates a parsed chip file (comments allowed) and returns the spec with defaults applied.
 * Throws a one-line UserError `FILE: field.path: what is wrong` (and how many more problems).
 */
export function validateChip(obj: unknown, file: string): ChipSpec {
  const input = stripComments(obj);
  const r = ChipSchema.safeParse(input);
  if (!r.success) {
    const [first, ...rest] = r.error.issues;
    throw new UserError(`${file}: ${describeIssue(first, input)}${rest.length ? ` (and ${rest.length} more problem${rest.length > 1 ? 's' : ''})` : ''}`);
  }
  return r.data;
}

/** Sets `value` at a dotted path, creating objects on the way (used by variants). */
function setPath(obj: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let o = obj;
  for (const p of parts.slice(0, -1)) {
    if (typeof o[p] !== 'object' || o[p] === null || Array.isArray(o[p])) o[p] = {};
    o = o[p] as Record<string, unknown>;
  }
  o[parts[parts.length - 1]] = structuredClone(value);
}

/** The raw document of a variant: the base with its `set` applied, its sources merged, no variants. */
function applyVariant(raw: Record<string, unknown>, spec: ChipSpec, variant: string, file: string): Record<string, unknown> {
  const v = spec.variants?.[variant];
  if (!v) {
    const known = Object.keys(spec.variants ?? {});
    throw new UserError(`${file}: no variant "${variant}"${known.length ? ` (variants: ${known.join(', ')})` : ' (the file declares no variants)'}`);
  }
  const doc = structuredClone(raw);
  delete doc.variants;
  doc.sources = { ...(doc.sources as Record<string, string>), ...(v.sources ?? {}) };
  for (const [path, value] of Object.entries(v.set)) setPath(doc, path, value);
  return doc;
}

// ---------------------------------------------------------------------------------------------
// Loading

/** Names of the built-in chips (chips/*.json, schema.json excluded), sorted. */
export function builtinChipNames(): string[] {
  if (!existsSync(CHIPS_DIR)) return [];
  return readdirSync(CHIPS_DIR)
    .filter((f) => f.endsWith('.json') && f !== 'schema.json')
    .map((f) => f.slice(0, -5))
    .sort();
}

export interface Chip {
  /** the validated spec, every figure with its source (variant applied) */
  spec: ChipSpec;
  /** the flat SI view the mapper, timing and energy models read */
  params: ChipParams;
  /** the file as the user named it, `chips/NAME.json` for a built-in */
  file: string;
  variant?: string;
}

function readJson(path: string, shown: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`${shown}: cannot read the chip file${code === 'ENOENT' ? ' (no such file)' : code ? ` (${code})` : ''}`);
  }
  checkJsonDepth(text, shown);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UserError(`${shown}: invalid JSON: ${(e as Error).message}`);
  }
}

/**
 * Loads a chip: a bare name (`loihi`) is chips/loihi.json, anything else is a path.
 * `NAME@VARIANT` or `FILE@VARIANT` applies a variant declared in the file.
 */
export function loadChip(nameOrFile: string): Chip {
  let target = nameOrFile;
  let variant: string | undefined;
  const m = /^(.*)@([a-z0-9][a-z0-9_-]*)$/.exec(nameOrFile);
  if (m && m[1]) [target, variant] = [m[1], m[2]];
  const bare = /^[a-z0-9][a-z0-9_-]*$/.test(target);
  let path: string;
  let shown: string;
  if (bare) {
    path = join(CHIPS_DIR, `${target}.json`);
    shown = `chips/${target}.json`;
    if (!existsSync(path)) throw new UserError(`unknown chip "${target}": built-in chips are ${builtinChipNames().join(', ')} (or give the path of a chip .json file)`);
  } else {
    path = target;
    shown = target;
  }
  const raw = readJson(path, shown);
  let spec = validateChip(raw, shown);
  if (variant) {
    const doc = applyVariant(stripComments(raw) as Record<string, unknown>, spec, variant, shown);
    spec = validateChip(doc, `${shown}@${variant}`);
  }
  return { spec, params: chipParams(spec, variant), file: shown, variant };
}

/**
 * A chip with fields replaced by dotted path, as a design-space sweep varies them:
 * `chipWithOverrides('loihi', { 'core.neurons': 512, 'energy.synop_pJ': 15 }, 'point 3')`; the base
 * may be a chip already loaded (a sweep builds many variants of one).
 * A path that names a figure ({value, source, ...}) keeps its shape: the value is replaced, the
 * source becomes neuroemu's with tag U and a note naming the file's own figure, so a report never
 * passes a swept value off as a published one. A path may end in `.value`. The result is
 * validated against the schema; errors name `label` and the field.
 */
export function chipWithOverrides(baseChip: string | Chip, set: Record<string, unknown>, label: string): Chip {
  const base = typeof baseChip === 'string' ? loadChip(baseChip) : baseChip;
  const doc = structuredClone(base.spec) as unknown as Record<string, unknown>;
  delete doc.variants;
  const shown = `${base.file}${base.variant ? '@' + base.variant : ''} ${label}`;
  for (const [rawPath, value] of Object.entries(set)) {
    const path = rawPath.replace(/\.value$/, '');
    const parts = path.split('.');
    let o: unknown = doc;
    for (const p of parts.slice(0, -1)) o = o !== null && typeof o === 'object' && !Array.isArray(o) ? (o as Record<string, unknown>)[p] : undefined;
    const last = parts[parts.length - 1];
    if (o === null || typeof o !== 'object' || Array.isArray(o) || !(last in (o as object)))
      throw new UserError(`${shown}: no field "${path}" in the chip (a path such as core.neurons or energy.synop_pJ; \`neuroemu chips show ${base.spec.name}\` lists them)`);
    const old = (o as Record<string, unknown>)[last];
    const isFigure = old !== null && typeof old === 'object' && !Array.isArray(old) && 'value' in old && 'source' in old;
    if (isFigure) {
      const f = old as { value: unknown; source: string };
      setPath(doc, path, { value, source: IMPLICIT_SOURCE_KEY, tag: 'U', note: `varied by a sweep; the chip file's figure: ${JSON.stringify(f.value)} (${f.source})` });
    } else setPath(doc, path, value);
  }
  const spec = validateChip(doc, shown);
  return { spec, params: chipParams(spec, base.variant), file: base.file, variant: base.variant };
}

/** Validates a file and every variant it declares; returns the base spec and the variant names. */
export function validateChipFile(path: string, shown = path): { spec: ChipSpec; variants: string[] } {
  const raw = readJson(path, shown);
  const spec = validateChip(raw, shown);
  const variants = Object.keys(spec.variants ?? {});
  for (const v of variants) validateChip(applyVariant(stripComments(raw) as Record<string, unknown>, spec, v, shown), `${shown}@${v}`);
  return { spec, variants };
}

/** A copy of a chip on another board size (the mapper may tile more chips than the modelled board). */
export function withBoard(chip: Chip, chipsX: number, chipsY: number, why = 'board resized by the caller'): Chip {
  const spec = structuredClone(chip.spec);
  spec.board.chips_x = { value: chipsX, source: IMPLICIT_SOURCE_KEY, tag: 'U', note: why };
  spec.board.chips_y = { value: chipsY, source: IMPLICIT_SOURCE_KEY, tag: 'U', note: why };
  const checked = validateChip(spec, `${chip.file}${chip.variant ? '@' + chip.variant : ''} (board ${chipsX}x${chipsY})`);
  return { ...chip, spec: checked, params: chipParams(checked, chip.variant) };
}

// ---------------------------------------------------------------------------------------------
// The flat SI view

export type PowerModelParams =
  | { kind: 'per_event' }
  | { kind: 'truenorth_affine'; p0W: number; sopJ: number; voltageV: number }
  | { kind: 'odin'; pLeakW: number; pIdleWPerHz: number; sopJ: number; voltageV: number; globalSopJ?: number; measuredPowerW?: number }
  | { kind: 'spinnaker'; idleChipW: number; fullChipW: number; activeCoreW: number; packetJ: number };

/** Everything in SI units (J, s, W, Hz, bits), limits that are absent as Infinity. */
export interface ChipParams {
  name: string;
  variant?: string;
  board: { chipsX: number; chipsY: number };
  chip: { cores: number; tilesX: number; tilesY: number; coresPerTile: number; mgmtCores: number };
  core: {
    neurons: number;
    /** fan-in limit per core (input axons); Infinity when only synapse memory limits it */
    axons: number;
    synapseMemoryBits: number;
    bitsPerSynapse: number;
    /** floor(synapseMemoryBits / bitsPerSynapse) */
    maxSynapses: number;
    weightBits: number;
    membraneBits: number;
    sharesKernels: boolean;
    maxWeightsPerNeuron: number;
    maxFanoutPerNeuron: number;
    maxFanoutPerCore: number;
  };
  timing: {
    tick: { rule: 'fixed'; periodS: number } | { rule: 'barrier'; minPeriodS: number };
    /** null: asynchronous */
    clockHz: number | null;
    /** seconds per event of each kind */
    eventS: Record<TimedEvent, number>;
    /** [tiles, seconds] points; empty: no barrier cost */
    barrierTilesS: [number, number][];
    /** [chips, seconds] points; empty: the single-chip barrier applies */
    barrierChipsS: [number, number][];
    /** a core's busy time: the sum of its synaptic, neuron and output work, or the longest of them */
    coreWork: 'sum' | 'overlap';
    /** ticks from one neuron layer to the next (0 or 1; see the schema's timing.layer_delay_ticks) */
    layerDelayTicks: 0 | 1;
  };
  noc: {
    topology: 'mesh2d';
    routing: 'xy';
    multicast: boolean;
    packetBits: number;
    linkPacketsPerS: number;
    offchipPacketsPerS: number;
    maxHopSpan: number;
    routeEntries: number;
  };
  energy: {
    synopJ: number;
    learnJ: number;
    neuronUpdateActiveJ: number;
    neuronUpdateIdleJ: number;
    spikeOutJ: number;
    packetJ: number;
    hopTileJ: number;
    hopEwJ: number;
    hopNsJ: number;
    chipCrossingJ: number;
    staticCoreW: number;
    staticChipW: number;
    /** energy.active_update: which neuron updates are priced as active */
    activeUpdate: ActiveUpdateRule;
  };
  power: PowerModelParams;
}

/** input: a neuron update is active when it received an event; nonzero: also with a non-zero potential or bias (SANA-FE) */
export type ActiveUpdateRule = 'input' | 'nonzero';

const pJ = 1e-12;

export function chipParams(spec: ChipSpec, variant?: string): ChipParams {
  const opt = (f: Figure | undefined) => (f ? f.value : Infinity);
  const clockHz = spec.timing.clock.kind === 'sync' ? spec.timing.clock.hz.value : null;
  const timing = spec.timing as unknown as Record<string, Figure | undefined>;
  const eventS = {} as Record<TimedEvent, number>;
  for (const e of TIMED_EVENTS) {
    const ns = timing[`${e}_ns`];
    const cycles = timing[`${e}_cycles`];
    eventS[e] = ns ? ns.value * 1e-9 : cycles && clockHz ? cycles.value / clockHz : 0;
  }
  const tick = spec.timing.tick;
  const en = spec.energy;
  const pm = en.power_model;
  const cores = spec.chip.cores.value;
  let power: PowerModelParams;
  switch (pm.kind) {
    case 'per_event':
      power = { kind: 'per_event' };
      break;
    case 'truenorth_affine':
      power = { kind: pm.kind, p0W: pm.p0_W.value, sopJ: pm.sop_pJ.value * pJ, voltageV: pm.voltage_V.value };
      break;
    case 'odin':
      power = {
        kind: pm.kind,
        pLeakW: pm.p_leak_W.value,
        pIdleWPerHz: pm.p_idle_W_per_MHz.value / 1e6,
        sopJ: pm.sop_pJ.value * pJ,
        voltageV: pm.voltage_V.value,
        globalSopJ: pm.global_sop_pJ ? pm.global_sop_pJ.value * pJ : undefined,
        measuredPowerW: pm.measured_power_W?.value,
      };
      break;
    case 'spinnaker':
      power = {
        kind: pm.kind,
        idleChipW: pm.idle_chip_W.value,
        fullChipW: pm.full_chip_W.value,
        activeCoreW: (pm.full_chip_W.value - pm.idle_chip_W.value) / (cores + spec.chip.mgmt_cores.value),
        packetJ: pm.packet_nJ.value * 1e-9,
      };
      break;
  }
  const synapseMemoryBits = spec.core.synapse_memory_bits.value;
  const bitsPerSynapse = spec.core.bits_per_synapse.value;
  return {
    name: spec.name,
    variant,
    board: { chipsX: spec.board.chips_x.value, chipsY: spec.board.chips_y.value },
    chip: {
      cores,
      tilesX: spec.chip.tiles_x.value,
      tilesY: spec.chip.tiles_y.value,
      coresPerTile: spec.noc.cores_per_tile.value,
      mgmtCores: spec.chip.mgmt_cores.value,
    },
    core: {
      neurons: spec.core.neurons.value,
      axons: opt(spec.core.axons),
      synapseMemoryBits,
      bitsPerSynapse,
      maxSynapses: Math.floor(synapseMemoryBits / bitsPerSynapse),
      weightBits: spec.core.weight_bits.value,
      membraneBits: spec.core.membrane_bits.value,
      sharesKernels: spec.core.shares_kernels,
      maxWeightsPerNeuron: opt(spec.core.max_weights_per_neuron),
      maxFanoutPerNeuron: opt(spec.core.max_fanout_per_neuron),
      maxFanoutPerCore: opt(spec.core.max_fanout_per_core),
    },
    timing: {
      tick: tick.rule === 'fixed' ? { rule: 'fixed', periodS: tick.period_s.value } : { rule: 'barrier', minPeriodS: tick.min_period_s.value },
      clockHz,
      eventS,
      barrierTilesS: tick.rule === 'barrier' && tick.barrier_tiles_ns ? tick.barrier_tiles_ns.value.map(([n, ns]) => [n, ns * 1e-9]) : [],
      barrierChipsS: tick.rule === 'barrier' && tick.barrier_chips_ns ? tick.barrier_chips_ns.value.map(([n, ns]) => [n, ns * 1e-9]) : [],
      coreWork: spec.timing.core_work ?? 'sum',
      layerDelayTicks: (spec.timing.layer_delay_ticks?.value ?? 1) as 0 | 1,
    },
    noc: {
      topology: spec.noc.topology,
      routing: spec.noc.routing,
      multicast: spec.noc.multicast,
      packetBits: spec.noc.packet_bits.value,
      linkPacketsPerS: opt(spec.noc.link_packets_per_s),
      offchipPacketsPerS: opt(spec.noc.offchip_packets_per_s),
      maxHopSpan: opt(spec.noc.max_hop_span),
      routeEntries: opt(spec.noc.route_entries),
    },
    energy: {
      synopJ: en.synop_pJ.value * pJ,
      learnJ: en.learn_pJ.value * pJ,
      neuronUpdateActiveJ: en.neuron_update_active_pJ.value * pJ,
      neuronUpdateIdleJ: en.neuron_update_idle_pJ.value * pJ,
      spikeOutJ: en.spike_out_pJ.value * pJ,
      packetJ: en.packet_pJ.value * pJ,
      hopTileJ: en.hop_tile_pJ.value * pJ,
      hopEwJ: en.hop_ew_pJ.value * pJ,
      hopNsJ: en.hop_ns_pJ.value * pJ,
      chipCrossingJ: en.chip_crossing_pJ.value * pJ,
      staticCoreW: en.static_core_W.value,
      staticChipW: en.static_chip_W.value,
      activeUpdate: en.active_update ?? 'input',
    },
    power,
  };
}

// ---------------------------------------------------------------------------------------------
// JSON Schema (chips/schema.json is this, kept in sync by tests/chips.test.ts)

/** Lets `_comment`-style keys through wherever the schema forbids unknown keys. */
function allowComments(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(allowComments);
  if (typeof node !== 'object' || node === null) return;
  const o = node as Record<string, unknown>;
  if (o.type === 'object' && o.additionalProperties === false) o.patternProperties = { '^_': {} };
  for (const v of Object.values(o)) allowComments(v);
}

/** The JSON Schema of a chip file (input side: defaulted fields are optional). */
export function chipJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(ChipSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  allowComments(schema);
  const props = schema.properties as Record<string, unknown>;
  schema.properties = { $schema: { type: 'string', description: 'path of this schema, for editors' }, ...props };
  schema.title = 'neuroemu chip model';
  schema.description =
    'A neuromorphic chip model for neuroemu. Every number is a figure {value, source, tag?, note?}; source starts with a key of "sources" (or "neuroemu"). Generated from src/hw/chip-schema.ts; see chips/README.md.';
  return schema;
}
