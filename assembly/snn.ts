/**
 * The SNN core: one time-stepped, event-driven tick of a converted spiking network, 128-bit SIMD,
 * float32 state. The host (src/sim/wasm.ts) lays out memory (assembly/snn-memory.ts) and calls
 * `run(net, n)`; nothing is allocated here.
 *
 * One tick, t = t + 1:
 *   input    Poisson coding: every input unit fires with its probability (xorshift32, channels-last
 *            order, one draw per unit per tick); analog coding: nothing (the drive replaces it);
 *            events: the host's spikes of this tick (a T×C×H×W tensor, channels-last order).
 *   layers, in order:
 *   conv     leak (LIF layers only): V ← leak[c]·V; synaptic current (CubaLIF only): I ← synLeak[c]·I,
 *            the scatter below into I instead of V, then I += synBias[c] and V += synGain[c]·I; then
 *            scatter: for every input spike (optionally sorted by channel first) add ±W̃ to the
 *            membranes of the output pixels it reaches (contiguous SIMD runs over output channels
 *            and taps); then V += bias (or the analog drive, constant per tick, bias included);
 *            saturate (fixed-point layers only: V clamped to ±C_CLAMP[c], once per tick, after
 *            all of the tick's input);
 *            fire (if: V ≥ vth+ → +1; signed: also V ≤ −vth− → −1; integrate: never), reset
 *            (subtract the crossed threshold, or zero); with burst spikes (C_BURST > 1) a neuron
 *            fires again while V still crosses, up to C_BURST spikes, subtracting each time;
 *            compact the spikes into the output list in (y, x, c) order. Sigma-delta neurons
 *            (C_SDE ≠ 0) never reset V: they fire while leaky(V) − E crosses ±vth+ (E: what they
 *            have emitted), see fireSigmaDelta.
 *   maxpool  the net spike counts of the input units are updated with this tick's spikes FIRST;
 *            then, rule 'gate' (count-gated, Rueckauer 2017): each window forwards the spike of its
 *            unit with the highest count (ties: the first unit in row-major window order) if that
 *            unit spiked; rule 'max' (max-count): each window touched by a spike compares the
 *            highest net count in it with the net count it has emitted so far and, when they differ,
 *            emits one spike of that sign, so its output count is exactly the window's max count
 *            (the max moves by at most as many spikes as the window received this tick, so one
 *            spike per received event always closes the gap, with burst spikes too).
 *   route    concatenation of the sources' lists (channel offsets).
 *   upsample every spike becomes stride² spikes.
 *   With N_DELAY = 1 (chip semantics) the layers read the lists of the tick before: route and
 *   upsample first (in order), then conv and maxpool in reverse order, so a spike takes one tick
 *   per neuron layer; the input's spikes still reach the first layer in the tick they are drawn.
 *
 * Counters (exact, accumulated over the run): spikes per channel and sign of every source; per
 * conv and group, the kernel taps delivered (× C_out/groups = SOPs; taps that fall outside the
 * output are not delivered, not counted) and the (pixel, group) pairs that received an event.
 *
 * Per-core accounting (only when the host loaded a mapping: N_ACCT = 1; see snn-memory.ts):
 *   - after a source (the Poisson input, a spiking conv, a max-pool) has produced its spike list,
 *     every spike is looked up ONCE in its producer's route table: key = KEY_BASE + (y·W + x)·nb +
 *     blockOf[c] → a cost record; the record's header is added to the source core's counters
 *     (spikes, packets, hops, crossings, relay synops), each entry's synaptic events to its
 *     destination core, and each route (packet leg) is counted for the link load and NoC drain:
 *     at the spike, or by hit counts added once per hit record at the end of the tick (N_RECRULE;
 *     by default per source, from its spikes per record hit: A_ATSPIKE). Route and upsample
 *     layers pass spikes on without a lookup: the producer's table already includes their wiring.
 *   - a neuron unit (conv: output pixel × group, max-pool: output neuron) that receives its first
 *     input event of the tick adds its neurons (copies and partial sums included) to the active
 *     counters of their cores; analog-input layers add all their neurons every tick.
 *   The host drains (reads and zeroes) the per-core counters after every tick. Without a mapping
 *   every accounting pointer is 0 and the tick is unchanged.
 *
 * Exports: `run(net, n)` (n whole ticks, the host's one call), and for benchmarks the parts of a
 * tick: `beginTick`, `layerStep`, `scatter`, `fire`, `inputTick`, `accountSpikes`.
 */
import {
  A_ACTOFF, A_ACTPAIRS, A_ATSPIKE, A_BLOCKOF, A_KEYBASE, A_NB, A_PSTAMP,
  CK_ACTIVE, CK_CROSSINGS, CK_HOPS_EW, CK_HOPS_NS, CK_HOPS_TILE, CK_PACKETS, CK_SPIKES, CK_SYNOPS, CORE_KINDS,
  N_ACCT, N_ACTRULE, N_CONSTACT, N_CORECNT, N_NCOREWORDS, N_KEYSIG, N_NCONSTACT, N_NRECTOUCHED, N_NTOUCHED, N_RECRULE, N_RECTOUCHED, N_ROUTECNT, N_SIGDATA, N_TOUCHED,
  TALLY_KINDS, TL_BAD, TL_COEF, TL_CORES, TL_COUNTS, TL_MAXBUSY, TL_NEURONS, TL_OVERLAP, TL_TICK, TL_TOT,
  SIG_CROSSINGS, SIG_HEAD, SIG_HITS, SIG_HOPS_EW, SIG_HOPS_NS, SIG_HOPS_TILE, SIG_NENT, SIG_NROUTES, SIG_PACKETS, SIG_RELAY_SYNOPS, SIG_SPIKES, SIG_SRC,
  C_ACTIVE, C_BIAS, C_BURST, C_CING, C_SDE, C_COUTG, C_CP, C_DRIVE, C_GROUPS, C_K, C_NEG_TICK, C_PAD, C_PHASE, C_POS_TICK, C_RESET,
  C_CLAMP, C_LEAK, C_RULE, C_SYN, C_SYNBIAS, C_SYNGAIN, C_SYNLEAK, C_SORT, C_SRC, C_STAMP, C_STRIDE, C_TAPS, C_TAPW, C_V, C_VTH_NEG, C_VTH_POS, C_W,
  I_EVCODES, I_EVOFF, I_EVTICKS, I_POISSON, I_RATES, INPUT_EVENTS,
  KIND_CONV, KIND_POOL, KIND_ROUTE, KIND_UPSAMPLE,
  L_C, L_CB, L_COUNT, L_H, L_KIND, L_LIST, L_NEG_TOT, L_POS_TOT, L_W, L_XB,
  N_CLAIM, N_DELAY, N_HIST, N_INPUT, N_LAYERS, N_NCLAIM, N_NLAYERS, N_NOC, N_NSWAPS, N_PEER, N_RNG, N_SCRATCH, N_SWAPS, N_SYNC, N_TICK,
  NOC_COLMARK, NOC_COLS, NOC_DE, NOC_DN, NOC_DS, NOC_DW, NOC_GEN, NOC_H, NOC_NOFF, NOC_NON, NOC_NROUTES, NOC_NUSED, NOC_ROWMARK, NOC_ROWS,
  NOC_NCOLS, NOC_NROWS, NOC_SEG, NOC_SHAPEMARK, NOC_TILESX, NOC_TILESY, NOC_TOP, NOC_TOPOFF, NOC_TOPON, NOC_TOTAL, NOC_USED, NOC_W,
  P_COUNT, P_EMIT, P_PAD, P_RULE, P_SIZE, P_SRC, P_STRIDE, POOL_MAX,
  R_NSRC, R_SRCS, RECORDS_AT_SPIKE, RECORDS_AUTO, RESET_ZERO, RULE_INTEGRATE, RULE_SIGNED,
  U_SRC, U_STRIDE,
} from './snn-memory';

/** first byte the host may use for its memory map */
export function heapBase(): usize {
  return __heap_base;
}

@inline function fi(d: usize, field: i32): i32 {
  return load<i32>(d + (<usize>field << 2));
}

@inline function fa(d: usize, field: i32): usize {
  return <usize>load<i32>(d + (<usize>field << 2));
}

@inline function ff(d: usize, field: i32): f32 {
  return load<f32>(d + (<usize>field << 2));
}

@inline function si(d: usize, field: i32, v: i32): void {
  store<i32>(d + (<usize>field << 2), v);
}

@inline function addF64(arr: usize, i: i32, v: f64): void {
  const a = arr + (<usize>i << 3);
  store<f64>(a, load<f64>(a) + v);
}

@inline function addI32(a: usize, v: i32): void {
  store<i32>(a, load<i32>(a) + v);
}

/** Adds the active neurons of unit u (pairs core, neurons) to the per-core counters. */
@inline function addActivity(cnt: usize, off: usize, pairs: usize, u: i32): void {
  const a = load<i32>(off + (<usize>u << 2)), b = load<i32>(off + (<usize>u << 2), 4);
  for (let i = a; i < b; i++) {
    const p = pairs + (<usize>i << 3);
    addI32(cnt + ((<usize>load<i32>(p) * CORE_KINDS + CK_ACTIVE) << 2), load<i32>(p, 4));
  }
}

/** spike code of (y, x, c, neg) for a list with channel bits cb and x bits xb */
@inline function encode(y: i32, x: i32, c: i32, neg: i32, cb: i32, xb: i32): i32 {
  return (((((y << xb) | x) << cb) | c) << 1) | neg;
}

// ---------------------------------------------------------------------------------------------
// input

/** Poisson input: one xorshift32 draw per input unit (channels-last order) per tick. */
export function inputTick(net: usize): void {
  const d = fa(net, N_INPUT);
  const mode = fi(d, I_POISSON);
  if (mode == 0) {
    si(d, L_COUNT, 0);
    return;
  }
  if (mode == INPUT_EVENTS) {
    // the host's events of this tick (none past the last): copied into the list, counted
    const t = fi(net, N_TICK), list = fa(d, L_LIST);
    if (t > fi(d, I_EVTICKS)) {
      si(d, L_COUNT, 0);
      return;
    }
    const off = fa(d, I_EVOFF), codes = fa(d, I_EVCODES);
    const a = load<i32>(off + (<usize>(t - 1) << 2)), b = load<i32>(off + (<usize>t << 2));
    memory.copy(list, codes + (<usize>a << 2), <usize>(b - a) << 2);
    const cmask = (1 << fi(d, L_CB)) - 1;
    const posTot = fa(d, L_POS_TOT), negTot = fa(d, L_NEG_TOT);
    for (let i = 0; i < b - a; i++) {
      const code = load<i32>(list + (<usize>i << 2));
      addF64(code & 1 ? negTot : posTot, (code >>> 1) & cmask, 1.0);
    }
    si(d, L_COUNT, b - a);
    return;
  }
  const h = fi(d, L_H), w = fi(d, L_W), c = fi(d, L_C), cb = fi(d, L_CB), xb = fi(d, L_XB);
  const posTot = fa(d, L_POS_TOT), negTot = fa(d, L_NEG_TOT);
  let rp = fa(d, I_RATES);
  const list = fa(d, L_LIST);
  let out = list;
  let s = <u32>fi(net, N_RNG);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let ch = 0; ch < c; ch++) {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        const u = <f32>(s >> 8) * (1.0 / 16777216.0);
        const r = load<f32>(rp);
        rp += 4;
        if (u < abs<f32>(r)) {
          const neg = r < 0 ? 1 : 0;
          store<i32>(out, encode(y, x, ch, neg, cb, xb));
          out += 4;
          addF64(neg ? negTot : posTot, ch, 1.0);
        }
      }
    }
  }
  si(net, N_RNG, <i32>s);
  si(d, L_COUNT, <i32>((out - list) >> 2));
}

// ---------------------------------------------------------------------------------------------
// conv: scatter

/** Stable counting sort of n codes by channel into the net's scratch list; returns its address. */
function sortByChannel(net: usize, list: usize, n: i32, cb: i32, c: i32): usize {
  const hist = fa(net, N_HIST), dst = fa(net, N_SCRATCH);
  const cmask = (1 << cb) - 1;
  memory.fill(hist, 0, (<usize>(c + 1)) << 2);
  for (let i = 0; i < n; i++) {
    const ch = (load<i32>(list + (<usize>i << 2)) >>> 1) & cmask;
    const a = hist + (<usize>(ch + 1) << 2);
    store<i32>(a, load<i32>(a) + 1);
  }
  let acc = 0;
  for (let i = 0; i <= c; i++) {
    const a = hist + (<usize>i << 2);
    acc += load<i32>(a);
    store<i32>(a, acc);
  }
  for (let i = 0; i < n; i++) {
    const code = load<i32>(list + (<usize>i << 2));
    const a = hist + (<usize>((code >>> 1) & cmask) << 2);
    const at = load<i32>(a);
    store<i32>(a, at + 1);
    store<i32>(dst + (<usize>at << 2), code);
  }
  return dst;
}

/**
 * V[0..bytes) ± W[0..bytes), bytes a multiple of 16, with a software prefetch: every 64 bytes
 * one load from [pf, pfEnd) (the next channel's kernel, 64 bytes apart) pulls that line into the
 * cache while the current spike is delivered. Returns the advanced prefetch pointer; the loaded
 * values are folded into `sink` so the loads are kept.
 */
@inline function runPf(vp: usize, wp: usize, bytes: usize, neg: i32, pf: usize, pfEnd: usize): usize {
  const end = vp + bytes;
  let sink = 0;
  if (neg) {
    while (vp + 64 <= end) {
      if (pf < pfEnd) {
        sink ^= load<i32>(pf);
        pf += 64;
      }
      v128.store(vp, f32x4.sub(v128.load(vp), v128.load(wp)));
      v128.store(vp, f32x4.sub(v128.load(vp, 16), v128.load(wp, 16)), 16);
      v128.store(vp, f32x4.sub(v128.load(vp, 32), v128.load(wp, 32)), 32);
      v128.store(vp, f32x4.sub(v128.load(vp, 48), v128.load(wp, 48)), 48);
      vp += 64;
      wp += 64;
    }
    while (vp < end) {
      v128.store(vp, f32x4.sub(v128.load(vp), v128.load(wp)));
      vp += 16;
      wp += 16;
    }
  } else {
    while (vp + 64 <= end) {
      if (pf < pfEnd) {
        sink ^= load<i32>(pf);
        pf += 64;
      }
      v128.store(vp, f32x4.add(v128.load(vp), v128.load(wp)));
      v128.store(vp, f32x4.add(v128.load(vp, 16), v128.load(wp, 16)), 16);
      v128.store(vp, f32x4.add(v128.load(vp, 32), v128.load(wp, 32)), 32);
      v128.store(vp, f32x4.add(v128.load(vp, 48), v128.load(wp, 48)), 48);
      vp += 64;
      wp += 64;
    }
    while (vp < end) {
      v128.store(vp, f32x4.add(v128.load(vp), v128.load(wp)));
      vp += 16;
      wp += 16;
    }
  }
  pfSink ^= sink;
  return pf;
}

/** where the prefetch loads end up (never read; keeps the loads alive) */
let pfSink: i32 = 0;

/** V[0..bytes) += W[0..bytes), bytes a multiple of 16 */
@inline function addRun(vp: usize, wp: usize, bytes: usize): void {
  const end = vp + bytes;
  while (vp + 64 <= end) {
    v128.store(vp, f32x4.add(v128.load(vp), v128.load(wp)));
    v128.store(vp, f32x4.add(v128.load(vp, 16), v128.load(wp, 16)), 16);
    v128.store(vp, f32x4.add(v128.load(vp, 32), v128.load(wp, 32)), 32);
    v128.store(vp, f32x4.add(v128.load(vp, 48), v128.load(wp, 48)), 48);
    vp += 64;
    wp += 64;
  }
  while (vp < end) {
    v128.store(vp, f32x4.add(v128.load(vp), v128.load(wp)));
    vp += 16;
    wp += 16;
  }
}

/** V[0..bytes) −= W[0..bytes), bytes a multiple of 16 */
@inline function subRun(vp: usize, wp: usize, bytes: usize): void {
  const end = vp + bytes;
  while (vp + 64 <= end) {
    v128.store(vp, f32x4.sub(v128.load(vp), v128.load(wp)));
    v128.store(vp, f32x4.sub(v128.load(vp, 16), v128.load(wp, 16)), 16);
    v128.store(vp, f32x4.sub(v128.load(vp, 32), v128.load(wp, 32)), 32);
    v128.store(vp, f32x4.sub(v128.load(vp, 48), v128.load(wp, 48)), 48);
    vp += 64;
    wp += 64;
  }
  while (vp < end) {
    v128.store(vp, f32x4.sub(v128.load(vp), v128.load(wp)));
    vp += 16;
    wp += 16;
  }
}

/** grouped conv: nt taps of n floats each; V taps pixB apart, weight taps n·4 bytes apart */
@inline function tapsAny(vp: usize, wp: usize, nt: i32, n: i32, pixB: usize, neg: i32): void {
  const n4 = <usize>(n & ~3) << 2, tail = <usize>n << 2;
  for (let t = 0; t < nt; t++) {
    let j: usize = 0;
    if (neg) {
      while (j < n4) {
        v128.store(vp + j, f32x4.sub(v128.load(vp + j), v128.load(wp + j)));
        j += 16;
      }
      while (j < tail) {
        store<f32>(vp + j, load<f32>(vp + j) - load<f32>(wp + j));
        j += 4;
      }
    } else {
      while (j < n4) {
        v128.store(vp + j, f32x4.add(v128.load(vp + j), v128.load(wp + j)));
        j += 16;
      }
      while (j < tail) {
        store<f32>(vp + j, load<f32>(vp + j) + load<f32>(wp + j));
        j += 4;
      }
    }
    vp += pixB;
    wp += tail;
  }
}

/**
 * Delivers the source's spikes of this tick into the membranes. Output (oy, ox) receives input
 * (oy·s + ky − pad, ox·s + kx − pad): for an input spike at (y, x) the reached output pixels form
 * a rectangle [oya, oyb] × [oxa, oxb], one kernel row per output row and, inside a row, a
 * contiguous run of packed taps for a contiguous run of output pixels.
 */
export function scatter(net: usize, d: usize): void {
  const src = fa(d, C_SRC);
  if (src == 0) return;
  const n = fi(src, L_COUNT);
  if (n == 0) return;
  const scb = fi(src, L_CB), sxb = fi(src, L_XB);
  const cmask = (1 << scb) - 1, xmask = (1 << sxb) - 1, ysh = 1 + scb + sxb;
  let list = fa(src, L_LIST);
  if (fi(d, C_SORT)) list = sortByChannel(net, list, n, scb, fi(src, L_C));

  const outH = fi(d, L_H), outW = fi(d, L_W), cp = fi(d, C_CP);
  const k = fi(d, C_K), st = fi(d, C_STRIDE), pad = fi(d, C_PAD);
  const groups = fi(d, C_GROUPS), cinG = fi(d, C_CING), coutG = fi(d, C_COUTG), tapW = fi(d, C_TAPW);
  // the tick's input goes into the synaptic current when the layer has one, else into V
  const syn = fa(d, C_SYN);
  const V = syn ? syn : fa(d, C_V), W = fa(d, C_W), phase = fa(d, C_PHASE);
  const stamps = fa(d, C_STAMP), tapsTot = fa(d, C_TAPS), activeTot = fa(d, C_ACTIVE);
  const tick = fi(net, N_TICK);
  // accounting: a newly active (pixel, group) unit adds its neurons to their cores' counters
  const actOff = fa(d, A_ACTOFF), actPairs = fa(d, A_ACTPAIRS), coreCnt = fa(net, N_CORECNT);
  const pixB = <usize>cp << 2, rowB = <usize>outW * pixB, tapB = <usize>tapW << 2;
  const kRowB = <usize>k * tapB, chB = <usize>k * kRowB;
  const dense = groups == 1;
  // sorted input: while a channel's spikes are delivered, its successor's kernel is prefetched
  const prefetch = fi(d, C_SORT) != 0 && dense;
  let pf: usize = 0, pfEnd: usize = 0, curC = -1, scan = 0;

  for (let i = 0; i < n; i++) {
    const code = load<i32>(list + (<usize>i << 2));
    const neg = code & 1;
    const c = (code >>> 1) & cmask;
    if (prefetch && c != curC) {
      curC = c;
      let j = max(i + 1, scan);
      while (j < n && ((load<i32>(list + (<usize>j << 2)) >>> 1) & cmask) == c) j++;
      scan = j;
      if (j < n) {
        pf = W + <usize>((load<i32>(list + (<usize>j << 2)) >>> 1) & cmask) * chB;
        pfEnd = pf + chB;
      } else {
        pf = pfEnd = 0;
      }
    }
    const x = (code >>> (1 + scb)) & xmask;
    const y = code >>> ysh;
    const g = dense ? 0 : cinG == 1 ? c : c / cinG;
    const ry = y + pad, rx = x + pad;
    let oya: i32, oyb: i32, oxa: i32, oxb: i32, tap0: i32;
    if (st == 1) {
      oya = max(0, ry - k + 1);
      oyb = min(outH - 1, ry);
      oxa = max(0, rx - k + 1);
      oxb = min(outW - 1, rx);
      tap0 = k - 1 - (rx - oxa); // packed index of kx = rx − oxa in the reversed row
    } else {
      const ly = ry - k + 1, lx = rx - k + 1;
      oya = ly <= 0 ? 0 : (ly + st - 1) / st;
      oyb = min(outH - 1, ry / st);
      oxa = lx <= 0 ? 0 : (lx + st - 1) / st;
      oxb = min(outW - 1, rx / st);
      if (oya > oyb || oxa > oxb) continue;
      const px = rx % st; // every reached kx ≡ rx (mod stride)
      const nP = (k - px + st - 1) / st;
      tap0 = load<i32>(phase + (<usize>px << 2)) + nP - 1 - (rx - oxa * st - px) / st;
    }
    const nt = oxb - oxa + 1;
    const wc = W + <usize>c * chB + <usize>tap0 * tapB;
    const vOff = <usize>oxa * pixB + (dense ? 0 : <usize>(g * coutG) << 2);
    let act = 0;
    for (let oy = oya; oy <= oyb; oy++) {
      const ky = ry - oy * st;
      const wp = wc + <usize>ky * kRowB;
      const vp = V + <usize>oy * rowB + vOff;
      if (prefetch) {
        pf = runPf(vp, wp, <usize>nt * pixB, neg, pf, pfEnd);
      } else if (dense) {
        if (neg) subRun(vp, wp, <usize>nt * pixB);
        else addRun(vp, wp, <usize>nt * pixB);
      } else if (coutG == 1) {
        // depthwise: one weight per tap, the reached membranes pixB apart
        const vEnd = vp + <usize>nt * pixB;
        let v = vp, w = wp;
        if (neg) {
          while (v < vEnd) {
            store<f32>(v, load<f32>(v) - load<f32>(w));
            v += pixB;
            w += 4;
          }
        } else {
          while (v < vEnd) {
            store<f32>(v, load<f32>(v) + load<f32>(w));
            v += pixB;
            w += 4;
          }
        }
      } else {
        tapsAny(vp, wp, nt, coutG, pixB, neg);
      }
      let sp = stamps + ((<usize>(oy * outW + oxa) * <usize>groups + <usize>g) << 2);
      const sStep = <usize>groups << 2;
      for (let t = 0; t < nt; t++) {
        if (load<i32>(sp) != tick) {
          store<i32>(sp, tick);
          act++;
          if (actOff) addActivity(coreCnt, actOff, actPairs, (oy * outW + oxa + t) * groups + g);
        }
        sp += sStep;
      }
    }
    addF64(tapsTot, g, <f64>((oyb - oya + 1) * nt));
    if (act) addF64(activeTot, g, <f64>act);
  }
}

// ---------------------------------------------------------------------------------------------
// conv: integrate the constant current, fire, reset, compact

/**
 * V += bias (or the analog drive); saturate (fixed-point layers: V clamped to ±C_CLAMP[c]); fire,
 * reset and compact the spikes of the whole layer into its output list, in (y, x, c) order.
 * Branch-light: a 4-channel vector is only examined further when one of its lanes fired, and then
 * its 4 codes are written unconditionally, the output pointer advancing by the lanes that fired.
 */
export function fire(net: usize, d: usize): void {
  const h = fi(d, L_H), w = fi(d, L_W), c = fi(d, L_C), cp = fi(d, C_CP), cb = fi(d, L_CB), xb = fi(d, L_XB);
  const V = fa(d, C_V);
  const drive = fa(d, C_DRIVE);
  const rule = fi(d, C_RULE), zero = fi(d, C_RESET) == RESET_ZERO;
  const pixB = <usize>cp << 2;
  // the constant current: the drive advances with the pixel, the bias does not
  const addBase = drive ? drive : fa(d, C_BIAS);
  const addStep: usize = drive ? pixB : 0;
  const nPix = h * w;
  const groups = fi(d, C_GROUPS);
  // saturating membrane: per-channel bounds (float layers: none, one flag per layer)
  const lim = fa(d, C_CLAMP);
  const clamped = lim != 0;

  if (drive) {
    // an analog-input layer receives input current in every neuron every tick
    const at = fa(d, C_ACTIVE);
    for (let g = 0; g < groups; g++) addF64(at, g, <f64>nPix);
  } else if (fi(net, N_ACTRULE) == 1 && fa(d, A_ACTOFF) != 0) activeByState(net, d);

  if (rule == RULE_INTEGRATE) {
    let vp = V, ap = addBase;
    for (let p = 0; p < nPix; p++) {
      if (clamped) {
        for (let j: usize = 0; j < pixB; j += 16) {
          const hi = v128.load(lim + j);
          v128.store(vp + j, f32x4.min(f32x4.max(f32x4.add(v128.load(vp + j), v128.load(ap + j)), f32x4.neg(hi)), hi));
        }
      } else {
        for (let j: usize = 0; j < pixB; j += 16) v128.store(vp + j, f32x4.add(v128.load(vp + j), v128.load(ap + j)));
      }
      vp += pixB;
      ap += addStep;
    }
    si(d, L_COUNT, 0);
    return;
  }

  const signed = rule == RULE_SIGNED;
  const vthP = f32x4.splat(ff(d, C_VTH_POS));
  const vthN = f32x4.splat(ff(d, C_VTH_NEG));
  const thrN = f32x4.neg(vthN);
  const zeroV = f32x4.splat(0);
  const one = i32x4.splat(1);
  const laneOff = i32x4(0, 2, 4, 6);
  const posTick = fa(d, C_POS_TICK), negTick = fa(d, C_NEG_TICK);
  const burst = fi(d, C_BURST);
  const vthPS = ff(d, C_VTH_POS), vthNS = ff(d, C_VTH_NEG);
  const list = fa(d, L_LIST);
  let out = list;
  let vp = V, ap = addBase;
  let y = 0, x = 0;
  const sdE = fa(d, C_SDE);
  if (sdE != 0) {
    out = fireSigmaDelta(d, V, sdE, addBase, addStep, lim, out, burst);
    finishFire(d, list, out, c, posTick, negTick);
    return;
  }
  for (let p = 0; p < nPix; p++) {
    const base = (((y << xb) | x) << cb) << 1;
    for (let j: usize = 0; j < pixB; j += 16) {
      let v = f32x4.add(v128.load(vp + j), v128.load(ap + j));
      if (clamped) {
        const hi = v128.load(lim + j);
        v = f32x4.min(f32x4.max(v, f32x4.neg(hi)), hi);
      }
      const pos = f32x4.ge(v, vthP);
      const neg = signed ? f32x4.le(v, thrN) : zeroV;
      const fired = v128.or(pos, neg);
      if (v128.any_true(fired)) {
        if (burst > 1) {
          // burst spikes: lane by lane (a lane may fire several times); rare, so scalar
          v128.store(vp + j, v);
          out = fireBurst(vp + j, posTick + j, negTick + j, out, base | (<i32>(j >> 2) << 1), vthPS, vthNS, signed, zero, burst);
          continue;
        }
        if (zero) {
          v = v128.andnot(v, fired);
        } else {
          v = v128.bitselect(f32x4.sub(v, vthP), v, pos);
          if (signed) v = v128.bitselect(f32x4.add(v, vthN), v, neg);
        }
        const ch = <i32>(j >> 2);
        const codes = v128.or(i32x4.add(i32x4.splat(base | (ch << 1)), laneOff), v128.and(neg, one));
        store<i32>(out, i32x4.extract_lane(codes, 0));
        out += <usize>(i32x4.extract_lane(fired, 0) & 4);
        store<i32>(out, i32x4.extract_lane(codes, 1));
        out += <usize>(i32x4.extract_lane(fired, 1) & 4);
        store<i32>(out, i32x4.extract_lane(codes, 2));
        out += <usize>(i32x4.extract_lane(fired, 2) & 4);
        store<i32>(out, i32x4.extract_lane(codes, 3));
        out += <usize>(i32x4.extract_lane(fired, 3) & 4);
        v128.store(posTick + j, i32x4.sub(v128.load(posTick + j), pos));
        if (signed) v128.store(negTick + j, i32x4.sub(v128.load(negTick + j), neg));
      }
      v128.store(vp + j, v);
    }
    vp += pixB;
    ap += addStep;
    if (++x == w) {
      x = 0;
      y++;
    }
  }
  finishFire(d, list, out, c, posTick, negTick);
}

/** The list's length, and this tick's per-channel counts folded into the run totals. */
function finishFire(d: usize, list: usize, out: usize, c: i32, posTick: usize, negTick: usize): void {
  si(d, L_COUNT, <i32>((out - list) >> 2));
  const posTot = fa(d, L_POS_TOT), negTot = fa(d, L_NEG_TOT);
  for (let ch = 0; ch < c; ch++) {
    const a = posTick + (<usize>ch << 2), b = negTick + (<usize>ch << 2);
    addF64(posTot, ch, <f64>load<i32>(a));
    addF64(negTot, ch, <f64>load<i32>(b));
    store<i32>(a, 0);
    store<i32>(b, 0);
  }
}

/**
 * Sigma-delta IBT neurons (C_SDE): V += bias or drive (clamped where the layer saturates) and is
 * never reset; a = vth+/vth− (float32), target = V ≥ 0 ? V : V·a, and the neuron fires +1 while
 * target − E ≥ vth+ (E += vth+ each), else −1 while target − E ≤ −vth+ (E −= vth+ each), at most
 * `burst` spikes, all float32 like the reference engine. Vector test first; lanes only for a
 * vector that fires. Returns the list's new end.
 */
function fireSigmaDelta(d: usize, V: usize, E: usize, addBase: usize, addStep: usize, lim: usize, out: usize, burst: i32): usize {
  const h = fi(d, L_H), w = fi(d, L_W), cp = fi(d, C_CP), cb = fi(d, L_CB), xb = fi(d, L_XB);
  const pixB = <usize>cp << 2;
  const vthPS = ff(d, C_VTH_POS), vthNS = ff(d, C_VTH_NEG);
  const aS: f32 = vthPS / vthNS;
  const vthP = f32x4.splat(vthPS), thrN = f32x4.splat(-vthPS), a4 = f32x4.splat(aS), zeroV = f32x4.splat(0);
  const posTick = fa(d, C_POS_TICK), negTick = fa(d, C_NEG_TICK);
  let vp = V, ep = E, ap = addBase;
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const base = (((y << xb) | x) << cb) << 1;
    for (let j: usize = 0; j < pixB; j += 16) {
      let v = f32x4.add(v128.load(vp + j), v128.load(ap + j));
      if (lim != 0) {
        const hi = v128.load(lim + j);
        v = f32x4.min(f32x4.max(v, f32x4.neg(hi)), hi);
      }
      v128.store(vp + j, v);
      const tgt = v128.bitselect(v, f32x4.mul(v, a4), f32x4.ge(v, zeroV));
      const e = v128.load(ep + j);
      const dl = f32x4.sub(tgt, e);
      if (!v128.any_true(v128.or(f32x4.ge(dl, vthP), f32x4.le(dl, thrN)))) continue;
      const code0 = base | (<i32>(j >> 2) << 1);
      for (let k = 0; k < 4; k++) {
        const off = j + (<usize>k << 2);
        const vk = load<f32>(vp + off);
        const t: f32 = vk >= 0 ? vk : vk * aS;
        let ek = load<f32>(ep + off);
        const code = code0 | (k << 1);
        let n = 0;
        if (t - ek >= vthPS) {
          do {
            ek += vthPS;
            store<i32>(out, code);
            out += 4;
            n++;
          } while (n < burst && t - ek >= vthPS);
          addI32(posTick + off, n);
        } else if (t - ek <= -vthPS) {
          do {
            ek -= vthPS;
            store<i32>(out, code | 1);
            out += 4;
            n++;
          } while (n < burst && t - ek <= -vthPS);
          addI32(negTick + off, n);
        } else continue;
        store<f32>(ep + off, ek);
      }
    }
    vp += pixB;
    ep += pixB;
    ap += addStep;
  }
  return out;
}

/**
 * The 4 lanes of a fired vector with burst spikes, in channel order: a lane at V ≥ vth+ sends
 * spikes while V ≥ vth+, at most `burst`, subtracting vth+ (float32) for each (V ≤ −vth−
 * likewise with −1 spikes), all of one lane's codes adjacent; zero reset clears V after them.
 * Returns the list's new end.
 */
function fireBurst(vp: usize, posTick: usize, negTick: usize, out: usize, code0: i32, vthP: f32, vthN: f32, signed: bool, zero: bool, burst: i32): usize {
  for (let k = 0; k < 4; k++) {
    const a = vp + (<usize>k << 2);
    let v = load<f32>(a);
    const code = code0 | (k << 1);
    let n = 0;
    if (v >= vthP) {
      do {
        v -= vthP;
        store<i32>(out, code);
        out += 4;
        n++;
      } while (n < burst && v >= vthP);
      addI32(posTick + (<usize>k << 2), n);
    } else if (signed && v <= -vthN) {
      do {
        v += vthN;
        store<i32>(out, code | 1);
        out += 4;
        n++;
      } while (n < burst && v <= -vthN);
      addI32(negTick + (<usize>k << 2), n);
    } else continue;
    store<f32>(a, zero ? 0 : v);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// maxpool, route, upsample

/** Count-gated spike max-pool (see the file header for the rule). */
export function pool(net: usize, d: usize): void {
  const src = fa(d, P_SRC);
  const n = fi(src, L_COUNT);
  const list = fa(d, L_LIST);
  if (n == 0) {
    si(d, L_COUNT, 0);
    return;
  }
  const inH = fi(src, L_H), inW = fi(src, L_W), C = fi(src, L_C), scb = fi(src, L_CB), sxb = fi(src, L_XB);
  const cmask = (1 << scb) - 1, xmask = (1 << sxb) - 1, ysh = 1 + scb + sxb;
  const outH = fi(d, L_H), outW = fi(d, L_W), cb = fi(d, L_CB), xb = fi(d, L_XB);
  const size = fi(d, P_SIZE), st = fi(d, P_STRIDE), pb = fi(d, P_PAD);
  const cnt = fa(d, P_COUNT), inList = fa(src, L_LIST);
  const posTot = fa(d, L_POS_TOT), negTot = fa(d, L_NEG_TOT);
  const maxRule = fi(d, P_RULE) == POOL_MAX, emitted = fa(d, P_EMIT);
  const pixB = <usize>C << 2, rowB = <usize>inW * pixB;
  // accounting: a pool neuron's first input event of the tick makes it active
  const pStamp = fa(d, A_PSTAMP), actOff = fa(d, A_ACTOFF), actPairs = fa(d, A_ACTPAIRS);
  const coreCnt = fa(net, N_CORECNT), tick = fi(net, N_TICK);
  // 1. update the net counts with this tick's spikes
  for (let i = 0; i < n; i++) {
    const code = load<i32>(inList + (<usize>i << 2));
    const c = (code >>> 1) & cmask, x = (code >>> (1 + scb)) & xmask, y = code >>> ysh;
    const a = cnt + <usize>y * rowB + <usize>x * pixB + (<usize>c << 2);
    store<i32>(a, load<i32>(a) + 1 - ((code & 1) << 1));
  }
  // 2. each spike is forwarded to every window it is the winner of
  let out = list;
  for (let i = 0; i < n; i++) {
    const code = load<i32>(inList + (<usize>i << 2));
    const neg = code & 1;
    const c = (code >>> 1) & cmask, x = (code >>> (1 + scb)) & xmask, y = code >>> ysh;
    // the windows containing (y, x): oy·st − pb ≤ y < oy·st − pb + size (no division for st 1, 2)
    const ly = y + pb - size + 1, lx = x + pb - size + 1;
    let oya: i32, oyb: i32, oxa: i32, oxb: i32;
    if (st == 2) {
      oya = ly <= 0 ? 0 : (ly + 1) >> 1;
      oyb = min(outH - 1, (y + pb) >> 1);
      oxa = lx <= 0 ? 0 : (lx + 1) >> 1;
      oxb = min(outW - 1, (x + pb) >> 1);
    } else if (st == 1) {
      oya = max(0, ly);
      oyb = min(outH - 1, y + pb);
      oxa = max(0, lx);
      oxb = min(outW - 1, x + pb);
    } else {
      oya = ly <= 0 ? 0 : (ly + st - 1) / st;
      oyb = min(outH - 1, (y + pb) / st);
      oxa = lx <= 0 ? 0 : (lx + st - 1) / st;
      oxb = min(outW - 1, (x + pb) / st);
    }
    // The spike wins a window iff its unit's count beats every cell before it in row-major window
    // order (>) and ties or beats every cell after it (≥): the argmax with ties to the first cell,
    // as a branch-free conjunction (the comparisons are data-dependent, unpredictable).
    const cOff = cnt + (<usize>c << 2);
    const own = load<i32>(cOff + <usize>y * rowB + <usize>x * pixB);
    const tot = neg ? negTot : posTot;
    for (let oy = oya; oy <= oyb; oy++) {
      const y0 = oy * st - pb;
      const ya = max(y0, 0), yb = min(y0 + size, inH);
      for (let ox = oxa; ox <= oxb; ox++) {
        const x0 = ox * st - pb;
        const xa = max(x0, 0), xb2 = min(x0 + size, inW);
        if (pStamp) {
          const u = (oy * outW + ox) * C + c;
          const a = pStamp + (<usize>u << 2);
          if (load<i32>(a) != tick) {
            store<i32>(a, tick);
            addActivity(coreCnt, actOff, actPairs, u);
          }
        }
        if (maxRule) {
          // the window's highest net count against what this output has emitted
          let m = i32.MIN_VALUE;
          if (size == 2) {
            // 2×2 unrolled: a clipped row or column repeats the other (the max is unchanged)
            const r0 = cOff + <usize>ya * rowB, r1 = cOff + <usize>(yb - 1) * rowB;
            const c0 = <usize>xa * pixB, c1 = <usize>(xb2 - 1) * pixB;
            m = max(max(load<i32>(r0 + c0), load<i32>(r0 + c1)), max(load<i32>(r1 + c0), load<i32>(r1 + c1)));
          } else {
            for (let yy = ya; yy < yb; yy++) {
              const rp = cOff + <usize>yy * rowB;
              for (let xx = xa; xx < xb2; xx++) m = max(m, load<i32>(rp + <usize>xx * pixB));
            }
          }
          const ea = emitted + (<usize>((oy * outW + ox) * C + c) << 2);
          const e = load<i32>(ea);
          if (m != e) {
            const down = i32(m < e);
            store<i32>(ea, e + 1 - (down << 1));
            store<i32>(out, encode(oy, ox, c, down, cb, xb));
            out += 4;
            addF64(down ? negTot : posTot, c, 1.0);
          }
          continue;
        }
        let win = 1;
        if (size == 2) {
          // the 2×2 window unrolled: cells outside the input read as i32.MIN (never win)
          const y1ok = y0 + 1 < inH, x1ok = x0 + 1 < inW;
          const r0 = cOff + <usize>ya * rowB, r1 = cOff + <usize>(yb - 1) * rowB;
          const c0 = <usize>xa * pixB, c1 = <usize>(xb2 - 1) * pixB;
          const v00 = select<i32>(load<i32>(r0 + c0), i32.MIN_VALUE, y0 >= 0 && x0 >= 0);
          const v01 = select<i32>(load<i32>(r0 + c1), i32.MIN_VALUE, y0 >= 0 && x1ok);
          const v10 = select<i32>(load<i32>(r1 + c0), i32.MIN_VALUE, y1ok && x0 >= 0);
          const v11 = select<i32>(load<i32>(r1 + c1), i32.MIN_VALUE, y1ok && x1ok);
          const k = ((y - y0) << 1) | (x - x0); // own cell, 0..3
          win = select<i32>(i32(v00 < own), i32(v00 <= own), k > 0)
            & select<i32>(i32(v01 < own), i32(v01 <= own), k > 1)
            & select<i32>(i32(v10 < own), i32(v10 <= own), k > 2)
            & i32(v11 <= own);
        } else {
          for (let yy = ya; yy < yb; yy++) {
            const rp = cOff + <usize>yy * rowB;
            for (let xx = xa; xx < xb2; xx++) {
              const v = load<i32>(rp + <usize>xx * pixB);
              const before = yy < y || (yy == y && xx < x);
              win &= select<i32>(i32(v < own), i32(v <= own), before);
            }
          }
        }
        store<i32>(out, encode(oy, ox, c, neg, cb, xb));
        out += <usize>(win << 2);
        addF64(tot, c, <f64>win);
      }
    }
  }
  si(d, L_COUNT, <i32>((out - list) >> 2));
}

/** Concatenation of the sources' spike lists along channels. */
export function route(d: usize): void {
  const ns = fi(d, R_NSRC), tab = fa(d, R_SRCS);
  const cb = fi(d, L_CB), xb = fi(d, L_XB);
  const posTot = fa(d, L_POS_TOT), negTot = fa(d, L_NEG_TOT);
  const list = fa(d, L_LIST);
  let out = list;
  for (let s = 0; s < ns; s++) {
    const src = <usize>load<i32>(tab + (<usize>s << 3));
    const off = load<i32>(tab + (<usize>s << 3), 4);
    const n = fi(src, L_COUNT), scb = fi(src, L_CB), sxb = fi(src, L_XB);
    const cmask = (1 << scb) - 1, xmask = (1 << sxb) - 1, ysh = 1 + scb + sxb;
    const inList = fa(src, L_LIST);
    for (let i = 0; i < n; i++) {
      const code = load<i32>(inList + (<usize>i << 2));
      const neg = code & 1;
      const c = ((code >>> 1) & cmask) + off, x = (code >>> (1 + scb)) & xmask, y = code >>> ysh;
      store<i32>(out, encode(y, x, c, neg, cb, xb));
      out += 4;
      addF64(neg ? negTot : posTot, c, 1.0);
    }
  }
  si(d, L_COUNT, <i32>((out - list) >> 2));
}

/** Nearest-neighbour upsample: each spike becomes stride² spikes (row-major inside the block). */
export function upsample(d: usize): void {
  const src = fa(d, U_SRC), st = fi(d, U_STRIDE);
  const n = fi(src, L_COUNT), scb = fi(src, L_CB), sxb = fi(src, L_XB);
  const cmask = (1 << scb) - 1, xmask = (1 << sxb) - 1, ysh = 1 + scb + sxb;
  const cb = fi(d, L_CB), xb = fi(d, L_XB);
  const posTot = fa(d, L_POS_TOT), negTot = fa(d, L_NEG_TOT);
  const inList = fa(src, L_LIST), list = fa(d, L_LIST);
  let out = list;
  for (let i = 0; i < n; i++) {
    const code = load<i32>(inList + (<usize>i << 2));
    const neg = code & 1;
    const c = (code >>> 1) & cmask, x = (code >>> (1 + scb)) & xmask, y = code >>> ysh;
    for (let dy = 0; dy < st; dy++) {
      for (let dx = 0; dx < st; dx++) {
        store<i32>(out, encode(y * st + dy, x * st + dx, c, neg, cb, xb));
        out += 4;
      }
    }
    addF64(neg ? negTot : posTot, c, <f64>(st * st));
  }
  si(d, L_COUNT, <i32>((out - list) >> 2));
}

// ---------------------------------------------------------------------------------------------
// the tick

/**
 * Accounting rule N_ACTRULE = 1 (SANA-FE's): a (pixel, group) unit no input event reached this tick
 * still counts as active when one of its neurons holds a non-zero potential (before this tick's
 * bias) or has a non-zero bias. Runs at the start of fire(), after the scatter stamped the reached
 * units. Per-core counters only: the network's own active counts keep the input rule.
 */
function activeByState(net: usize, d: usize): void {
  const nPix = fi(d, L_H) * fi(d, L_W), cp = fi(d, C_CP), groups = fi(d, C_GROUPS), coutG = fi(d, C_COUTG);
  const V = fa(d, C_V), bias = fa(d, C_BIAS), stamps = fa(d, C_STAMP), tick = fi(net, N_TICK);
  const actOff = fa(d, A_ACTOFF), actPairs = fa(d, A_ACTPAIRS), coreCnt = fa(net, N_CORECNT);
  for (let g = 0; g < groups; g++) {
    let biased = false;
    for (let j = g * coutG; j < (g + 1) * coutG; j++) if (load<f32>(bias + (<usize>j << 2)) != 0) biased = true;
    for (let p = 0; p < nPix; p++) {
      const u = p * groups + g;
      if (load<i32>(stamps + (<usize>u << 2)) == tick) continue;
      let on = biased;
      const vp = V + ((<usize>p * <usize>cp + <usize>(g * coutG)) << 2);
      for (let j = 0; j < coutG && !on; j++) if (load<f32>(vp + (<usize>j << 2)) != 0) on = true;
      if (on) addActivity(coreCnt, actOff, actPairs, u);
    }
  }
}

/**
 * Looks up every spike of source d's list in its producer's route table (one lookup per spike)
 * and counts a hit in its cost record; flushRecords adds the hit records' costs at the end of the
 * tick (see the file header).
 */
export function accountSpikes(net: usize, d: usize): void {
  const blockOf = fa(d, A_BLOCKOF);
  const n = fi(d, L_COUNT);
  if (blockOf == 0 || n == 0) return;
  const cb = fi(d, L_CB), xb = fi(d, L_XB), w = fi(d, L_W), nb = fi(d, A_NB), keyBase = fi(d, A_KEYBASE);
  const cmask = (1 << cb) - 1, xmask = (1 << xb) - 1, ysh = 1 + cb + xb;
  const list = fa(d, L_LIST);
  const keySig = fa(net, N_KEYSIG), sigData = fa(net, N_SIGDATA), recTouched = fa(net, N_RECTOUCHED);
  const rule = fi(net, N_RECRULE);
  if (rule == RECORDS_AT_SPIKE || (rule == RECORDS_AUTO && fi(d, A_ATSPIKE) != 0 && (fi(net, N_TICK) & 15) != 0)) {
    // each spike adds its record's costs now, while the record is in cache
    const cnt = fa(net, N_CORECNT), routeCnt = fa(net, N_ROUTECNT), touched = fa(net, N_TOUCHED);
    let nTouched = fi(net, N_NTOUCHED);
    for (let i = 0; i < n; i++) {
      const code = load<i32>(list + (<usize>i << 2));
      const c = (code >>> 1) & cmask, x = (code >>> (1 + cb)) & xmask, y = code >>> ysh;
      const key = keyBase + (y * w + x) * nb + load<i32>(blockOf + (<usize>c << 2));
      nTouched = applyRecord(cnt, routeCnt, touched, nTouched, sigData + (<usize>load<i32>(keySig + (<usize>key << 2)) << 2), 1);
    }
    si(net, N_NTOUCHED, nTouched);
    return;
  }
  const nRec0 = fi(net, N_NRECTOUCHED);
  let nRec = nRec0;
  for (let i = 0; i < n; i++) {
    const code = load<i32>(list + (<usize>i << 2));
    const c = (code >>> 1) & cmask, x = (code >>> (1 + cb)) & xmask, y = code >>> ysh;
    const key = keyBase + (y * w + x) * nb + load<i32>(blockOf + (<usize>c << 2));
    const off = load<i32>(keySig + (<usize>key << 2));
    const h = sigData + ((<usize>off + SIG_HITS) << 2);
    const hits = load<i32>(h);
    if (hits == 0) {
      store<i32>(recTouched + (<usize>nRec << 2), off);
      nRec++;
    }
    store<i32>(h, hits + 1);
  }
  si(net, N_NRECTOUCHED, nRec);
  // fewer than 1.5 spikes per record hit: apply them at the spike until the next counted tick
  if (rule == RECORDS_AUTO) si(d, A_ATSPIKE, 2 * n < 3 * (nRec - nRec0) ? 1 : 0);
}

/**
 * End of an accounted tick: every cost record hit this tick adds its costs × its hits to the
 * per-core counters (header to the source core, synaptic events to each destination, packets to
 * each route) and its hits go back to 0. Integer sums, so the counters are those of adding each
 * spike's costs one by one.
 */
export function flushRecords(net: usize): void {
  const nRec = fi(net, N_NRECTOUCHED);
  if (nRec == 0) return;
  const cnt = fa(net, N_CORECNT), sigData = fa(net, N_SIGDATA), recTouched = fa(net, N_RECTOUCHED);
  const routeCnt = fa(net, N_ROUTECNT), touched = fa(net, N_TOUCHED);
  let nTouched = fi(net, N_NTOUCHED);
  for (let j = 0; j < nRec; j++) {
    const r = sigData + (<usize>load<i32>(recTouched + (<usize>j << 2)) << 2);
    const hits = load<i32>(r + (SIG_HITS << 2));
    store<i32>(r + (SIG_HITS << 2), 0);
    nTouched = applyRecord(cnt, routeCnt, touched, nTouched, r, hits);
  }
  si(net, N_NTOUCHED, nTouched);
  si(net, N_NRECTOUCHED, 0);
}

/**
 * Adds cost record r's costs × hits to the per-core counters (header to the source core, synaptic
 * events to each destination) and its packets to each route; returns the touched-route count.
 */
@inline function applyRecord(cnt: usize, routeCnt: usize, touched: usize, nTouched: i32, r: usize, hits: i32): i32 {
  const src = load<i32>(r + (SIG_SRC << 2));
  if (src >= 0) {
    const p = cnt + (<usize>(src * CORE_KINDS) << 2);
    addI32(p + (CK_SPIKES << 2), hits * load<i32>(r + (SIG_SPIKES << 2)));
    addI32(p + (CK_PACKETS << 2), hits * load<i32>(r + (SIG_PACKETS << 2)));
    addI32(p + (CK_HOPS_TILE << 2), hits * load<i32>(r + (SIG_HOPS_TILE << 2)));
    addI32(p + (CK_HOPS_EW << 2), hits * load<i32>(r + (SIG_HOPS_EW << 2)));
    addI32(p + (CK_HOPS_NS << 2), hits * load<i32>(r + (SIG_HOPS_NS << 2)));
    addI32(p + (CK_CROSSINGS << 2), hits * load<i32>(r + (SIG_CROSSINGS << 2)));
    addI32(p + (CK_SYNOPS << 2), hits * load<i32>(r + (SIG_RELAY_SYNOPS << 2)));
  }
  const ne = load<i32>(r + (SIG_NENT << 2)), nr = load<i32>(r + (SIG_NROUTES << 2));
  let e = r + (SIG_HEAD << 2);
  const eEnd = e + (<usize>ne << 3);
  while (e < eEnd) {
    addI32(cnt + ((<usize>load<i32>(e) * CORE_KINDS + CK_SYNOPS) << 2), hits * load<i32>(e, 4));
    e += 8;
  }
  const rEnd = e + (<usize>nr << 2);
  while (e < rEnd) {
    const id = load<i32>(e);
    const a = routeCnt + (<usize>id << 2);
    const v = load<i32>(a);
    if (v == 0) {
      store<i32>(touched + (<usize>nTouched << 2), id);
      nTouched++;
    }
    store<i32>(a, v + hits);
    e += 4;
  }
  return nTouched;
}

/**
 * The per-core half of pricing a tick (block b, TL_* fields): each core's counters added to its
 * run totals, the idle updates (neurons − active) as kind CORE_KINDS; its busy seconds, a linear
 * form of those counts (or, with overlapping stages, the longest of synaptic, neuron and the
 * rest), kept if its busiest tick; this tick's sums over the cores. Returns the busiest core's busy
 * seconds (TL_BAD ≥ 0 names a core with more active updates than neurons; the tally stops there).
 * The f64 operations of src/hw/account.ts Accountant.tick in the same order, so the same bits.
 */
export function tallyCores(b: usize): f64 {
  const n = fi(b, TL_CORES), cc = fa(b, TL_COUNTS), nb = fa(b, TL_NEURONS), coef = fa(b, TL_COEF);
  const tot = fa(b, TL_TOT), maxB = fa(b, TL_MAXBUSY), tc = fa(b, TL_TICK), overlap = fi(b, TL_OVERLAP) != 0;
  const cIdle = load<f64>(coef + (CORE_KINDS << 3)), cSyn = load<f64>(coef + (CK_SYNOPS << 3)), cAct = load<f64>(coef + (CK_ACTIVE << 3));
  for (let k = 0; k < TALLY_KINDS; k++) store<f64>(tc + (<usize>k << 3), 0);
  si(b, TL_BAD, -1);
  let maxBusy: f64 = 0;
  for (let core = 0; core < n; core++) {
    const o = cc + ((<usize>core * CORE_KINDS) << 2), t = tot + ((<usize>core * TALLY_KINDS) << 3);
    let busy: f64 = 0;
    for (let k = 0; k < CORE_KINDS; k++) {
      const v = load<i32>(o + (<usize>k << 2));
      if (v == 0) continue;
      const x = <f64>v, a = tc + (<usize>k << 3), q = t + (<usize>k << 3);
      store<f64>(a, load<f64>(a) + x);
      store<f64>(q, load<f64>(q) + x);
      busy += x * load<f64>(coef + (<usize>k << 3));
    }
    const active = load<i32>(o + (CK_ACTIVE << 2));
    const idle = load<i32>(nb + (<usize>core << 2)) - active;
    if (idle < 0) {
      si(b, TL_BAD, core);
      return 0;
    }
    const x = <f64>idle, a = tc + (CORE_KINDS << 3), q = t + (CORE_KINDS << 3);
    store<f64>(a, load<f64>(a) + x);
    store<f64>(q, load<f64>(q) + x);
    busy += x * cIdle;
    if (overlap) {
      const syn = <f64>load<i32>(o + (CK_SYNOPS << 2)) * cSyn;
      const neu = <f64>active * cAct + x * cIdle;
      busy = max(max(syn, neu), busy - syn - neu);
    }
    if (busy > maxBusy) maxBusy = busy;
    const m = maxB + (<usize>core << 3);
    if (busy > load<f64>(m)) store<f64>(m, busy);
  }
  return maxBusy;
}

/**
 * Benchmarks: one read-modify-write pass over `bytes` at p (v += 1 in f32x4 lanes), the shape of a
 * membrane pass with nothing else in it: this machine's floor for the dense part of a tick.
 */
export function streamProbe(p: usize, bytes: usize): void {
  const one = f32x4.splat(1);
  for (let a = p, e = p + bytes; a < e; a += 16) v128.store(a, f32x4.add(v128.load(a), one));
}

// ---------------------------------------------------------------------------------------------
// NoC tally (with a mapping whose route legs the host loaded: N_NOC)

/** Inserts (id, v) into a top list kept sorted by v descending, then id ascending, at most NOC_TOP long. */
function topAdd(b: usize, topField: i32, nField: i32, id: i32, v: i32): void {
  const top = fa(b, topField), vals = top + (NOC_TOP << 2);
  const L = fi(b, nField);
  if (L == NOC_TOP) {
    const lv = load<i32>(vals + ((NOC_TOP - 1) << 2)), li = load<i32>(top + ((NOC_TOP - 1) << 2));
    if (v < lv || (v == lv && id > li)) return;
  }
  let i = L;
  while (i > 0) {
    const pv = load<i32>(vals + (<usize>(i - 1) << 2)), pi = load<i32>(top + (<usize>(i - 1) << 2));
    if (!(pv < v || (pv == v && pi > id))) break;
    i--;
  }
  for (let j = min(L, NOC_TOP - 1); j > i; j--) {
    store<i32>(top + (<usize>j << 2), load<i32>(top + (<usize>(j - 1) << 2)));
    store<i32>(vals + (<usize>j << 2), load<i32>(vals + (<usize>(j - 1) << 2)));
  }
  store<i32>(top + (<usize>i << 2), id);
  store<i32>(vals + (<usize>i << 2), v);
  si(b, nField, min(L + 1, NOC_TOP));
}

/**
 * End of an accounted tick: the packets of every route used (N_ROUTECNT) go onto the mesh links
 * their legs cross: a leg is a run of links along one row (east or west) then one column (south
 * or north), added to difference arrays; one prefix pass over the marked rows and columns then
 * gives each link's packets. Out: the shapes used, the 16 most loaded on-chip and off-chip links
 * and the Σ of link packets; the route counts go back to 0. The same computation as
 * src/hw/account.ts NocTally.record, which the tests compare it with.
 */
export function tallyNoc(net: usize): void {
  const b = fa(net, N_NOC);
  nocRoutes(net, b);
  nocLinks(b, 0);
}

/**
 * The route pass of tallyNoc: the packets of every route net counted this tick (N_ROUTECNT) onto
 * block b's difference arrays, marks and lists of rows, columns and shapes; the counts go back to
 * 0. With two threads each runs it on its own counts into its own block (the sums are linear).
 */
function nocRoutes(net: usize, b: usize): void {
  const W = fi(b, NOC_W), H = fi(b, NOC_H);
  const W1 = W + 1, W2 = W + 2, H1 = H + 1, H2 = H + 2;
  const seg = fa(b, NOC_SEG), nRoutes = fi(b, NOC_NROUTES);
  const dE = fa(b, NOC_DE), dW = fa(b, NOC_DW), dS = fa(b, NOC_DS), dN = fa(b, NOC_DN);
  const rowMark = fa(b, NOC_ROWMARK), colMark = fa(b, NOC_COLMARK), rows = fa(b, NOC_ROWS), cols = fa(b, NOC_COLS);
  const shapeMark = fa(b, NOC_SHAPEMARK), used = fa(b, NOC_USED);
  const g = fi(b, NOC_GEN) + 1;
  si(b, NOC_GEN, g);
  let nRows = 0, nCols = 0, nUsed = 0;
  const routeCnt = fa(net, N_ROUTECNT), touched = fa(net, N_TOUCHED), nt = fi(net, N_NTOUCHED);
  // many routes used: in id order over the dense counts; else the touched list
  const dense = nt * 8 > nRoutes;
  const n = dense ? nRoutes : nt;
  for (let i = 0; i < n; i++) {
    const id = dense ? i : load<i32>(touched + (<usize>i << 2));
    const ca = routeCnt + (<usize>id << 2);
    const k = load<i32>(ca);
    if (k == 0) continue;
    store<i32>(ca, 0);
    const o = seg + <usize>id * 24;
    const row = load<i32>(o), x0 = load<i32>(o, 4), x1 = load<i32>(o, 8), y0 = load<i32>(o, 12), y1 = load<i32>(o, 16), sh = load<i32>(o, 20);
    const sm = shapeMark + (<usize>sh << 2);
    if (load<i32>(sm) != g) {
      store<i32>(sm, g);
      store<i32>(used + (<usize>nUsed << 2), sh);
      nUsed++;
    }
    if (x1 != x0) {
      const rm = rowMark + (<usize>row << 2);
      if (load<i32>(rm) != g) {
        store<i32>(rm, g);
        store<i32>(rows + (<usize>nRows << 2), row);
        nRows++;
      }
      if (x1 > x0) {
        addI32(dE + (<usize>(row * W1 + x0) << 2), k);
        addI32(dE + (<usize>(row * W1 + x1) << 2), -k);
      } else {
        addI32(dW + (<usize>(row * W2 + x1 + 1) << 2), k);
        addI32(dW + (<usize>(row * W2 + x0 + 1) << 2), -k);
      }
    }
    if (y1 != y0) {
      const cm = colMark + (<usize>x1 << 2);
      if (load<i32>(cm) != g) {
        store<i32>(cm, g);
        store<i32>(cols + (<usize>nCols << 2), x1);
        nCols++;
      }
      if (y1 > y0) {
        addI32(dS + (<usize>(x1 * H1 + y0) << 2), k);
        addI32(dS + (<usize>(x1 * H1 + y1) << 2), -k);
      } else {
        addI32(dN + (<usize>(x1 * H2 + y1 + 1) << 2), k);
        addI32(dN + (<usize>(x1 * H2 + y0 + 1) << 2), -k);
      }
    }
  }
  si(net, N_NTOUCHED, 0);
  si(b, NOC_NUSED, nUsed);
  si(b, NOC_NROWS, nRows);
  si(b, NOC_NCOLS, nCols);
}

/**
 * One mesh row or column of the link pass: its `len` links in the positive direction (difference
 * array pos, len + 1 cells) and the negative one (neg, len + 2 cells), plus the second
 * block's pos1 / neg1 when `two`, by prefix sums into the top lists of block b (a link is off-chip
 * where it crosses a chip edge, every `tiles` routers); the arrays go back to 0. Link ids: idAt +
 * position × idStep + code (positive direction) or code + 1. Returns the Σ of the line's link packets.
 */
@inline function linePass(b: usize, pos: usize, neg: usize, pos1: usize, neg1: usize, two: bool, len: i32, tiles: i32, idAt: i32, idStep: i32, code: i32): i32 {
  let p = 0, q = 0, total = 0;
  for (let i = 0; i < len; i++) {
    const o = <usize>i << 2;
    p += load<i32>(pos + o);
    store<i32>(pos + o, 0);
    q += load<i32>(neg + o);
    store<i32>(neg + o, 0);
    if (two) {
      p += load<i32>(pos1 + o);
      store<i32>(pos1 + o, 0);
      q += load<i32>(neg1 + o);
      store<i32>(neg1 + o, 0);
    }
    const id = idAt + i * idStep + code;
    if (p > 0) {
      total += p;
      if ((i + 1) % tiles == 0) topAdd(b, NOC_TOPOFF, NOC_NOFF, id, p);
      else topAdd(b, NOC_TOPON, NOC_NON, id, p);
    }
    if (q > 0) {
      total += q;
      if (i % tiles == 0) topAdd(b, NOC_TOPOFF, NOC_NOFF, id + 1, q);
      else topAdd(b, NOC_TOPON, NOC_NON, id + 1, q);
    }
  }
  // the cells past the last link: pos[len], neg[len] and neg[len + 1]
  const end = <usize>len << 2;
  store<i32>(pos + end, 0);
  store<i32>(neg + end, 0);
  store<i32>(neg + end, 0, 4);
  if (two) {
    store<i32>(pos1 + end, 0);
    store<i32>(neg1 + end, 0);
    store<i32>(neg1 + end, 0, 4);
  }
  return total;
}

/** Appends to block b's list (words: marks, list, count field) the entries of b1's list it does not hold. */
function unionInto(b: usize, b1: usize, markField: i32, listField: i32, nField: i32): void {
  const g = fi(b, NOC_GEN), mark = fa(b, markField), list = fa(b, listField), list1 = fa(b1, listField);
  let n = fi(b, nField);
  const n1 = fi(b1, nField);
  for (let i = 0; i < n1; i++) {
    const v = load<i32>(list1 + (<usize>i << 2));
    const m = mark + (<usize>v << 2);
    if (load<i32>(m) != g) {
      store<i32>(m, g);
      store<i32>(list + (<usize>n << 2), v);
      n++;
    }
  }
  si(b, nField, n);
}

/**
 * The link pass of tallyNoc over block b's rows and columns, with block b1's difference arrays
 * added in (two threads; 0: none): each link's packets by prefix sums, the 16 most loaded on-chip
 * and off-chip links and the Σ of link packets; the difference arrays go back to 0.
 */
function nocLinks(b: usize, b1: usize): void {
  const W = fi(b, NOC_W), H = fi(b, NOC_H), tilesX = fi(b, NOC_TILESX), tilesY = fi(b, NOC_TILESY);
  const W1 = W + 1, W2 = W + 2, H1 = H + 1, H2 = H + 2;
  if (b1) {
    unionInto(b, b1, NOC_SHAPEMARK, NOC_USED, NOC_NUSED);
    unionInto(b, b1, NOC_ROWMARK, NOC_ROWS, NOC_NROWS);
    unionInto(b, b1, NOC_COLMARK, NOC_COLS, NOC_NCOLS);
    si(b1, NOC_NUSED, 0);
  }
  const dE = fa(b, NOC_DE), dW = fa(b, NOC_DW), dS = fa(b, NOC_DS), dN = fa(b, NOC_DN);
  // the second block's arrays, or the first's again with nothing to add (read after being zeroed)
  const two = b1 != 0;
  const dE1 = two ? fa(b1, NOC_DE) : dE, dW1 = two ? fa(b1, NOC_DW) : dW, dS1 = two ? fa(b1, NOC_DS) : dS, dN1 = two ? fa(b1, NOC_DN) : dN;
  const rows = fa(b, NOC_ROWS), cols = fa(b, NOC_COLS), nRows = fi(b, NOC_NROWS), nCols = fi(b, NOC_NCOLS);
  si(b, NOC_NON, 0);
  si(b, NOC_NOFF, 0);
  let total = 0;
  // a row y's links: (y·W + x)·4 + 0 (east) / + 1 (west); a column x's: (y·W + x)·4 + 2 (south) / + 3 (north)
  for (let r = 0; r < nRows; r++) {
    const y = load<i32>(rows + (<usize>r << 2));
    const oe = <usize>(y * W1) << 2, ow = <usize>(y * W2) << 2;
    total += linePass(b, dE + oe, dW + ow, dE1 + oe, dW1 + ow, two, W, tilesX, y * W * 4, 4, 0);
  }
  for (let cI = 0; cI < nCols; cI++) {
    const x = load<i32>(cols + (<usize>cI << 2));
    const os = <usize>(x * H1) << 2, on = <usize>(x * H2) << 2;
    total += linePass(b, dS + os, dN + on, dS1 + os, dN1 + on, two, H, tilesY, x * 4, W * 4, 2);
  }
  si(b, NOC_TOTAL, total);
}

/** LIF: X ← leak·X per channel (f32[cp], padded lanes hold 0), X = V or the synaptic current, before the tick's input. */
function leakStep(d: usize, leak: usize, target: usize): void {
  const n = fi(d, L_H) * fi(d, L_W), pixB = <usize>fi(d, C_CP) << 2;
  let vp = target;
  for (let p = 0; p < n; p++) {
    for (let j: usize = 0; j < pixB; j += 16) v128.store(vp + j, f32x4.mul(v128.load(vp + j), v128.load(leak + j)));
    vp += pixB;
  }
}

/** CubaLIF: I += synBias, then V += synGain·I (per channel), after the tick's input reached I. */
function synapseStep(d: usize, syn: usize): void {
  const n = fi(d, L_H) * fi(d, L_W), pixB = <usize>fi(d, C_CP) << 2;
  const gain = fa(d, C_SYNGAIN), bias = fa(d, C_SYNBIAS);
  let ip = syn, vp = fa(d, C_V);
  for (let p = 0; p < n; p++) {
    for (let j: usize = 0; j < pixB; j += 16) {
      const i = f32x4.add(v128.load(ip + j), v128.load(bias + j));
      v128.store(ip + j, i);
      v128.store(vp + j, f32x4.add(v128.load(vp + j), f32x4.mul(v128.load(gain + j), i)));
    }
    ip += pixB;
    vp += pixB;
  }
}

/** A conv layer's (leak, synaptic current, scatter, fire) or a max-pool's part of the tick. */
@inline function neuronLayerStep(net: usize, d: usize): void {
  if (fi(d, L_KIND) == KIND_CONV) {
    const leak = fa(d, C_LEAK), syn = fa(d, C_SYN);
    if (leak) leakStep(d, leak, fa(d, C_V));
    if (syn) leakStep(d, fa(d, C_SYNLEAK), syn);
    scatter(net, d);
    if (syn) synapseStep(d, syn);
    fire(net, d);
  } else pool(net, d);
}

/** Analog-input layers: every neuron receives the image current every tick (active counters). */
function constActivity(net: usize): void {
  const cnt = fa(net, N_CORECNT), pairs = fa(net, N_CONSTACT), np = fi(net, N_NCONSTACT);
  for (let i = 0; i < np; i++) {
    const p = pairs + (<usize>i << 3);
    addI32(cnt + ((<usize>load<i32>(p) * CORE_KINDS + CK_ACTIVE) << 2), load<i32>(p, 4));
  }
}

/** One layer's part of the current tick (with accounting: its spikes looked up once). */
export function layerStep(net: usize, d: usize): void {
  const kind = fi(d, L_KIND);
  if (kind == KIND_CONV || kind == KIND_POOL) neuronLayerStep(net, d);
  else if (kind == KIND_ROUTE) route(d);
  else if (kind == KIND_UPSAMPLE) upsample(d);
  if (fi(net, N_ACCT)) accountSpikes(net, d);
}

/** Starts a tick: t += 1 and the input's spikes (used alone by benchmarks). */
export function beginTick(net: usize): void {
  si(net, N_TICK, fi(net, N_TICK) + 1);
  inputTick(net);
  if (fi(net, N_ACCT)) {
    constActivity(net);
    accountSpikes(net, fa(net, N_INPUT));
  }
}

/** Runs n ticks of the whole network. */
export function run(net: usize, n: i32): void {
  const nl = fi(net, N_NLAYERS), layers = fa(net, N_LAYERS);
  const delay = fi(net, N_DELAY);
  for (let t = 0; t < n; t++) {
    beginTick(net);
    if (delay == 0) {
      for (let i = 0; i < nl; i++) layerStep(net, <usize>load<i32>(layers + (<usize>i << 2)));
      if (fi(net, N_ACCT)) endAccountedTick(net);
      continue;
    }
    // one tick per neuron layer (N_DELAY): the wiring from the lists of the last tick, then the
    // neuron layers deepest first, so each reads its source's list before the source rewrites it
    for (let i = 0; i < nl; i++) {
      const d = <usize>load<i32>(layers + (<usize>i << 2));
      const kind = fi(d, L_KIND);
      if (kind == KIND_ROUTE || kind == KIND_UPSAMPLE) layerStep(net, d);
    }
    for (let i = nl - 1; i >= 0; i--) {
      const d = <usize>load<i32>(layers + (<usize>i << 2));
      const kind = fi(d, L_KIND);
      if (kind == KIND_CONV || kind == KIND_POOL) layerStep(net, d);
    }
    if (fi(net, N_ACCT)) endAccountedTick(net);
  }
}

// ---------------------------------------------------------------------------------------------
// two threads per tick (a build with shared memory: build/snn-mt.wasm)

/** Waits until `parts` threads have arrived (sync words: count, generation); spins, then sleeps. */
function barrier(sync: usize, parts: i32): void {
  const gen = atomic.load<i32>(sync, 4);
  if (atomic.add<i32>(sync, 1) == parts - 1) {
    atomic.store<i32>(sync, 0);
    atomic.add<i32>(sync, 1, 4);
    atomic.notify(sync + 4, parts);
    return;
  }
  let spins = 0;
  while (atomic.load<i32>(sync, 4) == gen) {
    if (++spins > 4096) memory.atomic.wait32(sync + 4, gen, -1);
  }
}

/**
 * n ticks on two threads, this one being `part` (0 or 1; part 1 passes its copy of the net
 * descriptor, N_PEER). Only with N_DELAY = 1: a neuron layer then reads its source's list of the
 * tick before, so the conv and max-pool layers of a tick are independent. Per tick:
 *   part 0   t += 1, the input, route and upsample layers (they read last tick's lists), then every
 *            source list read by a conv or max-pool is handed to its shadow descriptor (the
 *            consumers read the shadow) and the source writes this tick's spikes into its other
 *            list (N_SWAPS);
 *   both     claim the conv and max-pool layers one by one (N_CLAIM order, an atomic counter) and
 *            run them; each layer's state, counters and cores are its own, each thread has its own
 *            scratch (the channel sort), so the result is the sequential tick's bit for bit; with
 *            accounting, each thread looks up the lists of the layers it ran and flushes their
 *            records into its own per-core counters and route counts (part 1's: N_PEER's arrays);
 *   part 0   adds part 1's counters into its own (integer sums: the counters do not depend on who
 *            counted what), then tallies the NoC.
 */
export function runPart(net: usize, part: i32, n: i32): void {
  const sync = fa(net, N_SYNC), claim = fa(net, N_CLAIM), nClaim = fi(net, N_NCLAIM);
  const nl = fi(net, N_NLAYERS), layers = fa(net, N_LAYERS), acct = fi(net, N_ACCT) != 0;
  for (let t = 0; t < n; t++) {
    if (part == 0) {
      si(net, N_TICK, fi(net, N_TICK) + 1);
      si(fa(net, N_PEER), N_TICK, fi(net, N_TICK));
      inputTick(net);
      if (acct) {
        constActivity(net);
        accountSpikes(net, fa(net, N_INPUT));
      }
      for (let i = 0; i < nl; i++) {
        const d = <usize>load<i32>(layers + (<usize>i << 2));
        const kind = fi(d, L_KIND);
        if (kind == KIND_ROUTE) route(d);
        else if (kind == KIND_UPSAMPLE) upsample(d);
      }
      const sw = fa(net, N_SWAPS), ns = fi(net, N_NSWAPS);
      for (let i = 0; i < ns; i++) {
        const e = sw + <usize>i * 12;
        const src = <usize>load<i32>(e), shadow = <usize>load<i32>(e, 4), other = load<i32>(e, 8);
        const cur = fi(src, L_LIST);
        si(shadow, L_LIST, cur);
        si(shadow, L_COUNT, fi(src, L_COUNT));
        si(src, L_LIST, other);
        store<i32>(e, cur, 8);
      }
      atomic.store<i32>(sync, 0, 8);
    }
    barrier(sync, 2);
    while (true) {
      const k = atomic.add<i32>(sync, 1, 8);
      if (k >= nClaim) break;
      const d = <usize>load<i32>(claim + (<usize>k << 2));
      neuronLayerStep(net, d);
      if (acct) accountSpikes(net, d);
    }
    if (acct) {
      flushRecords(net);
      // each thread puts its own route counts on its own NoC block (part 1's: N_PEER's)
      if (fa(net, N_NOC)) nocRoutes(net, fa(net, N_NOC));
    }
    barrier(sync, 2);
    if (part == 0 && acct) {
      const peer = fa(net, N_PEER);
      mergePeerCounters(net, peer);
      if (fa(net, N_NOC)) nocLinks(fa(net, N_NOC), fa(peer, N_NOC));
    }
  }
}

/**
 * Part 1's per-core counters and route counts (its own arrays: the accounting of the layers it ran,
 * integer sums) added into part 0's, and zeroed.
 */
function mergePeerCounters(net: usize, peer: usize): void {
  const cnt = fa(net, N_CORECNT), cnt1 = fa(peer, N_CORECNT), nw = fi(net, N_NCOREWORDS);
  for (let i = 0; i < nw; i += 4) {
    const a = cnt + (<usize>i << 2), b = cnt1 + (<usize>i << 2);
    v128.store(a, i32x4.add(v128.load(a), v128.load(b)));
    v128.store(b, i32x4.splat(0));
  }
  const rc = fa(net, N_ROUTECNT), rc1 = fa(peer, N_ROUTECNT), touched = fa(net, N_TOUCHED), touched1 = fa(peer, N_TOUCHED);
  let nt = fi(net, N_NTOUCHED);
  const nt1 = fi(peer, N_NTOUCHED);
  for (let j = 0; j < nt1; j++) {
    const id = load<i32>(touched1 + (<usize>j << 2));
    const a = rc + (<usize>id << 2), b = rc1 + (<usize>id << 2);
    const v = load<i32>(a);
    if (v == 0) {
      store<i32>(touched + (<usize>nt << 2), id);
      nt++;
    }
    store<i32>(a, v + load<i32>(b));
    store<i32>(b, 0);
  }
  si(net, N_NTOUCHED, nt);
  si(peer, N_NTOUCHED, 0);
}

/** the records' costs into the counters, then (when the host loaded the legs) the link loads */
function endAccountedTick(net: usize): void {
  flushRecords(net);
  if (fa(net, N_NOC)) tallyNoc(net);
}
