/**
 * ANN forward-pass kernels, 128-bit SIMD, float32 accumulation, channels-last.
 *
 * The WASM side allocates nothing: the host computes the memory map (assembly/memory.ts describes
 * it), grows memory once, writes weights and one descriptor per layer, and calls one kernel per
 * layer with the descriptor's address. All addresses and strides are in bytes.
 */
import {
  BLK_IN_CH, BLK_NSEG, BLK_OUT_CH, BLK_SEG_LEN, BLK_W, BLK_WIDTH, BLK_INTS,
  CONV_ACT, CONV_BLK, CONV_IN, CONV_IN_PIX, CONV_IN_ROW, CONV_K, CONV_NBLK, CONV_OUT, CONV_OUT_H, CONV_OUT_PIX,
  CONV_OUT_ROW, CONV_OUT_W, CONV_PAD, CONV_SLOPE, CONV_STRIDE, CONV_TILE,
  COPY_DST, COPY_DST_PIX, COPY_DST_ROW, COPY_H, COPY_N, COPY_SRC, COPY_SRC_PIX, COPY_SRC_ROW, COPY_W,
  CVT_C, CVT_CHW, CVT_H, CVT_HWC, CVT_PIX, CVT_ROW, CVT_W,
  DW_ACT, DW_CP, DW_IN, DW_IN_PIX, DW_IN_ROW, DW_K, DW_OUT, DW_OUT_H, DW_OUT_PIX, DW_OUT_ROW, DW_OUT_W, DW_PAD,
  DW_SLOPE, DW_STRIDE, DW_W,
  POOL_CP, POOL_IN, POOL_IN_H, POOL_IN_PIX, POOL_IN_ROW, POOL_IN_W, POOL_OUT, POOL_OUT_H, POOL_OUT_PIX, POOL_OUT_ROW,
  POOL_OUT_W, POOL_PAD, POOL_SIZE, POOL_STRIDE,
  UP_CP, UP_DST, UP_DST_PIX, UP_DST_ROW, UP_OUT_H, UP_OUT_W, UP_SRC, UP_SRC_PIX, UP_SRC_ROW, UP_STRIDE,
} from './memory';

/** first byte the host may use for its memory map */
export function heapBase(): usize {
  return __heap_base;
}

// ---------------------------------------------------------------------------------------------
// helpers

@inline function fi(d: usize, field: i32): i32 {
  return load<i32>(d + (<usize>field << 2));
}

@inline function ff(d: usize, field: i32): f32 {
  return load<f32>(d + (<usize>field << 2));
}

/** act: 0 linear, 1 leaky (x > 0 ? x : slope·x in f32, darknet), 2 relu (x > 0 ? x : 0) */
@inline function activate(v: v128, act: i32, slope: v128): v128 {
  if (act == 1) return v128.bitselect(v, f32x4.mul(v, slope), f32x4.gt(v, f32x4.splat(0)));
  if (act == 2) return v128.and(v, f32x4.gt(v, f32x4.splat(0)));
  return v;
}

// ---------------------------------------------------------------------------------------------
// dense / grouped conv micro-kernels: P output pixels (input window bases iN, output bases oN)
// × one block of 8 or 4 output channels. The accumulators start at the bias; the input value is
// broadcast (load32_splat) and multiplied by the block's weight vectors.

function conv4x8(i0: usize, i1: usize, i2: usize, i3: usize, o0: usize, o1: usize, o2: usize, o3: usize,
  blk: usize, k: i32, inRow: usize, inPix: usize, act: i32, slope: v128): void {
  let w = <usize>load<i32>(blk, BLK_W << 2);
  const oc = <usize>load<i32>(blk, BLK_OUT_CH << 2);
  const ic = <usize>load<i32>(blk, BLK_IN_CH << 2);
  const segBytes = <usize>load<i32>(blk, BLK_SEG_LEN << 2) << 5;
  const nseg = load<i32>(blk, BLK_NSEG << 2);
  let a00 = v128.load(w), a01 = v128.load(w, 16);
  let a10 = a00, a11 = a01, a20 = a00, a21 = a01, a30 = a00, a31 = a01;
  w += 32;
  let r = ic;
  for (let ky = 0; ky < k; ky++) {
    let s = r;
    for (let sg = 0; sg < nseg; sg++) {
      let p0 = i0 + s, p1 = i1 + s, p2 = i2 + s, p3 = i3 + s;
      const end = w + segBytes;
      while (w < end) {
        const w0 = v128.load(w), w1 = v128.load(w, 16);
        let x = v128.load32_splat(p0);
        a00 = f32x4.add(a00, f32x4.mul(x, w0));
        a01 = f32x4.add(a01, f32x4.mul(x, w1));
        x = v128.load32_splat(p1);
        a10 = f32x4.add(a10, f32x4.mul(x, w0));
        a11 = f32x4.add(a11, f32x4.mul(x, w1));
        x = v128.load32_splat(p2);
        a20 = f32x4.add(a20, f32x4.mul(x, w0));
        a21 = f32x4.add(a21, f32x4.mul(x, w1));
        x = v128.load32_splat(p3);
        a30 = f32x4.add(a30, f32x4.mul(x, w0));
        a31 = f32x4.add(a31, f32x4.mul(x, w1));
        p0 += 4; p1 += 4; p2 += 4; p3 += 4;
        w += 32;
      }
      s += inPix;
    }
    r += inRow;
  }
  v128.store(o0 + oc, activate(a00, act, slope));
  v128.store(o0 + oc, activate(a01, act, slope), 16);
  v128.store(o1 + oc, activate(a10, act, slope));
  v128.store(o1 + oc, activate(a11, act, slope), 16);
  v128.store(o2 + oc, activate(a20, act, slope));
  v128.store(o2 + oc, activate(a21, act, slope), 16);
  v128.store(o3 + oc, activate(a30, act, slope));
  v128.store(o3 + oc, activate(a31, act, slope), 16);
}

function conv4x4(i0: usize, i1: usize, i2: usize, i3: usize, o0: usize, o1: usize, o2: usize, o3: usize,
  blk: usize, k: i32, inRow: usize, inPix: usize, act: i32, slope: v128): void {
  let w = <usize>load<i32>(blk, BLK_W << 2);
  const oc = <usize>load<i32>(blk, BLK_OUT_CH << 2);
  const ic = <usize>load<i32>(blk, BLK_IN_CH << 2);
  const segBytes = <usize>load<i32>(blk, BLK_SEG_LEN << 2) << 4;
  const nseg = load<i32>(blk, BLK_NSEG << 2);
  let a0 = v128.load(w);
  let a1 = a0, a2 = a0, a3 = a0;
  w += 16;
  let r = ic;
  for (let ky = 0; ky < k; ky++) {
    let s = r;
    for (let sg = 0; sg < nseg; sg++) {
      let p0 = i0 + s, p1 = i1 + s, p2 = i2 + s, p3 = i3 + s;
      const end = w + segBytes;
      while (w < end) {
        const w0 = v128.load(w);
        a0 = f32x4.add(a0, f32x4.mul(v128.load32_splat(p0), w0));
        a1 = f32x4.add(a1, f32x4.mul(v128.load32_splat(p1), w0));
        a2 = f32x4.add(a2, f32x4.mul(v128.load32_splat(p2), w0));
        a3 = f32x4.add(a3, f32x4.mul(v128.load32_splat(p3), w0));
        p0 += 4; p1 += 4; p2 += 4; p3 += 4;
        w += 16;
      }
      s += inPix;
    }
    r += inRow;
  }
  v128.store(o0 + oc, activate(a0, act, slope));
  v128.store(o1 + oc, activate(a1, act, slope));
  v128.store(o2 + oc, activate(a2, act, slope));
  v128.store(o3 + oc, activate(a3, act, slope));
}

function conv1xW(i0: usize, o0: usize, blk: usize, k: i32, inRow: usize, inPix: usize, act: i32, slope: v128): void {
  let w = <usize>load<i32>(blk, BLK_W << 2);
  const oc = <usize>load<i32>(blk, BLK_OUT_CH << 2);
  const ic = <usize>load<i32>(blk, BLK_IN_CH << 2);
  const width = load<i32>(blk, BLK_WIDTH << 2);
  const segLen = <usize>load<i32>(blk, BLK_SEG_LEN << 2);
  const nseg = load<i32>(blk, BLK_NSEG << 2);
  if (width == 8) {
    let a0 = v128.load(w), a1 = v128.load(w, 16);
    w += 32;
    let r = ic;
    for (let ky = 0; ky < k; ky++) {
      let s = r;
      for (let sg = 0; sg < nseg; sg++) {
        let p0 = i0 + s;
        const end = w + (segLen << 5);
        while (w < end) {
          const x = v128.load32_splat(p0);
          a0 = f32x4.add(a0, f32x4.mul(x, v128.load(w)));
          a1 = f32x4.add(a1, f32x4.mul(x, v128.load(w, 16)));
          p0 += 4;
          w += 32;
        }
        s += inPix;
      }
      r += inRow;
    }
    v128.store(o0 + oc, activate(a0, act, slope));
    v128.store(o0 + oc, activate(a1, act, slope), 16);
  } else {
    let a0 = v128.load(w);
    w += 16;
    let r = ic;
    for (let ky = 0; ky < k; ky++) {
      let s = r;
      for (let sg = 0; sg < nseg; sg++) {
        let p0 = i0 + s;
        const end = w + (segLen << 4);
        while (w < end) {
          a0 = f32x4.add(a0, f32x4.mul(v128.load32_splat(p0), v128.load(w)));
          p0 += 4;
          w += 16;
        }
        s += inPix;
      }
      r += inRow;
    }
    v128.store(o0 + oc, activate(a0, act, slope));
  }
}

/**
 * Dense or grouped conv (any k, stride, pad) + folded bias + activation. Output pixels are taken
 * in row-major order four at a time (a block may straddle rows); output-channel blocks are swept
 * in tiles so that a tile's weights stay in cache while every pixel passes through it.
 */
export function conv(d: usize): void {
  const inO = fi(d, CONV_IN), inRow = fi(d, CONV_IN_ROW), inPix = fi(d, CONV_IN_PIX);
  const outO = fi(d, CONV_OUT), outRow = fi(d, CONV_OUT_ROW), outPix = fi(d, CONV_OUT_PIX);
  const outH = fi(d, CONV_OUT_H), outW = fi(d, CONV_OUT_W), st = fi(d, CONV_STRIDE);
  const k = fi(d, CONV_K), pad = fi(d, CONV_PAD);
  const nblk = fi(d, CONV_NBLK), blk = <usize>fi(d, CONV_BLK), tile = fi(d, CONV_TILE);
  const act = fi(d, CONV_ACT);
  const slope = f32x4.splat(ff(d, CONV_SLOPE));
  const n = outH * outW;
  const inBase = inO - pad * inRow - pad * inPix;
  const stepX = st * inPix, stepY = st * inRow;
  const uRow = <usize>inRow, uPix = <usize>inPix;
  for (let t0 = 0; t0 < nblk; t0 += tile) {
    const t1 = min(nblk, t0 + tile);
    let oy = 0, ox = 0, q = 0;
    while (q + 4 <= n) {
      const i0 = <usize>(inBase + oy * stepY + ox * stepX), o0 = <usize>(outO + oy * outRow + ox * outPix);
      if (++ox == outW) { ox = 0; oy++; }
      const i1 = <usize>(inBase + oy * stepY + ox * stepX), o1 = <usize>(outO + oy * outRow + ox * outPix);
      if (++ox == outW) { ox = 0; oy++; }
      const i2 = <usize>(inBase + oy * stepY + ox * stepX), o2 = <usize>(outO + oy * outRow + ox * outPix);
      if (++ox == outW) { ox = 0; oy++; }
      const i3 = <usize>(inBase + oy * stepY + ox * stepX), o3 = <usize>(outO + oy * outRow + ox * outPix);
      if (++ox == outW) { ox = 0; oy++; }
      for (let b = t0; b < t1; b++) {
        const bp = blk + (<usize>b * (BLK_INTS << 2));
        if (load<i32>(bp, BLK_WIDTH << 2) == 8) conv4x8(i0, i1, i2, i3, o0, o1, o2, o3, bp, k, uRow, uPix, act, slope);
        else conv4x4(i0, i1, i2, i3, o0, o1, o2, o3, bp, k, uRow, uPix, act, slope);
      }
      q += 4;
    }
    while (q < n) {
      const i0 = <usize>(inBase + oy * stepY + ox * stepX), o0 = <usize>(outO + oy * outRow + ox * outPix);
      if (++ox == outW) { ox = 0; oy++; }
      for (let b = t0; b < t1; b++) {
        conv1xW(i0, o0, blk + (<usize>b * (BLK_INTS << 2)), k, uRow, uPix, act, slope);
      }
      q++;
    }
  }
}

// ---------------------------------------------------------------------------------------------

/** Depthwise conv (one filter per channel): SIMD over 16 (then 4) channels per output pixel. */
export function depthwise(d: usize): void {
  const inO = fi(d, DW_IN), inRow = fi(d, DW_IN_ROW), inPix = fi(d, DW_IN_PIX);
  const outO = fi(d, DW_OUT), outRow = fi(d, DW_OUT_ROW), outPix = fi(d, DW_OUT_PIX);
  const outH = fi(d, DW_OUT_H), outW = fi(d, DW_OUT_W), st = fi(d, DW_STRIDE);
  const k = fi(d, DW_K), pad = fi(d, DW_PAD), cpB = <usize>fi(d, DW_CP) << 2, wp0 = <usize>fi(d, DW_W);
  const act = fi(d, DW_ACT);
  const slope = f32x4.splat(ff(d, DW_SLOPE));
  const inBase = inO - pad * inRow - pad * inPix;
  const uRow = <usize>inRow, uPix = <usize>inPix;
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0; ox < outW; ox++) {
      const ib = <usize>(inBase + oy * st * inRow + ox * st * inPix);
      const ob = <usize>(outO + oy * outRow + ox * outPix);
      let c: usize = 0;
      while (c + 64 <= cpB) {
        let a0 = v128.load(wp0 + c), a1 = v128.load(wp0 + c, 16), a2 = v128.load(wp0 + c, 32), a3 = v128.load(wp0 + c, 48);
        let wp = wp0 + cpB + c;
        let rp = ib + c;
        for (let ky = 0; ky < k; ky++) {
          let ip = rp;
          for (let kx = 0; kx < k; kx++) {
            a0 = f32x4.add(a0, f32x4.mul(v128.load(ip), v128.load(wp)));
            a1 = f32x4.add(a1, f32x4.mul(v128.load(ip, 16), v128.load(wp, 16)));
            a2 = f32x4.add(a2, f32x4.mul(v128.load(ip, 32), v128.load(wp, 32)));
            a3 = f32x4.add(a3, f32x4.mul(v128.load(ip, 48), v128.load(wp, 48)));
            ip += uPix;
            wp += cpB;
          }
          rp += uRow;
        }
        v128.store(ob + c, activate(a0, act, slope));
        v128.store(ob + c, activate(a1, act, slope), 16);
        v128.store(ob + c, activate(a2, act, slope), 32);
        v128.store(ob + c, activate(a3, act, slope), 48);
        c += 64;
      }
      while (c < cpB) {
        let a0 = v128.load(wp0 + c);
        let wp = wp0 + cpB + c;
        let rp = ib + c;
        for (let ky = 0; ky < k; ky++) {
          let ip = rp;
          for (let kx = 0; kx < k; kx++) {
            a0 = f32x4.add(a0, f32x4.mul(v128.load(ip), v128.load(wp)));
            ip += uPix;
            wp += cpB;
          }
          rp += uRow;
        }
        v128.store(ob + c, activate(a0, act, slope));
        c += 16;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------

/** Max pool, darknet semantics: window cells outside the input are skipped (not zero). */
export function maxpool(d: usize): void {
  const inO = <usize>fi(d, POOL_IN), inRow = <usize>fi(d, POOL_IN_ROW), inPix = <usize>fi(d, POOL_IN_PIX);
  const outO = <usize>fi(d, POOL_OUT), outRow = <usize>fi(d, POOL_OUT_ROW), outPix = <usize>fi(d, POOL_OUT_PIX);
  const inH = fi(d, POOL_IN_H), inW = fi(d, POOL_IN_W), outH = fi(d, POOL_OUT_H), outW = fi(d, POOL_OUT_W);
  const size = fi(d, POOL_SIZE), st = fi(d, POOL_STRIDE), pb = fi(d, POOL_PAD);
  const cpB = <usize>fi(d, POOL_CP) << 2;
  const ninf = f32x4.splat(-Infinity);
  for (let oy = 0; oy < outH; oy++) {
    const y0 = oy * st - pb;
    const ya = max(y0, 0), yb = min(y0 + size, inH);
    for (let ox = 0; ox < outW; ox++) {
      const x0 = ox * st - pb;
      const xa = max(x0, 0), xb = min(x0 + size, inW);
      const ob = outO + <usize>oy * outRow + <usize>ox * outPix;
      let c: usize = 0;
      while (c + 64 <= cpB) {
        let m0 = ninf, m1 = ninf, m2 = ninf, m3 = ninf;
        for (let y = ya; y < yb; y++) {
          let ip = inO + <usize>y * inRow + <usize>xa * inPix + c;
          for (let x = xa; x < xb; x++) {
            m0 = f32x4.max(m0, v128.load(ip));
            m1 = f32x4.max(m1, v128.load(ip, 16));
            m2 = f32x4.max(m2, v128.load(ip, 32));
            m3 = f32x4.max(m3, v128.load(ip, 48));
            ip += inPix;
          }
        }
        v128.store(ob + c, m0);
        v128.store(ob + c, m1, 16);
        v128.store(ob + c, m2, 32);
        v128.store(ob + c, m3, 48);
        c += 64;
      }
      while (c < cpB) {
        let m0 = ninf;
        for (let y = ya; y < yb; y++) {
          let ip = inO + <usize>y * inRow + <usize>xa * inPix + c;
          for (let x = xa; x < xb; x++) {
            m0 = f32x4.max(m0, v128.load(ip));
            ip += inPix;
          }
        }
        v128.store(ob + c, m0);
        c += 16;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------

@inline function copyFloats(src: usize, dst: usize, nB: usize): void {
  let c: usize = 0;
  while (c + 16 <= nB) {
    v128.store(dst + c, v128.load(src + c));
    c += 16;
  }
  while (c < nB) {
    store<f32>(dst + c, load<f32>(src + c));
    c += 4;
  }
}

/** Copies the first N channels of every pixel (route: one call per source layer). */
export function copy(d: usize): void {
  const src = <usize>fi(d, COPY_SRC), srcRow = <usize>fi(d, COPY_SRC_ROW), srcPix = <usize>fi(d, COPY_SRC_PIX);
  const dst = <usize>fi(d, COPY_DST), dstRow = <usize>fi(d, COPY_DST_ROW), dstPix = <usize>fi(d, COPY_DST_PIX);
  const h = fi(d, COPY_H), w = fi(d, COPY_W), nB = <usize>fi(d, COPY_N) << 2;
  for (let y = 0; y < h; y++) {
    let s = src + <usize>y * srcRow, t = dst + <usize>y * dstRow;
    for (let x = 0; x < w; x++) {
      copyFloats(s, t, nB);
      s += srcPix;
      t += dstPix;
    }
  }
}

/** Nearest-neighbour upsample: out(y, x) = in(y / stride, x / stride), all Cp channels. */
export function upsample(d: usize): void {
  const src = <usize>fi(d, UP_SRC), srcRow = <usize>fi(d, UP_SRC_ROW), srcPix = <usize>fi(d, UP_SRC_PIX);
  const dst = <usize>fi(d, UP_DST), dstRow = <usize>fi(d, UP_DST_ROW), dstPix = <usize>fi(d, UP_DST_PIX);
  const outH = fi(d, UP_OUT_H), outW = fi(d, UP_OUT_W), st = fi(d, UP_STRIDE), nB = <usize>fi(d, UP_CP) << 2;
  for (let y = 0; y < outH; y++) {
    const s = src + <usize>(y / st) * srcRow;
    let t = dst + <usize>y * dstRow;
    for (let x = 0; x < outW; x++) {
      copyFloats(s + <usize>(x / st) * srcPix, t, nB);
      t += dstPix;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// layout conversion

/** dense C×H×W f32 → channels-last buffer (real channels only; pad channels untouched) */
export function toHwc(d: usize): void {
  const hwc = <usize>fi(d, CVT_HWC), row = <usize>fi(d, CVT_ROW), pix = <usize>fi(d, CVT_PIX);
  const chw = <usize>fi(d, CVT_CHW), c = fi(d, CVT_C), h = fi(d, CVT_H), w = fi(d, CVT_W);
  const plane = <usize>(h * w) << 2;
  for (let y = 0; y < h; y++) {
    let t = hwc + <usize>y * row;
    let s = chw + (<usize>(y * w) << 2);
    for (let x = 0; x < w; x++) {
      let sp = s;
      for (let ch = 0; ch < c; ch++) {
        store<f32>(t + (<usize>ch << 2), load<f32>(sp));
        sp += plane;
      }
      t += pix;
      s += 4;
    }
  }
}

/** channels-last buffer → dense C×H×W f32, 4×4 SIMD transposes where 4 channels and 4 pixels fit */
export function toChw(d: usize): void {
  const hwc = <usize>fi(d, CVT_HWC), row = <usize>fi(d, CVT_ROW), pix = <usize>fi(d, CVT_PIX);
  const chw = <usize>fi(d, CVT_CHW), c = fi(d, CVT_C), h = fi(d, CVT_H), w = fi(d, CVT_W);
  const plane = <usize>(h * w) << 2;
  const c4 = c & ~3;
  for (let y = 0; y < h; y++) {
    const srow = hwc + <usize>y * row;
    const drow = chw + (<usize>(y * w) << 2);
    let x = 0;
    for (; x + 4 <= w; x += 4) {
      const s = srow + <usize>x * pix;
      const t = drow + (<usize>x << 2);
      let ch = 0;
      for (; ch < c4; ch += 4) {
        const cb = <usize>ch << 2;
        const r0 = v128.load(s + cb), r1 = v128.load(s + pix + cb), r2 = v128.load(s + 2 * pix + cb), r3 = v128.load(s + 3 * pix + cb);
        const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
        const t2 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5), t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
        const tp = t + <usize>ch * plane;
        v128.store(tp, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
        v128.store(tp + plane, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7));
        v128.store(tp + 2 * plane, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5));
        v128.store(tp + 3 * plane, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7));
      }
      for (; ch < c; ch++) {
        const cb = <usize>ch << 2;
        const tp = t + <usize>ch * plane;
        store<f32>(tp, load<f32>(s + cb));
        store<f32>(tp, load<f32>(s + pix + cb), 4);
        store<f32>(tp, load<f32>(s + 2 * pix + cb), 8);
        store<f32>(tp, load<f32>(s + 3 * pix + cb), 12);
      }
    }
    for (; x < w; x++) {
      const s = srow + <usize>x * pix;
      const t = drow + (<usize>x << 2);
      for (let ch = 0; ch < c; ch++) store<f32>(t + <usize>ch * plane, load<f32>(s + (<usize>ch << 2)));
    }
  }
}
