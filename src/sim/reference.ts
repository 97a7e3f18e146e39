/**
 * Plain-TypeScript SNN tick: the second opinion the tests hold the WASM core to, and the
 * benchmark's baseline. Same semantics, same order of every float32 addition into a membrane,
 * same counts as assembly/snn.ts, written for clarity (bounds tests per tap, one spike record per
 * event, no SIMD, no bit-packed codes).
 *
 * Order of events that both engines share (so their membranes agree bit for bit):
 * - a conv delivers its input spikes in list order (or stably sorted by input channel when the
 *   plan says so); within a spike the order does not matter (each membrane gets one add);
 * - then V += bias (or the analog drive), saturate (a layer with a membraneClamp), fire, reset,
 *   per neuron in (y, x, c) order, which is also the order of the output spike list;
 * - a max-pool forwards, for each input spike in list order, the windows it wins in row-major order;
 * - a route concatenates its sources in order; an upsample emits each spike's block row-major.
 */
import type { SnnConvLayer, SnnMaxPoolLayer, SnnUpsampleLayer } from '../convert/snn-ir.ts';
import { expandGroups, layerTotals, networkTotals, type LayerCounts, type SimCounts } from './counters.ts';
import type { MembraneView, SnnEngine } from './engine.ts';
import { analogDrive, eventCodes, poissonRates, rngState, xorshift32, type LayerPlan, type SimPlan } from './plan.ts';

/** A tick's spikes, one record per event (struct of arrays), capacity fixed at creation. */
export class SpikeList {
  n = 0;
  readonly y: Int32Array;
  readonly x: Int32Array;
  readonly c: Int32Array;
  /** +1 or −1 */
  readonly s: Int8Array;
  constructor(cap: number) {
    this.y = new Int32Array(cap);
    this.x = new Int32Array(cap);
    this.c = new Int32Array(cap);
    this.s = new Int8Array(cap);
  }
  push(y: number, x: number, c: number, s: number): void {
    const i = this.n++;
    this.y[i] = y;
    this.x[i] = x;
    this.c[i] = c;
    this.s[i] = s;
  }
  get bytes(): number {
    return this.y.length * 13;
  }
}

interface RefConv {
  l: SnnConvLayer;
  /** thresholds in force (float32 values; setThresholds changes them between runs) */
  vthPos: number;
  vthNeg: number;
  /** saturating membrane bound per channel (null: unbounded) */
  clamp: Float32Array | null;
  /** the bias current in force: the layer's biases, or zeros while switched off (setBiasOn) */
  bias: Float32Array;
  /** weights as [ci][ky][kx][j], j over the group's output channels (× the Poisson scale) */
  w: Float32Array;
  scale: number;
  V: Float32Array;
  /** CubaLIF: the synaptic current (SnnConvLayer.synapse), channels-last as V */
  I: Float32Array | null;
  /** sigma-delta neurons: what each neuron has emitted, in membrane units (null: reset neurons) */
  E: Float32Array | null;
  drive?: Float32Array;
  /** tick of the last event per (output pixel, group) */
  stamp: Int32Array;
  taps: Float64Array;
  active: Float64Array;
  sorted: SpikeList;
}

interface RefLayer {
  plan: LayerPlan;
  out: SpikeList;
  pos: Float64Array;
  neg: Float64Array;
  conv?: RefConv;
  /** max-pool: net spike count per input unit, channels-last */
  count?: Int32Array;
  /** max-count pool: net count emitted per output neuron, channels-last */
  emitted?: Int32Array;
}

function refWeights(l: SnnConvLayer, scale: number): Float32Array {
  const k = l.size, cin = l.inShape.c, cinG = cin / l.groups, coutG = l.outShape.c / l.groups;
  const w = new Float32Array(cin * k * k * coutG);
  for (let ci = 0; ci < cin; ci++) {
    const g = Math.floor(ci / cinG), i = ci - g * cinG;
    for (let ky = 0; ky < k; ky++) for (let kx = 0; kx < k; kx++) for (let j = 0; j < coutG; j++) {
      const o = g * coutG + j;
      const v = l.weights[((o * cinG + i) * k + ky) * k + kx];
      w[((ci * k + ky) * k + kx) * coutG + j] = scale === 1 ? v : v * scale;
    }
  }
  return w;
}

export class ReferenceSnn implements SnnEngine {
  readonly kind = 'reference' as const;
  readonly plan: SimPlan;
  tick = 0;
  private rng = 1;
  private readonly inputList: SpikeList;
  private readonly inputPos: Float64Array;
  private readonly inputNeg: Float64Array;
  private rates: Float32Array = new Float32Array(0);
  private events: Float32Array | null = null;
  private readonly layers: RefLayer[];

  constructor(plan: SimPlan) {
    this.plan = plan;
    const I = plan.input;
    this.inputList = new SpikeList(plan.poisson ? I.c * I.h * I.w : 0);
    this.inputPos = new Float64Array(I.c);
    this.inputNeg = new Float64Array(I.c);
    this.layers = plan.layers.map((lp): RefLayer => {
      const C = lp.out.c;
      const rl: RefLayer = { plan: lp, out: new SpikeList(lp.listCap), pos: new Float64Array(C), neg: new Float64Array(C) };
      if (lp.conv) {
        const l = lp.layer as SnnConvLayer;
        const src = lp.sources[0];
        const srcCap = src < 0 ? I.c * I.h * I.w : plan.layers[src].listCap;
        rl.conv = {
          l, vthPos: Math.fround(l.vthPos), vthNeg: Math.fround(l.vthNeg), clamp: l.membraneClamp ?? null, bias: l.biases, w: refWeights(l, 1), scale: 1, V: new Float32Array(C * lp.out.h * lp.out.w), I: l.synapse ? new Float32Array(C * lp.out.h * lp.out.w) : null, E: l.sigmaDelta ? new Float32Array(C * lp.out.h * lp.out.w) : null,
          stamp: new Int32Array(lp.out.h * lp.out.w * l.groups), taps: new Float64Array(l.groups), active: new Float64Array(l.groups),
          sorted: new SpikeList(lp.conv.sortInput ? srcCap : 0),
        };
      } else if (lp.layer.kind === 'maxpool') {
        const s = lp.layer.inShape;
        rl.count = new Int32Array(s.c * s.h * s.w);
        if ((lp.layer as SnnMaxPoolLayer).rule === 'max') rl.emitted = new Int32Array(lp.out.c * lp.out.h * lp.out.w);
      }
      return rl;
    });
  }

  get memoryBytes(): number {
    let b = this.inputList.bytes + this.rates.byteLength;
    for (const l of this.layers) {
      b += l.out.bytes;
      if (l.conv) b += l.conv.w.byteLength + l.conv.V.byteLength + (l.conv.drive?.byteLength ?? 0) + l.conv.stamp.byteLength + l.conv.sorted.bytes;
      if (l.count) b += l.count.byteLength;
    }
    return b;
  }

  reset(input: Float32Array, seed: number): void {
    const I = this.plan.input;
    const want = (this.plan.events || 1) * I.c * I.h * I.w;
    if (input.length !== want) throw new Error(`input has ${input.length} values, the network needs ${want} (${this.plan.events ? `${this.plan.events} ticks of ` : ''}${I.c}x${I.h}x${I.w})`);
    this.tick = 0;
    this.rng = rngState(seed);
    this.inputList.n = 0;
    this.inputPos.fill(0);
    this.inputNeg.fill(0);
    let scale = 1;
    if (this.plan.events) {
      // checked as the WASM engine checks it; kept as given (read tick by tick)
      eventCodes(this.plan, input);
      this.events = input;
    } else if (this.plan.poisson) {
      const pr = poissonRates(input, this.plan.absoluteRates);
      this.rates = pr.rates;
      scale = pr.scale;
    }
    for (const rl of this.layers) {
      rl.out.n = 0;
      rl.pos.fill(0);
      rl.neg.fill(0);
      rl.count?.fill(0);
      rl.emitted?.fill(0);
      const cv = rl.conv;
      if (!cv) continue;
      cv.V.fill(0);
      cv.I?.fill(0);
      cv.E?.fill(0);
      cv.stamp.fill(0);
      cv.taps.fill(0);
      cv.active.fill(0);
      if (rl.plan.conv!.analog) {
        // C×H×W → channels-last
        const d = analogDrive(cv.l, input);
        const { c: C, h: H, w: W } = cv.l.outShape;
        cv.drive = new Float32Array(C * H * W);
        for (let c = 0; c < C; c++) for (let p = 0; p < H * W; p++) cv.drive[p * C + c] = d[c * H * W + p];
      } else if (rl.plan.conv!.poisson && cv.scale !== scale) {
        cv.w = refWeights(cv.l, scale);
        cv.scale = scale;
      }
    }
  }

  run(ticks: number): void {
    const n = this.layers.length;
    for (let t = 0; t < ticks; t++) {
      this.beginTick();
      if (!this.plan.layerDelay) {
        for (let i = 0; i < n; i++) this.layerStep(i);
        continue;
      }
      // one tick of delay per neuron layer: the wiring first, from the lists of the last tick, then
      // the neuron layers deepest first, so each reads its source before the source overwrites it
      for (let i = 0; i < n; i++) if (isWiring(this.layers[i].plan.layer.kind)) this.layerStep(i);
      for (let i = n - 1; i >= 0; i--) if (!isWiring(this.layers[i].plan.layer.kind)) this.layerStep(i);
    }
  }

  /** t += 1 and the Poisson input's spikes */
  beginTick(): void {
    this.tick++;
    const list = this.inputList;
    list.n = 0;
    if (!this.plan.poisson) return;
    const { c: C, h: H, w: W } = this.plan.input;
    if (this.plan.events) {
      // this tick's slice of the event tensor, in channels-last order (none after the last)
      if (this.tick > this.plan.events) return;
      const base = (this.tick - 1) * C * H * W, ev = this.events!;
      for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < C; c++) {
        const v = ev[base + (c * H + y) * W + x];
        if (v === 0) continue;
        list.push(y, x, c, v > 0 ? 1 : -1);
        if (v > 0) this.inputPos[c]++;
        else this.inputNeg[c]++;
      }
      return;
    }
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < C; c++) {
      this.rng = xorshift32(this.rng);
      const u = (this.rng >>> 8) / 16777216;
      const r = this.rates[(c * H + y) * W + x];
      if (u < Math.abs(r)) {
        const s = r < 0 ? -1 : 1;
        list.push(y, x, c, s);
        if (s > 0) this.inputPos[c]++;
        else this.inputNeg[c]++;
      }
    }
  }

  private source(i: number): SpikeList {
    return i < 0 ? this.inputList : this.layers[i].out;
  }

  layerStep(i: number): void {
    const rl = this.layers[i];
    switch (rl.plan.layer.kind) {
      case 'conv':
        this.leak(i);
        this.scatter(i);
        this.synapse(i);
        this.fire(i);
        break;
      case 'maxpool':
        this.pool(rl);
        break;
      case 'route':
        this.route(rl);
        break;
      case 'upsample':
        this.upsample(rl);
        break;
    }
  }

  /** LIF: V ← fround(leak[c]·V) before the tick's input (SnnConvLayer.leak); CubaLIF: I ← fround(synapse.leak[c]·I) too. */
  leak(i: number): void {
    const cv = this.layers[i].conv!, leak = cv.l.leak, C = cv.l.outShape.c;
    if (leak) {
      const V = cv.V;
      for (let k = 0; k < V.length; k++) V[k] = Math.fround(V[k] * leak[k % C]);
    }
    if (cv.I) {
      const I = cv.I, a = cv.l.synapse!.leak;
      for (let k = 0; k < I.length; k++) I[k] = Math.fround(I[k] * a[k % C]);
    }
  }

  /** CubaLIF, after the tick's input reached I: I ← I + synapse.bias[c]; V ← V + fround(synapse.gain[c]·I). */
  synapse(i: number): void {
    const cv = this.layers[i].conv!;
    if (!cv.I) return;
    const I = cv.I, V = cv.V, { gain, bias } = cv.l.synapse!, C = cv.l.outShape.c;
    for (let k = 0; k < I.length; k++) {
      I[k] = I[k] + bias[k % C];
      V[k] = V[k] + Math.fround(gain[k % C] * I[k]);
    }
  }

  /** Delivers the input spikes of this tick into conv layer i's membranes. */
  scatter(i: number): void {
    const rl = this.layers[i], cv = rl.conv!, cp = rl.plan.conv!;
    if (cp.analog) return;
    let inp = this.source(rl.plan.sources[0]);
    if (cp.sortInput) inp = sortByChannel(inp, cv.sorted, this.source(rl.plan.sources[0]) === this.inputList ? this.plan.input.c : this.plan.layers[rl.plan.sources[0]].out.c);
    const l = cv.l;
    const { c: C, h: outH, w: outW } = l.outShape;
    const k = l.size, st = l.stride, pad = l.pad, groups = l.groups;
    const { cinG, coutG } = cp;
    // the input goes into the synaptic current when the layer has one
    const V = cv.I ?? cv.V, w = cv.w;
    for (let e = 0; e < inp.n; e++) {
      const y = inp.y[e], x = inp.x[e], c = inp.c[e], s = inp.s[e];
      const g = Math.floor(c / cinG);
      let taps = 0;
      for (let ky = 0; ky < k; ky++) {
        const ty = y + pad - ky;
        if (ty < 0 || ty % st !== 0) continue;
        const oy = ty / st;
        if (oy >= outH) continue;
        for (let kx = 0; kx < k; kx++) {
          const tx = x + pad - kx;
          if (tx < 0 || tx % st !== 0) continue;
          const ox = tx / st;
          if (ox >= outW) continue;
          taps++;
          const si = (oy * outW + ox) * groups + g;
          if (cv.stamp[si] !== this.tick) {
            cv.stamp[si] = this.tick;
            cv.active[g]++;
          }
          const vBase = (oy * outW + ox) * C + g * coutG;
          const wBase = ((c * k + ky) * k + kx) * coutG;
          if (s > 0) for (let j = 0; j < coutG; j++) V[vBase + j] = V[vBase + j] + w[wBase + j];
          else for (let j = 0; j < coutG; j++) V[vBase + j] = V[vBase + j] - w[wBase + j];
        }
      }
      cv.taps[g] += taps;
    }
  }

  /** V += bias (or drive); saturate at ±clamp (fixed-point layers); fire; reset; the output list in (y, x, c) order. */
  fire(i: number): void {
    const rl = this.layers[i], cv = rl.conv!, l = cv.l;
    const { c: C, h: H, w: W } = l.outShape;
    const V = cv.V, drive = cv.drive, b = cv.bias;
    const out = rl.out;
    out.n = 0;
    if (drive) for (let g = 0; g < l.groups; g++) cv.active[g] += H * W;
    const vp = cv.vthPos, vn = cv.vthNeg;
    const rule = l.rule, zero = l.reset === 'zero';
    const lim = cv.clamp;
    const burst = rl.plan.conv!.burst;
    const E = cv.E, a = Math.fround(vp / vn);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < C; c++) {
      const at = (y * W + x) * C + c;
      V[at] = V[at] + (drive ? drive[at] : b[c]);
      if (lim) V[at] = Math.min(Math.max(V[at], -lim[c]), lim[c]);
      if (rule === 'integrate') continue;
      let v = V[at];
      if (E) {
        // sigma-delta: V is never reset; the emitted E follows leaky(V) in steps of vth+
        const t = v >= 0 ? v : Math.fround(v * a);
        let e = E[at], n = 0;
        if (Math.fround(t - e) >= vp) {
          do {
            e = Math.fround(e + vp);
            n++;
            out.push(y, x, c, 1);
          } while (n < burst && Math.fround(t - e) >= vp);
          rl.pos[c] += n;
        } else if (Math.fround(t - e) <= -vp) {
          do {
            e = Math.fround(e - vp);
            n++;
            out.push(y, x, c, -1);
          } while (n < burst && Math.fround(t - e) <= -vp);
          rl.neg[c] += n;
        }
        E[at] = e;
        continue;
      }
      if (v >= vp) {
        // burst: up to `burst` spikes, one threshold subtracted (in float32) per spike
        let n = 0;
        do {
          v = Math.fround(v - vp);
          n++;
          out.push(y, x, c, 1);
        } while (n < burst && v >= vp);
        V[at] = zero ? 0 : v;
        rl.pos[c] += n;
      } else if ((rule === 'ibt' || rule === 'signed') && v <= -vn) {
        let n = 0;
        do {
          v = Math.fround(v + vn);
          n++;
          out.push(y, x, c, -1);
        } while (n < burst && v <= -vn);
        V[at] = zero ? 0 : v;
        rl.neg[c] += n;
      }
    }
  }

  private emit(rl: RefLayer, y: number, x: number, c: number, s: number): void {
    rl.out.push(y, x, c, s);
    if (s > 0) rl.pos[c]++;
    else rl.neg[c]++;
  }

  /** Count-gated ('gate') or max-count ('max') max-pool: counts include this tick's spikes; gate: ties go to the first unit (row-major). */
  private pool(rl: RefLayer): void {
    const l = rl.plan.layer as SnnMaxPoolLayer;
    const inp = this.source(rl.plan.sources[0]);
    const { c: C, h: inH, w: inW } = l.inShape;
    const { h: outH, w: outW } = l.outShape;
    const cnt = rl.count!;
    rl.out.n = 0;
    for (let e = 0; e < inp.n; e++) cnt[(inp.y[e] * inW + inp.x[e]) * C + inp.c[e]] += inp.s[e];
    for (let e = 0; e < inp.n; e++) {
      const y = inp.y[e], x = inp.x[e], c = inp.c[e];
      // the windows containing (y, x): oy·stride − padBegin ≤ y < oy·stride − padBegin + size
      const oyFirst = Math.max(0, Math.ceil((y + l.padBegin - l.size + 1) / l.stride)), oyLast = Math.min(outH - 1, Math.floor((y + l.padBegin) / l.stride));
      const oxFirst = Math.max(0, Math.ceil((x + l.padBegin - l.size + 1) / l.stride)), oxLast = Math.min(outW - 1, Math.floor((x + l.padBegin) / l.stride));
      for (let oy = oyFirst; oy <= oyLast; oy++) {
        const y0 = oy * l.stride - l.padBegin;
        for (let ox = oxFirst; ox <= oxLast; ox++) {
          const x0 = ox * l.stride - l.padBegin;
          if (rl.emitted) {
            // max-count: the output's net count follows the window's highest count
            let m = -Infinity;
            for (let yy = y0; yy < y0 + l.size; yy++) for (let xx = x0; xx < x0 + l.size; xx++) {
              if (yy >= 0 && yy < inH && xx >= 0 && xx < inW) m = Math.max(m, cnt[(yy * inW + xx) * C + c]);
            }
            const u = (oy * outW + ox) * C + c;
            if (m !== rl.emitted[u]) {
              const s = m > rl.emitted[u] ? 1 : -1;
              rl.emitted[u] += s;
              this.emit(rl, oy, ox, c, s);
            }
            continue;
          }
          // the window's winner: highest count, first in row-major order on ties
          let best = -Infinity, by = -1, bx = -1;
          for (let yy = y0; yy < y0 + l.size; yy++) for (let xx = x0; xx < x0 + l.size; xx++) {
            if (yy < 0 || yy >= inH || xx < 0 || xx >= inW) continue;
            const v = cnt[(yy * inW + xx) * C + c];
            if (v > best) {
              best = v;
              by = yy;
              bx = xx;
            }
          }
          if (by === y && bx === x) this.emit(rl, oy, ox, c, inp.s[e]);
        }
      }
    }
  }

  private route(rl: RefLayer): void {
    rl.out.n = 0;
    rl.plan.sources.forEach((s, j) => {
      const inp = this.source(s), off = rl.plan.channelOffsets[j];
      for (let e = 0; e < inp.n; e++) this.emit(rl, inp.y[e], inp.x[e], inp.c[e] + off, inp.s[e]);
    });
  }

  private upsample(rl: RefLayer): void {
    const st = (rl.plan.layer as SnnUpsampleLayer).stride;
    const inp = this.source(rl.plan.sources[0]);
    rl.out.n = 0;
    for (let e = 0; e < inp.n; e++) {
      for (let dy = 0; dy < st; dy++) for (let dx = 0; dx < st; dx++) this.emit(rl, inp.y[e] * st + dy, inp.x[e] * st + dx, inp.c[e], inp.s[e]);
    }
  }

  setBiasOn(layer: number, on: boolean): void {
    const cv = this.layers[layer]?.conv;
    if (!cv) throw new Error(`layer ${layer} is not a conv layer`);
    cv.bias = on ? cv.l.biases : new Float32Array(cv.l.outShape.c);
  }

  setThresholds(layer: number, vthPos: number, vthNeg: number): void {
    const cv = this.layers[layer]?.conv;
    if (!cv) throw new Error(`layer ${layer} is not a conv layer`);
    cv.vthPos = Math.fround(vthPos);
    cv.vthNeg = Math.fround(vthNeg);
  }

  membraneView(layer: number): MembraneView {
    const cv = this.layers[layer]?.conv;
    if (!cv) throw new Error(`layer ${layer} is not a conv layer`);
    return { V: cv.V, offset: 0, pix: cv.l.outShape.c };
  }

  /** the spike list layer i (-1: input) produced in the last tick */
  spikes(layer: number): SpikeList {
    return this.source(layer);
  }

  counts(): SimCounts {
    const layers: LayerCounts[] = this.layers.map((rl, i) => {
      const C = rl.plan.out.c;
      let sops: Float64Array = new Float64Array(C), activeNeurons: Float64Array = new Float64Array(C);
      const neuronUpdates = new Float64Array(C);
      if (rl.conv) {
        sops = expandGroups(rl.conv.taps, C);
        activeNeurons = expandGroups(rl.conv.active, C);
        neuronUpdates.fill(this.tick * rl.plan.out.h * rl.plan.out.w);
      }
      const lc = { index: i, kind: rl.plan.layer.kind, posSpikes: Float64Array.from(rl.pos), negSpikes: Float64Array.from(rl.neg), sops, neuronUpdates, activeNeurons };
      return { ...lc, total: layerTotals(lc) };
    });
    return { ticks: this.tick, layers, input: { posSpikes: Float64Array.from(this.inputPos), negSpikes: Float64Array.from(this.inputNeg) }, totals: networkTotals(layers) };
  }
}

/** Stable sort of a spike list by channel (bucket by channel, list order kept inside a bucket). */
/** route and upsample pass spikes on: no neurons, no delay */
const isWiring = (kind: string) => kind === 'route' || kind === 'upsample';

function sortByChannel(inp: SpikeList, into: SpikeList, channels: number): SpikeList {
  const start = new Int32Array(channels + 1);
  for (let e = 0; e < inp.n; e++) start[inp.c[e] + 1]++;
  for (let c = 0; c < channels; c++) start[c + 1] += start[c];
  into.n = inp.n;
  for (let e = 0; e < inp.n; e++) {
    const at = start[inp.c[e]]++;
    into.y[at] = inp.y[e];
    into.x[at] = inp.x[e];
    into.c[at] = inp.c[e];
    into.s[at] = inp.s[e];
  }
  return into;
}
