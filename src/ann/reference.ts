/**
 * Plain-TypeScript ANN forward pass, C×H×W, direct convolution accumulated in float64.
 * It is the second opinion the tests hold the WASM kernels to, and the benchmark's baseline;
 * clarity over speed.
 */
import type { ConvLayer, Layer, MaxPoolLayer, Network, Shape } from '../model/ir.ts';
import { shapeSize } from '../model/ir.ts';

const LEAKY_SLOPE_F32 = Math.fround(0.1);

export function activate(x: number, l: ConvLayer): number {
  switch (l.activation) {
    case 'linear':
      return x;
    case 'relu':
      return x > 0 ? x : 0;
    case 'leaky':
      // darknet: (x>0) ? x : .1f*x, in float32
      return x > 0 ? x : Math.fround((l.leakySlope === 0.1 ? LEAKY_SLOPE_F32 : l.leakySlope) * x);
  }
}

/** What a convolution's arithmetic needs of its layer (a graph-IR conv, or an SNN conv). */
export interface ConvGeometry {
  inShape: Shape;
  outShape: Shape;
  size: number;
  stride: number;
  pad: number;
  groups: number;
  /** OIHW [out][in/groups][k][k] */
  weights: Float32Array;
}

/**
 * Output channel `o` of a convolution without bias, summed in float64 into `acc` (out_h × out_w;
 * order: input channel, ky, kx): the ANN reference and the SNN's analog input drive share it.
 */
export function convChannelF64(l: ConvGeometry, input: Float32Array, o: number, acc: Float64Array): void {
  const { c: cin, h: inH, w: inW } = l.inShape;
  const { c: cout, h: outH, w: outW } = l.outShape;
  const cinG = cin / l.groups, coutG = cout / l.groups;
  const k = l.size, s = l.stride, pad = l.pad;
  acc.fill(0);
  const g = Math.floor(o / coutG);
  for (let i = 0; i < cinG; i++) {
    const ci = g * cinG + i;
    for (let ky = 0; ky < k; ky++) for (let kx = 0; kx < k; kx++) {
      const wv = l.weights[((o * cinG + i) * k + ky) * k + kx];
      if (wv === 0) continue;
      for (let oy = 0; oy < outH; oy++) {
        const iy = oy * s + ky - pad;
        if (iy < 0 || iy >= inH) continue;
        const rowIn = (ci * inH + iy) * inW, rowOut = oy * outW;
        for (let ox = 0; ox < outW; ox++) {
          const ix = ox * s + kx - pad;
          if (ix < 0 || ix >= inW) continue;
          acc[rowOut + ox] += wv * input[rowIn + ix];
        }
      }
    }
  }
}

export function convReference(l: ConvLayer, input: Float32Array): Float32Array {
  const { c: cout, h: outH, w: outW } = l.outShape;
  const out = new Float32Array(shapeSize(l.outShape));
  const acc = new Float64Array(outH * outW);
  for (let o = 0; o < cout; o++) {
    convChannelF64(l, input, o, acc);
    const plane = o * outH * outW;
    for (let p = 0; p < outH * outW; p++) {
      let v = acc[p];
      if (l.bn) v = ((v - l.bn.mean[o]) / (Math.sqrt(l.bn.variance[o]) + l.bn.eps)) * l.bn.scales[o];
      out[plane + p] = activate(Math.fround(v + l.biases[o]), l);
    }
  }
  return out;
}

export function maxpoolReference(l: MaxPoolLayer, input: Float32Array): Float32Array {
  const { c, h: inH, w: inW } = l.inShape;
  const { h: outH, w: outW } = l.outShape;
  const out = new Float32Array(shapeSize(l.outShape));
  for (let ch = 0; ch < c; ch++) for (let oy = 0; oy < outH; oy++) for (let ox = 0; ox < outW; ox++) {
    let m = -Infinity;
    for (let ky = 0; ky < l.size; ky++) for (let kx = 0; kx < l.size; kx++) {
      const iy = oy * l.stride + ky - l.padBegin, ix = ox * l.stride + kx - l.padBegin;
      if (iy < 0 || iy >= inH || ix < 0 || ix >= inW) continue;
      const v = input[(ch * inH + iy) * inW + ix];
      if (v > m) m = v;
    }
    out[(ch * outH + oy) * outW + ox] = m;
  }
  return out;
}

export function upsampleReference(input: Float32Array, c: number, h: number, w: number, stride: number): Float32Array {
  const oh = h * stride, ow = w * stride;
  const out = new Float32Array(c * oh * ow);
  for (let ch = 0; ch < c; ch++) for (let y = 0; y < oh; y++) for (let x = 0; x < ow; x++) {
    out[(ch * oh + y) * ow + x] = input[(ch * h + Math.floor(y / stride)) * w + Math.floor(x / stride)];
  }
  return out;
}

/** Runs one layer given the outputs of the layers before it (index -1 = network input). */
export function runLayerReference(l: Layer, outputOf: (i: number) => Float32Array): Float32Array {
  switch (l.kind) {
    case 'conv':
      return convReference(l, outputOf(l.inputs[0]));
    case 'maxpool':
      return maxpoolReference(l, outputOf(l.inputs[0]));
    case 'route': {
      const out = new Float32Array(shapeSize(l.outShape));
      let off = 0;
      for (const i of l.layers) {
        const src = outputOf(i);
        out.set(src, off);
        off += src.length;
      }
      return out;
    }
    case 'upsample':
      return upsampleReference(outputOf(l.inputs[0]), l.inShape.c, l.inShape.h, l.inShape.w, l.stride);
    case 'region':
    case 'yolo':
    case 'facehead':
      // heads are decoded from their input by src/detect; the layer itself passes it through
      return outputOf(l.inputs[0]);
  }
}

/** Forward pass; returns every layer's output (C×H×W), indexed by layer index. */
export function forwardReference(net: Network, input: Float32Array): Float32Array[] {
  if (input.length !== shapeSize(net.input)) throw new Error(`input has ${input.length} values, network needs ${shapeSize(net.input)}`);
  const outs: Float32Array[] = [];
  for (const l of net.layers) outs.push(runLayerReference(l, (i) => (i < 0 ? input : outs[i])));
  return outs;
}
