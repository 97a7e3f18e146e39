/**
 * Host side of the WASM ANN (assembly/ann.ts): loads the compiled module once, instantiates
 * independent instances (one per worker later), lays out each network's memory map, repacks the
 * weights once, and runs one kernel call per layer.
 *
 * Inside WASM activations are channels-last (H×W×Cp, Cp = C rounded up to 4, zero border for the
 * consumers' conv padding; see assembly/memory.ts). The host converts the C×H×W input in and the
 * requested outputs back out to C×H×W, so callers only ever see the IR's layout.
 *
 * Accuracy: float32 accumulation, bias first, activation in float32 (leaky: x > 0 ? x : slope·x with
 * slope = fround(leakySlope), as darknet's .1f·x). It differs from the float64-accumulating
 * reference (src/ann/reference.ts) only by float32 rounding.
 */
import { loadWasmModule, instantiateWasm } from '../util/wasm-module.ts';
import { fileURLToPath } from 'node:url';
import * as M from '../../assembly/memory.ts';
import type { ConvLayer, Layer, Network, Shape } from '../model/ir.ts';
import { convOut, isHead, shapeSize } from '../model/ir.ts';
import { fail } from '../util/errors.ts';

/** build/ann.wasm, relative to the project root */
export const ANN_WASM_PATH = fileURLToPath(new URL('../../build/ann.wasm', import.meta.url));

/** The raw exports of one instance of build/ann.wasm. */
export interface AnnKernels {
  memory: WebAssembly.Memory;
  heapBase(): number;
  conv(desc: number): void;
  depthwise(desc: number): void;
  maxpool(desc: number): void;
  copy(desc: number): void;
  upsample(desc: number): void;
  toHwc(desc: number): void;
  toChw(desc: number): void;
}

/** Compiles build/ann.wasm (or `path`) once per process; the Module can be posted to workers. */
export function loadAnnModule(path: string = ANN_WASM_PATH): WebAssembly.Module {
  return loadWasmModule(path, 'the compiled ANN kernels');
}

/** A fresh, independent instance (its own memory) of the compiled kernels. */
export function instantiateAnn(module: WebAssembly.Module = loadAnnModule()): AnnKernels {
  return instantiateWasm<AnnKernels>(module, 'ann.wasm');
}

// ---------------------------------------------------------------------------------------------
// memory map

const PAGE = 65536;
const MAX_PAGES = 65536; // wasm32: 4 GiB
const ALIGN = 64;
const align = (n: number, a = ALIGN) => Math.ceil(n / a) * a;
const ceil4 = (n: number) => Math.ceil(n / 4) * 4;

/** One channels-last activation buffer inside WASM memory. */
interface ActBuf {
  c: number;
  h: number;
  w: number;
  cp: number;
  border: number;
  /** byte address of the buffer's first byte (border included) */
  start: number;
  bytes: number;
  /** byte address of pixel (0, 0), channel 0 */
  origin: number;
  row: number;
  pix: number;
  /** descriptor address for the CHW ↔ HWC conversion of this buffer */
  cvt: number;
}

type Step = { kernel: 'conv' | 'depthwise' | 'maxpool' | 'copy' | 'upsample'; desc: number };

/** One output-channel block of a dense or grouped conv (see assembly/memory.ts, BLK_*). */
interface ConvBlock {
  /** float offset of the block's data inside the layer's packed weights */
  wOff: number;
  outCh: number;
  width: 4 | 8;
  inCh: number;
  segLen: number;
  nseg: number;
}

interface ConvPlan {
  kind: 'depthwise' | 'dense';
  /** floats of repacked weights (bias included) */
  floats: number;
  /** output-channel blocks (dense / grouped only) */
  blocks: ConvBlock[];
}

const ACT_CODE = { linear: 0, leaky: 1, relu: 2 } as const;

/** Per-filter batch-norm scale and folded bias (float64, as src/model/fold.ts); scale 1 without bn. */
function foldedScaleBias(l: ConvLayer): { scale: Float64Array; bias: Float64Array } {
  const scale = new Float64Array(l.filters).fill(1);
  const bias = Float64Array.from(l.biases);
  const bn = l.bn;
  if (bn) {
    for (let f = 0; f < l.filters; f++) {
      scale[f] = bn.scales[f] / (Math.sqrt(bn.variance[f]) + bn.eps);
      bias[f] = l.biases[f] - bn.mean[f] * scale[f];
    }
  }
  return { scale, bias };
}

function isDepthwise(l: ConvLayer): boolean {
  return l.groups > 1 && l.groups === l.inShape.c && l.filters === l.inShape.c;
}

/** Layout of one conv's repacked weights: how many floats, and the dense/grouped block list. */
function planConv(l: ConvLayer): ConvPlan {
  const cin = l.inShape.c, cout = l.filters, k = l.size, g = l.groups;
  const cinG = cin / g, coutG = cout / g;
  const cpIn = ceil4(cin), cpOut = ceil4(cout);
  if (isDepthwise(l)) return { kind: 'depthwise', floats: cpOut * (1 + k * k), blocks: [] };
  const blocks: ConvBlock[] = [];
  let floats = 0;
  for (let o0 = 0; o0 < cpOut; ) {
    const width: 4 | 8 = cpOut - o0 >= 8 ? 8 : 4;
    let block: ConvBlock;
    if (g === 1) {
      // one segment per kernel row: kx and the (padded) input channels merged
      block = { wOff: floats, outCh: o0, width, inCh: 0, segLen: k * cpIn, nseg: 1 };
    } else {
      // k segments (one per kx) over the input channels of the groups the block's outputs are in
      const oLast = Math.min(o0 + width, cout) - 1;
      const ciStart = Math.floor(o0 / coutG) * cinG, ciEnd = (Math.floor(oLast / coutG) + 1) * cinG;
      block = { wOff: floats, outCh: o0, width, inCh: ciStart, segLen: ciEnd - ciStart, nseg: k };
    }
    blocks.push(block);
    floats += width * (1 + k * block.nseg * block.segLen);
    o0 += width;
  }
  return { kind: 'dense', floats, blocks };
}

/**
 * Writes one conv's repacked weights into `data` (plan.floats values, all zero beforehand: the
 * pad lanes, pad input channels and other groups' inputs stay zero).
 */
function fillConv(l: ConvLayer, plan: ConvPlan, data: Float32Array): void {
  const cin = l.inShape.c, cout = l.filters, k = l.size, g = l.groups, kk = k * k;
  const cinG = cin / g, coutG = cout / g;
  const cpIn = ceil4(cin), cpOut = ceil4(cout);
  const W = l.weights;
  const { scale, bias } = foldedScaleBias(l);
  if (plan.kind === 'depthwise') {
    // bias[Cp] then [ky][kx][Cp]
    for (let o = 0; o < cout; o++) {
      data[o] = bias[o];
      for (let t = 0; t < kk; t++) data[cpOut * (1 + t) + o] = W[o * kk + t] * scale[o];
    }
    return;
  }
  for (const bl of plan.blocks) {
    const { width, outCh } = bl;
    const lanes = Math.min(width, cout - outCh);
    for (let lane = 0; lane < lanes; lane++) data[bl.wOff + lane] = bias[outCh + lane];
    const body = bl.wOff + width; // bias, then [ky][seg][j][lane]
    for (let lane = 0; lane < lanes; lane++) {
      const o = outCh + lane, s = scale[o];
      const grp = Math.floor(o / coutG);
      for (let i = 0; i < cinG; i++) {
        const ci = grp * cinG + i;
        let src = (o * cinG + i) * kk;
        for (let ky = 0; ky < k; ky++) for (let kx = 0; kx < k; kx++) {
          // dense: j = kx·Cp_in + ci in the row's single segment; grouped: segment kx, j = ci - inCh
          const at = g === 1
            ? body + ((ky * k + kx) * cpIn + ci) * width + lane
            : body + ((ky * k + kx) * bl.segLen + (ci - bl.inCh)) * width + lane;
          data[at] = s === 1 ? W[src++] : W[src++] * s;
        }
      }
    }
  }
}

export interface WasmAnnOptions {
  /** an instance to use (default: a new one from the cached module); it then holds this network */
  kernels?: AnnKernels;
  module?: WebAssembly.Module;
  /** target bytes of conv weights per cache tile (default 96 KiB; 32–96 KiB measured best) */
  tileBytes?: number;
}

const owners = new WeakMap<AnnKernels, WasmAnn>();

/**
 * One network laid out in one WASM instance. Creation repacks the weights and grows memory once;
 * `run` / `runLayer` then allocate nothing (outputs are copied out only when asked for).
 * An instance holds one network at a time: building a second WasmAnn on the same `kernels`
 * invalidates the first (its methods then throw).
 */
export class WasmAnn {
  readonly net: Network;
  readonly kernels: AnnKernels;
  /** bytes of WASM memory the map uses (weights, activations, tables) */
  readonly memoryBytes: number;
  private readonly slotOf: number[]; // layer index + 1 → buffer slot (heads alias their input)
  private readonly bufs: ActBuf[]; // slot 0 = network input
  private readonly steps: (Step[] | undefined)[]; // per layer
  private readonly staging: number;
  private f32view: Float32Array;
  private reused?: Float32Array[];

  constructor(net: Network, opts: WasmAnnOptions = {}) {
    this.net = net;
    this.kernels = opts.kernels ?? instantiateAnn(opts.module ?? loadAnnModule());
    const tileBytes = opts.tileBytes ?? 96 * 1024;
    const layers = net.layers;
    const where = `${net.name} (${net.input.w}x${net.input.h})`;

    // buffer slots: slot 0 is the input, slot i+1 layer i's output; a head aliases its input's slot
    const slotOf: number[] = [0];
    const shapes: Shape[] = [net.input];
    for (const l of layers) {
      if (l.index !== slotOf.length - 1) fail(`${where} layer ${l.index}`, `layer indices must run 0..n-1 in order`);
      for (const i of l.inputs) if (i < -1 || i >= l.index) fail(`${where} layer ${l.index}`, `input ${i} is not an earlier layer`);
      slotOf.push(isHead(l) ? slotOf[l.inputs[0] + 1] : l.index + 1);
      shapes.push(l.outShape);
    }
    this.slotOf = slotOf;
    const src = (i: number) => slotOf[i + 1];
    const border = new Array<number>(shapes.length).fill(0);
    const check = (cond: boolean, l: Layer, what: string) => {
      if (!cond) fail(`${where} layer ${l.index} (${l.kind})`, what);
    };
    const same = (a: Shape, b: Shape) => a.c === b.c && a.h === b.h && a.w === b.w;
    for (const l of layers) {
      if (l.kind === 'conv') {
        const s = shapes[src(l.inputs[0])];
        check(same(s, l.inShape), l, `input shape ${s.c}x${s.h}x${s.w} differs from inShape`);
        check(l.groups >= 1 && l.inShape.c % l.groups === 0 && l.filters % l.groups === 0, l, `groups ${l.groups} must divide input and output channels`);
        check(l.outShape.c === l.filters && l.outShape.h === convOut(s.h, l.size, l.stride, l.pad) && l.outShape.w === convOut(s.w, l.size, l.stride, l.pad), l, 'outShape does not follow from size/stride/pad');
        check(l.weights.length === l.filters * (l.inShape.c / l.groups) * l.size * l.size && l.biases.length === l.filters, l, 'weights or biases have the wrong length (weights not loaded?)');
        check(l.size >= 1 && l.stride >= 1 && l.pad >= 0, l, 'size, stride and pad must be positive');
        const b = src(l.inputs[0]);
        border[b] = Math.max(border[b], l.pad);
      } else if (l.kind === 'maxpool') {
        const s = shapes[src(l.inputs[0])];
        check(same(s, l.inShape) && l.outShape.c === s.c, l, 'input/output shapes do not match');
        check(l.size >= 1 && l.stride >= 1 && l.padBegin >= 0, l, 'size, stride and padBegin must be positive');
      } else if (l.kind === 'upsample') {
        const s = shapes[src(l.inputs[0])];
        check(same(s, l.inShape) && l.outShape.c === s.c && l.outShape.h === s.h * l.stride && l.outShape.w === s.w * l.stride, l, 'output is not the input scaled by stride');
      } else if (l.kind === 'route') {
        let c = 0;
        for (const i of l.layers) {
          check(i >= -1 && i < l.index, l, `route source ${i} is not an earlier layer`);
          const s = shapes[src(i)];
          check(s.h === l.outShape.h && s.w === l.outShape.w, l, `source ${i} is ${s.w}x${s.h}, route is ${l.outShape.w}x${l.outShape.h}`);
          c += s.c;
        }
        check(c === l.outShape.c, l, `sources have ${c} channels, route has ${l.outShape.c}`);
      }
    }

    // memory map: staging, activation buffers, descriptors + block tables, weights
    let p = align(this.kernels.heapBase());
    let maxElems = 0;
    for (const s of shapes) maxElems = Math.max(maxElems, shapeSize(s));
    this.staging = p;
    p = align(p + maxElems * 4);
    const bufs: ActBuf[] = [];
    for (let slot = 0; slot < shapes.length; slot++) {
      if (slot > 0 && slotOf[slot] !== slot) {
        bufs.push(bufs[slotOf[slot]]); // head: alias
        continue;
      }
      const { c, h, w } = shapes[slot];
      const cp = ceil4(c), B = border[slot];
      const pix = cp * 4, row = (w + 2 * B) * pix;
      const bytes = (h + 2 * B) * row;
      bufs.push({ c, h, w, cp, border: B, start: p, bytes, origin: p + B * row + B * pix, row, pix, cvt: 0 });
      p = align(p + bytes);
    }
    this.bufs = bufs;
    const descBase = p;
    let nDesc = 0;
    const newDesc = () => descBase + 64 * nDesc++;
    // count descriptors first: one per buffer (conversion) + per layer step(s)
    let descCount = shapes.length;
    for (const l of layers) descCount += l.kind === 'route' ? l.layers.length : 1;
    p = align(descBase + 64 * descCount);
    const packs: (ConvPlan | undefined)[] = layers.map((l) => (l.kind === 'conv' ? planConv(l) : undefined));
    const blockTable: number[] = [];
    const weightAt: number[] = [];
    for (const pk of packs) {
      if (pk?.kind === 'dense') {
        blockTable.push(p);
        p = align(p + pk.blocks.length * M.BLK_INTS * 4);
      } else blockTable.push(0);
    }
    for (const pk of packs) {
      weightAt.push(pk ? p : 0);
      if (pk) p = align(p + pk.floats * 4);
    }
    const total = p;
    const pages = Math.ceil(total / PAGE);
    if (pages > MAX_PAGES) fail(where, `needs ${(total / 2 ** 30).toFixed(2)} GiB of WASM memory, more than the 4 GiB a wasm32 instance can have; use a smaller --size`);
    const mem = this.kernels.memory;
    const have = mem.buffer.byteLength / PAGE;
    if (pages > have) {
      try {
        mem.grow(pages - have);
      } catch (e) {
        fail(where, `cannot grow WASM memory to ${(total / 2 ** 20).toFixed(0)} MiB (${(e as Error).message}); use a smaller --size`);
      }
    }
    this.memoryBytes = total;
    // borders and pad channels must read 0: fresh memory is; an instance used before is cleared
    const base = align(this.kernels.heapBase());
    if (owners.has(this.kernels)) new Uint8Array(mem.buffer, base, total - base).fill(0);
    this.f32view = new Float32Array(mem.buffer);
    const i32 = new Int32Array(mem.buffer);
    const f32 = this.f32view;
    const put = (desc: number, fields: [number, number][]) => {
      for (const [f, v] of fields) i32[desc / 4 + f] = v;
    };

    for (let slot = 0; slot < shapes.length; slot++) {
      const b = bufs[slot];
      if (slot > 0 && slotOf[slot] !== slot) continue;
      b.cvt = newDesc();
      put(b.cvt, [[M.CVT_HWC, b.origin], [M.CVT_ROW, b.row], [M.CVT_PIX, b.pix], [M.CVT_CHW, this.staging], [M.CVT_C, b.c], [M.CVT_H, b.h], [M.CVT_W, b.w]]);
    }

    this.steps = layers.map((l, li): Step[] | undefined => {
      const out = bufs[l.index + 1];
      switch (l.kind) {
        case 'conv': {
          const inp = bufs[src(l.inputs[0])];
          const pk = packs[li]!;
          const wAt = weightAt[li];
          fillConv(l, pk, f32.subarray(wAt / 4, wAt / 4 + pk.floats));
          const d = newDesc();
          const slope = Math.fround(l.activation === 'leaky' ? l.leakySlope : 0);
          if (pk.kind === 'depthwise') {
            put(d, [[M.DW_IN, inp.origin], [M.DW_IN_ROW, inp.row], [M.DW_IN_PIX, inp.pix], [M.DW_OUT, out.origin], [M.DW_OUT_ROW, out.row], [M.DW_OUT_PIX, out.pix],
              [M.DW_OUT_H, out.h], [M.DW_OUT_W, out.w], [M.DW_STRIDE, l.stride], [M.DW_K, l.size], [M.DW_PAD, l.pad], [M.DW_CP, out.cp], [M.DW_W, wAt], [M.DW_ACT, ACT_CODE[l.activation]]]);
            f32[d / 4 + M.DW_SLOPE] = slope;
            return [{ kernel: 'depthwise', desc: d }];
          }
          const bt = blockTable[li];
          for (const [bi, bl] of pk.blocks.entries()) {
            put(bt + bi * M.BLK_INTS * 4, [[M.BLK_W, wAt + bl.wOff * 4], [M.BLK_OUT_CH, bl.outCh * 4], [M.BLK_WIDTH, bl.width], [M.BLK_IN_CH, bl.inCh * 4], [M.BLK_SEG_LEN, bl.segLen], [M.BLK_NSEG, bl.nseg]]);
          }
          const b0 = pk.blocks[0];
          const tile = Math.max(1, Math.floor(tileBytes / (b0.width * (1 + l.size * b0.nseg * b0.segLen) * 4)));
          put(d, [[M.CONV_IN, inp.origin], [M.CONV_IN_ROW, inp.row], [M.CONV_IN_PIX, inp.pix], [M.CONV_OUT, out.origin], [M.CONV_OUT_ROW, out.row], [M.CONV_OUT_PIX, out.pix],
            [M.CONV_OUT_H, out.h], [M.CONV_OUT_W, out.w], [M.CONV_STRIDE, l.stride], [M.CONV_K, l.size], [M.CONV_PAD, l.pad],
            [M.CONV_NBLK, pk.blocks.length], [M.CONV_BLK, bt], [M.CONV_TILE, tile], [M.CONV_ACT, ACT_CODE[l.activation]]]);
          f32[d / 4 + M.CONV_SLOPE] = slope;
          return [{ kernel: 'conv', desc: d }];
        }
        case 'maxpool': {
          const inp = bufs[src(l.inputs[0])];
          const d = newDesc();
          put(d, [[M.POOL_IN, inp.origin], [M.POOL_IN_ROW, inp.row], [M.POOL_IN_PIX, inp.pix], [M.POOL_OUT, out.origin], [M.POOL_OUT_ROW, out.row], [M.POOL_OUT_PIX, out.pix],
            [M.POOL_IN_H, inp.h], [M.POOL_IN_W, inp.w], [M.POOL_OUT_H, out.h], [M.POOL_OUT_W, out.w], [M.POOL_SIZE, l.size], [M.POOL_STRIDE, l.stride], [M.POOL_PAD, l.padBegin], [M.POOL_CP, out.cp]]);
          return [{ kernel: 'maxpool', desc: d }];
        }
        case 'upsample': {
          const inp = bufs[src(l.inputs[0])];
          const d = newDesc();
          put(d, [[M.UP_SRC, inp.origin], [M.UP_SRC_ROW, inp.row], [M.UP_SRC_PIX, inp.pix], [M.UP_DST, out.origin], [M.UP_DST_ROW, out.row], [M.UP_DST_PIX, out.pix],
            [M.UP_OUT_H, out.h], [M.UP_OUT_W, out.w], [M.UP_STRIDE, l.stride], [M.UP_CP, out.cp]]);
          return [{ kernel: 'upsample', desc: d }];
        }
        case 'route': {
          let ch = 0;
          return l.layers.map((i): Step => {
            const inp = bufs[src(i)];
            const d = newDesc();
            put(d, [[M.COPY_SRC, inp.origin], [M.COPY_SRC_ROW, inp.row], [M.COPY_SRC_PIX, inp.pix], [M.COPY_DST, out.origin + ch * 4], [M.COPY_DST_ROW, out.row], [M.COPY_DST_PIX, out.pix],
              [M.COPY_H, out.h], [M.COPY_W, out.w], [M.COPY_N, inp.c]]);
            ch += inp.c;
            return { kernel: 'copy', desc: d };
          });
        }
        default:
          return undefined; // heads pass their input through
      }
    });
    owners.set(this.kernels, this);
  }

  private view(): Float32Array {
    if (owners.get(this.kernels) !== this) throw new Error('this WasmAnn no longer owns its WASM instance (another network was laid out in it)');
    if (this.f32view.buffer !== this.kernels.memory.buffer) this.f32view = new Float32Array(this.kernels.memory.buffer);
    return this.f32view;
  }

  /** Copies the C×H×W network input into WASM (channels-last). */
  setInput(input: Float32Array): void {
    const n = shapeSize(this.net.input);
    if (input.length !== n) throw new Error(`input has ${input.length} values, network needs ${n}`);
    this.view().set(input, this.staging / 4);
    this.kernels.toHwc(this.bufs[0].cvt);
  }

  /** Runs layer `i` alone on whatever its inputs currently hold (heads do nothing). */
  runLayer(i: number): void {
    this.view();
    const steps = this.steps[i];
    if (!steps) return;
    const k = this.kernels;
    for (const s of steps) k[s.kernel](s.desc);
  }

  /** The whole forward pass; results stay in WASM until `output` is asked for. */
  run(input: Float32Array): void {
    this.setInput(input);
    for (let i = 0; i < this.steps.length; i++) this.runLayer(i);
  }

  /**
   * Layer i's output (i = -1: the input) after `run`, C×H×W: a new Float32Array, or `into` (which
   * must have exactly C·H·W elements) overwritten.
   */
  output(i: number, into?: Float32Array): Float32Array {
    const b = this.bufs[this.slotOf[i + 1]];
    const n = b.c * b.h * b.w;
    if (into && into.length !== n) throw new Error(`output(${i}): target has ${into.length} values, layer has ${n}`);
    const f32 = this.view();
    this.kernels.toChw(b.cvt);
    const at = this.staging / 4;
    // set() of a subarray is a memcpy (slice() on a view of WASM memory copies element-wise)
    const out = into ?? new Float32Array(n);
    out.set(f32.subarray(at, at + n));
    return out;
  }

  /**
   * forwardReference's contract: every layer's output (C×H×W), indexed by layer index; a head
   * returns its input's array. With `reuse`, the arrays of the previous `forward(…, true)` call are
   * overwritten and returned again (no allocation: fresh pages are slow to fault in on some VMs).
   */
  forward(input: Float32Array, reuse = false): Float32Array[] {
    this.run(input);
    const prev = reuse ? this.reused : undefined;
    const outs: Float32Array[] = [];
    for (const l of this.net.layers) {
      if (isHead(l)) outs.push(l.inputs[0] < 0 ? input : outs[l.inputs[0]]);
      else outs.push(this.output(l.index, prev?.[l.index]));
    }
    if (reuse) this.reused = outs;
    return outs;
  }
}
