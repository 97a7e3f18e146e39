/**
 * The SNN core's memory map: descriptor layouts shared by the WASM tick (assembly/snn.ts) and the
 * host (src/sim/wasm.ts). Plain numeric constants so the file is valid AssemblyScript and valid
 * TypeScript alike: keep it that way (no AS-only types, no imports).
 *
 * The host lays out linear memory once per network (above `heapBase()`; the WASM side allocates
 * nothing): one net descriptor, one descriptor per spike source (the input and every layer), then
 * constant data (packed weights, biases, small tables), then the state (membranes, counters, spike
 * lists), then — only when a mapping is loaded — the per-core accounting tables and counters
 * (N_ACCT … and A_* fields, CK_* counter kinds, SIG_* cost records; src/sim/acct.ts documents
 * them). Descriptor fields are i32 (addresses in bytes) unless marked f32.
 *
 * Spikes travel between layers as compact lists of i32 codes, in the producer's order:
 *   code = ((((y << xb) | x) << cb | c) << 1) | neg
 * with cb = bits of the channel index, xb = bits of the x coordinate (of the producer's output
 * shape) and neg = 1 for a −1 spike. A list holds at most `burst` spikes per neuron (one for the classic neuron), so it is sized for
 * every neuron firing. The host refuses networks whose codes would need more than 31 bits.
 */

/** every descriptor occupies this many i32 (256 bytes) */
export const DESC_INTS = 64;

// net descriptor
export const N_NLAYERS = 0;
/** address of an i32 array: the descriptor address of every layer, in order */
export const N_LAYERS = 1;
/** address of the input descriptor */
export const N_INPUT = 2;
/** ticks done (the tick being run while a tick runs; t = 1 for the first) */
export const N_TICK = 3;
/** xorshift32 state (u32, never 0) of the Poisson input */
export const N_RNG = 4;
/** scratch spike list for the channel sort (the largest input list of a sorted conv) */
export const N_SCRATCH = 5;
/** i32 histogram scratch for the channel sort (largest C + 1) */
export const N_HIST = 6;
/**
 * 1: one tick of delay per neuron layer (a spike a conv or max-pool emits at tick t is integrated by
 * the next neuron layer at t + 1): the tick runs the wiring layers first, then the neuron layers
 * in reverse order. 0: every layer in order, a spike crosses the whole network in one tick.
 */
export const N_DELAY = 7;

// per-core accounting (all 0 when the network runs without a mapping; see the section below)
/** 1: account every spike and every newly active neuron into the per-core counters */
export const N_ACCT = 8;
/** i32[cores × CORE_KINDS]: this tick's per-core counters, core-major (the host drains them) */
export const N_CORECNT = 9;
/** i32 per route-table key: word offset of the key's cost record in N_SIGDATA */
export const N_KEYSIG = 10;
/** i32 cost records (see SIG_* below), shared by the keys with identical costs */
export const N_SIGDATA = 11;
/** i32 per route: packets sent over it this tick (the host zeroes the touched ones) */
export const N_ROUTECNT = 12;
/** i32 list of the routes whose count went from 0 to 1 this tick */
export const N_TOUCHED = 13;
/** length of the touched list */
export const N_NTOUCHED = 14;
/** i32 pairs (core, neurons) active every tick (analog-input layers: all their neurons) */
export const N_CONSTACT = 15;
export const N_NCONSTACT = 16;
/**
 * The active-update rule of the accounting: 0 = a neuron update is active when its unit received an
 * input event this tick; 1 = also when it was not reached but one of its neurons holds a non-zero
 * potential or has a non-zero bias (SANA-FE's rule). Conv units only; analog layers are active
 * every tick either way.
 */
export const N_ACTRULE = 17;
/**
 * i32 list of the cost records hit this tick (word offsets in N_SIGDATA) and its length: a spike
 * only counts a hit in its record (SIG_HITS); at the end of the tick every hit record adds its
 * costs × hits to the counters once (integer sums: the same counters, fewer additions)
 */
export const N_RECTOUCHED = 18;
export const N_NRECTOUCHED = 19;
/** address of the NoC tally block (NOC_* below), or 0: the host tallies the touched routes itself */
export const N_NOC = 20;
/**
 * When a spike's cost record is added to the counters: 0 (auto) per source, from the hits per record
 * of its last counted tick (A_ATSPIKE); 1 always at the end of the tick (hits counted); 2 always at
 * the spike. Integer sums: the counters are the same either way.
 */
export const N_RECRULE = 21;
export const RECORDS_AUTO = 0;
export const RECORDS_AT_TICK = 1;
export const RECORDS_AT_SPIKE = 2;

// two threads per tick (runPart; only with N_DELAY = 1, where the layers of a tick are independent)
/** address of the shared words: barrier count, barrier generation, next layer to claim (i32 each) */
export const N_SYNC = 22;
/** i32[n]: the conv and max-pool layer descriptors in the order the threads claim them */
export const N_CLAIM = 23;
export const N_NCLAIM = 24;
/** i32 triples (source descriptor, shadow descriptor, the source's other list) swapped every tick */
export const N_SWAPS = 25;
export const N_NSWAPS = 26;
/** part 0's descriptor: the address of part 1's copy of it (its own scratch; the tick copied in) */
export const N_PEER = 27;
/** cores × CORE_KINDS (a multiple of 4: the counter array is padded), for merging part 1's counters */
export const N_NCOREWORDS = 28;

// NoC tally block (i32 words): route legs → per-link loads on the mesh (src/hw/account.ts NocTally
// is the same computation in TypeScript, and its reference)
export const NOC_W = 0;
export const NOC_H = 1;
export const NOC_TILESX = 2;
export const NOC_TILESY = 3;
/** i32[routes × 6]: (row, x0, x1, y0, y1, shape) per route */
export const NOC_SEG = 4;
export const NOC_NROUTES = 5;
/** difference arrays: east H×(W+1), west H×(W+2), south W×(H+1), north W×(H+2) */
export const NOC_DE = 6;
export const NOC_DW = 7;
export const NOC_DS = 8;
export const NOC_DN = 9;
/** marks (the tick's generation) and lists of the rows and columns with legs this tick */
export const NOC_ROWMARK = 10;
export const NOC_COLMARK = 11;
export const NOC_ROWS = 12;
export const NOC_COLS = 13;
/** per shape: mark; the list of shapes used this tick and its length (out) */
export const NOC_SHAPEMARK = 14;
export const NOC_USED = 15;
export const NOC_NUSED = 16;
export const NOC_GEN = 17;
/** the 16 most loaded on-chip / off-chip links: ids[16] then packets[16], and their counts (out) */
export const NOC_TOPON = 18;
export const NOC_NON = 19;
export const NOC_TOPOFF = 20;
export const NOC_NOFF = 21;
/** Σ link packets of the tick (out) */
export const NOC_TOTAL = 22;
/** the rows and columns listed this tick (NOC_ROWS, NOC_COLS), between the route pass and the link pass */
export const NOC_NROWS = 23;
export const NOC_NCOLS = 24;
export const NOC_WORDS = 32;
export const NOC_TOP = 16;

// header common to every spike source (the input and every layer)
/** 0 input, 1 conv, 2 maxpool, 3 route, 4 upsample */
export const L_KIND = 0;
/** address of the output spike list (i32 codes) */
export const L_LIST = 1;
/** spikes in the list after this tick */
export const L_COUNT = 2;
export const L_H = 3;
export const L_W = 4;
export const L_C = 5;
export const L_CB = 6;
export const L_XB = 7;
/** f64[C]: +1 spikes emitted per channel, accumulated over the run */
export const L_POS_TOT = 8;
/** f64[C]: −1 spikes emitted per channel, accumulated over the run */
export const L_NEG_TOT = 9;

export const KIND_INPUT = 0;
export const KIND_CONV = 1;
export const KIND_POOL = 2;
export const KIND_ROUTE = 3;
export const KIND_UPSAMPLE = 4;

// per-layer accounting fields (every source descriptor, the input included; 0 = off)
/** first key of the source's route table (its row's KEY_BASE) */
export const A_KEYBASE = 48;
/** i32[C]: channel → block of the route table; 0: the source has no table (not looked up) */
export const A_BLOCKOF = 49;
/** blocks per position (nb) */
export const A_NB = 50;
/**
 * i32[units + 1] offsets into A_ACTPAIRS; a unit is (output pixel, group) of a conv, (output
 * pixel, channel) of a max-pool: the neurons that turn active together (the simulator's stamp)
 */
export const A_ACTOFF = 51;
/** i32 pairs (core, neurons): the neurons (copies and partial sums included) a unit activates */
export const A_ACTPAIRS = 52;
/** max-pool: i32[H·W·C] tick of the last input event of each pool neuron (accounting only) */
export const A_PSTAMP = 53;
/**
 * Rule RECORDS_AUTO: 1 when this source's spikes add their cost records at the spike. Set on every
 * 16th tick, which counts hits: at the spike when its spikes hit fewer than 1.5 per record (records
 * hit about once a tick, TrueNorth's small cores: the record is read once, while in cache, instead
 * of again at the end of the tick), else by hits (records shared by many spikes: Loihi).
 */
export const A_ATSPIKE = 54;

// per-core counter kinds (N_CORECNT: CORE_KINDS i32 per core)
/** synaptic events in the core: input spikes × synapses reached (+ relay synops at an accumulator) */
export const CK_SYNOPS = 0;
/** neuron updates of neurons that received input this tick (idle = core neurons − active) */
export const CK_ACTIVE = 1;
/** spikes generated (neurons, splitter copies, partial-sum relays) */
export const CK_SPIKES = 2;
export const CK_PACKETS = 3;
export const CK_HOPS_TILE = 4;
export const CK_HOPS_EW = 5;
export const CK_HOPS_NS = 6;
export const CK_CROSSINGS = 7;
export const CORE_KINDS = 8;

// per-core tally block (i32 words; f64 arrays): the per-core half of pricing a tick, the loop of
// src/hw/account.ts Accountant.tick run on the core's counters (tallyCores; the TypeScript loop is
// its reference). busy = Σ_k counts_k · coef_k with idle = neurons − active as kind CORE_KINDS.
/** cores */
export const TL_CORES = 0;
/** address of the counters tallied (cores × CORE_KINDS i32: N_CORECNT) */
export const TL_COUNTS = 1;
/** address: i32 per core, its neurons (copies and partial sums included) */
export const TL_NEURONS = 2;
/** address: f64 × TALLY_KINDS, busy seconds per event of each kind */
export const TL_COEF = 3;
/** address: f64 × cores × TALLY_KINDS, each core's events over the run */
export const TL_TOT = 4;
/** address: f64 per core, its busiest tick's busy seconds */
export const TL_MAXBUSY = 5;
/** address: f64 × TALLY_KINDS, this tick's events summed over the cores (out) */
export const TL_TICK = 6;
/** 1: the core's stages overlap (busy = max of synaptic, neuron and the rest) */
export const TL_OVERLAP = 7;
/** out: the first core with more active updates than neurons, or −1 */
export const TL_BAD = 8;
/** CORE_KINDS + the idle updates */
export const TALLY_KINDS = 9;
export const TL_WORDS = 16;

// a cost record in N_SIGDATA (i32 words): the route table header of a key, then its entries
export const SIG_SRC = 0;
export const SIG_SPIKES = 1;
export const SIG_PACKETS = 2;
export const SIG_HOPS_TILE = 3;
export const SIG_HOPS_EW = 4;
export const SIG_HOPS_NS = 5;
export const SIG_CROSSINGS = 6;
export const SIG_RELAY_SYNOPS = 7;
/** entries: pairs (destination core, synaptic events) */
export const SIG_NENT = 8;
/** routes (packet legs for link load and NoC drain), after the entries */
export const SIG_NROUTES = 9;
/** hits of the record in the current tick (0 between ticks; written by the core) */
export const SIG_HITS = 10;
export const SIG_HEAD = 11;

// input (KIND_INPUT)
/** 1: draw Poisson spikes every tick; 0: analog (the input list stays empty); 2: events given by the host (I_EV*) */
export const I_POISSON = 16;
/** f32[H·W·C] channels-last signed firing probabilities (|p| / max|p|, sign of p) */
export const I_RATES = 17;
/** events (I_POISSON 2): i32 spike codes of every tick in order, i32 offsets[ticks + 1] into them, ticks */
export const I_EVCODES = 18;
export const I_EVOFF = 19;
export const I_EVTICKS = 20;
export const INPUT_EVENTS = 2;

// conv (KIND_CONV)
/** descriptor of the spike source it reads (0: analog input, the drive replaces the scatter) */
export const C_SRC = 16;
/** f32 membranes, H×W×Cp channels-last */
export const C_V = 17;
/** Cp: floats per membrane pixel (C rounded up to 4; pad channels stay 0 and never fire) */
export const C_CP = 18;
export const C_K = 19;
export const C_STRIDE = 20;
export const C_PAD = 21;
export const C_GROUPS = 22;
/** input channels per group */
export const C_CING = 23;
/** output channels per group (the real ones: counted as SOPs) */
export const C_COUTG = 24;
/** floats per kernel tap in the packed weights: Cp for a dense conv, C_out/groups when grouped */
export const C_TAPW = 25;
/**
 * packed weights: per input channel ci, per kernel row ky, the k taps ordered by x phase
 * (kx mod stride) and, inside a phase, by kx DESCENDING (the kernel rotated by 180°), each tap
 * TAPW floats (the output channels of ci's group). One spike then adds a contiguous run of taps
 * to a contiguous run of output pixels. Stride 1: one phase, the row reversed.
 */
export const C_W = 26;
/** i32[stride]: tap offset of each x phase inside a packed kernel row */
export const C_PHASE = 27;
/** f32[H·W·Cp]: constant per-tick input current of an analog-input layer (bias included), or 0 */
export const C_DRIVE = 28;
/** f32[Cp]: bias current added every tick (unused when C_DRIVE is set: the drive includes it) */
export const C_BIAS = 29;
/** 0 if (+1 only), 1 signed (ibt and signed: +1 and −1), 2 integrate (never fires) */
export const C_RULE = 30;
/** f32 */
export const C_VTH_POS = 31;
/** f32, magnitude of the negative threshold */
export const C_VTH_NEG = 32;
/** 0 subtract, 1 zero */
export const C_RESET = 33;
/** i32[H·W·groups]: tick of the last input event each (output pixel, group) received */
export const C_STAMP = 34;
/** f64[groups]: valid kernel taps delivered into each group (× C_out/groups = SOPs) */
export const C_TAPS = 35;
/** f64[groups]: (output pixel, group) pairs that received ≥ 1 event, summed over ticks */
export const C_ACTIVE = 36;
/** 1: sort the input list by channel before the scatter (weights larger than the cache) */
export const C_SORT = 37;
/** i32[Cp]: +1 spikes per channel in the current tick (folded into L_POS_TOT at its end) */
export const C_POS_TICK = 38;
export const C_NEG_TICK = 39;
/**
 * f32[Cp] membrane bound per channel (saturating fixed-point membrane, src/convert/quantize.ts):
 * after the tick's input and bias are integrated V is clamped to [−bound, +bound]; 0 = no array,
 * unbounded (float)
 */
export const C_CLAMP = 40;
/**
 * address of f32[cp]: the membrane leak factor per channel (LIF: V ← leak·V at the start of every
 * tick, before the tick's input); 0 = no leak (IF)
 */
export const C_LEAK = 41;
/**
 * current-based synapse (CubaLIF): address of f32 I[H×W×Cp] (0: none; the input then goes straight
 * into V) and of f32[cp] per-channel constants: I ← synLeak·I, input into I, I += synBias, V += synGain·I
 */
export const C_SYN = 42;
export const C_SYNLEAK = 43;
export const C_SYNGAIN = 44;
export const C_SYNBIAS = 45;
/** i32: the most spikes a neuron sends per tick (burst spikes; 1 = the classic neuron) */
export const C_BURST = 46;
/**
 * sigma-delta neuron (rule signed only): address of f32 E[H×W×Cp], what each neuron has emitted in
 * membrane units (+vth+ per +1 spike, −vth+ per −1), or 0 for the reset neuron. V then integrates
 * without reset and the neuron fires +1 while leaky(V) − E ≥ vth+, −1 while ≤ −vth+, where
 * leaky(V) = V for V ≥ 0 and V·(vth+/vth−) below (float32), at most C_BURST spikes a tick.
 */
export const C_SDE = 47;

export const RULE_IF = 0;
export const RULE_SIGNED = 1;
export const RULE_INTEGRATE = 2;
export const RESET_SUBTRACT = 0;
export const RESET_ZERO = 1;

// maxpool (KIND_POOL)
export const P_SRC = 16;
export const P_SIZE = 17;
export const P_STRIDE = 18;
export const P_PAD = 19;
/** i32[inH·inW·C] net spike count (+1 −1) of every input unit, channels-last */
export const P_COUNT = 20;
/** POOL_GATE or POOL_MAX */
export const P_RULE = 21;
/** POOL_MAX: i32[outH·outW·C] net count each output neuron has emitted (= the window's max count) */
export const P_EMIT = 22;
/** count-gated: forward the spike of the window's current winner (Rueckauer 2017) */
export const POOL_GATE = 0;
/** max-count: the output's net count follows the window's highest net count (±1 when it moves) */
export const POOL_MAX = 1;

// route (KIND_ROUTE)
export const R_NSRC = 16;
/** address of R_NSRC pairs (source descriptor, channel offset) of i32 */
export const R_SRCS = 17;

// upsample (KIND_UPSAMPLE)
export const U_SRC = 16;
export const U_STRIDE = 17;
