/**
 * Hand-built SNN networks: small builders used by the tests (single neurons, one conv layer,
 * max-pool cases, random networks) and by the benchmark (single layers of yolov2-tiny-voc's
 * shapes). A hand-built network has no trained source: its `ann` is a stub carrying the input shape.
 */
import type { Network, Shape } from '../model/ir.ts';
import { convOut } from '../model/ir.ts';
import type {
  ResetMode, SnnConvLayer, SnnLayer, SnnMaxPoolLayer, SnnNetwork, SnnRouteLayer, SnnSettings, SnnUpsampleLayer, SpikeRule,
} from '../convert/snn-ir.ts';
import { SNN_FORMAT_VERSION } from '../convert/snn-ir.ts';

/** A stub source network: the input shape only (hand-built SNNs have no trained ANN). */
export function stubAnn(input: Shape, name = 'hand-built'): Network {
  return {
    name, source: 'hand-built', format: 'darknet', input, preprocess: { kind: 'darknet-letterbox' },
    layers: [], nmsIou: 0.45, scoreThreshold: 0.5, bnFolded: true,
  };
}

export function makeSnn(input: Shape, layers: SnnLayer[], readoutLayers: number[], settings: Partial<SnnSettings> = {}, name?: string): SnnNetwork {
  return {
    formatVersion: SNN_FORMAT_VERSION,
    settings: { norm: 'channel', statistic: 'max', neuron: 'ibt', reset: 'subtract', input: 'analog', fuseLinear: false, vth: 1, ...settings },
    calibration: { images: [], statistic: 'max', note: 'hand-built' },
    ann: stubAnn(input, name),
    layers,
    readouts: readoutLayers.map((layer, head) => ({ head, layer })),
  };
}

export interface ConvSpec {
  filters: number;
  size?: number;
  stride?: number;
  pad?: number;
  groups?: number;
  rule?: SpikeRule;
  vthPos?: number;
  /** magnitude of the negative threshold (default: vthPos for 'signed', 10·vthPos for 'ibt') */
  vthNeg?: number;
  reset?: ResetMode;
  /** sigma-delta neuron (rule 'ibt' only; SnnConvLayer.sigmaDelta) */
  sigmaDelta?: boolean;
  weights?: Float32Array;
  biases?: Float32Array;
  lambda?: Float32Array;
}

export function convLayer(index: number, input: number, inShape: Shape, s: ConvSpec): SnnConvLayer {
  const size = s.size ?? 1, stride = s.stride ?? 1, pad = s.pad ?? 0, groups = s.groups ?? 1;
  const rule = s.rule ?? 'ibt';
  const vthPos = s.vthPos ?? 1;
  const vthNeg = s.vthNeg ?? (rule === 'ibt' ? 10 * vthPos : rule === 'signed' ? vthPos : Infinity);
  const outShape = { c: s.filters, h: convOut(inShape.h, size, stride, pad), w: convOut(inShape.w, size, stride, pad) };
  const nW = s.filters * (inShape.c / groups) * size * size;
  return {
    kind: 'conv', index, name: `conv${index}`, source: index, inputs: [input], inShape, outShape,
    lambda: s.lambda ?? new Float32Array(s.filters).fill(1),
    size, stride, pad, groups,
    weights: s.weights ?? new Float32Array(nW),
    biases: s.biases ?? new Float32Array(s.filters),
    rule, vthPos, vthNeg, reset: s.reset ?? 'subtract',
    ...(s.sigmaDelta ? { sigmaDelta: true } : {}),
  };
}

/** darknet's max-pool output size (default padding size − 1, padBegin = floor(padding / 2)) */
export function poolLayer(index: number, input: number, inShape: Shape, size: number, stride: number, lambda?: Float32Array): SnnMaxPoolLayer {
  const padding = size - 1;
  const o = (n: number) => Math.floor((n + padding - size) / stride) + 1;
  return {
    kind: 'maxpool', index, name: `pool${index}`, source: index, inputs: [input], inShape,
    outShape: { c: inShape.c, h: o(inShape.h), w: o(inShape.w) }, lambda: lambda ?? new Float32Array(inShape.c).fill(1),
    size, stride, padBegin: Math.floor(padding / 2),
  };
}

export function routeLayer(index: number, sources: number[], shapes: Shape[]): SnnRouteLayer {
  const c = shapes.reduce((a, s) => a + s.c, 0);
  return {
    kind: 'route', index, name: `route${index}`, source: index, inputs: sources, layers: sources, inShape: shapes[0],
    outShape: { c, h: shapes[0].h, w: shapes[0].w }, lambda: new Float32Array(c).fill(1),
  };
}

export function upsampleLayer(index: number, input: number, inShape: Shape, stride: number): SnnUpsampleLayer {
  return {
    kind: 'upsample', index, name: `upsample${index}`, source: index, inputs: [input], inShape,
    outShape: { c: inShape.c, h: inShape.h * stride, w: inShape.w * stride }, lambda: new Float32Array(inShape.c).fill(1), stride,
  };
}
