import type { Layer, Network } from './ir.ts';

export interface LayerStats {
  index: number;
  name: string;
  kind: Layer['kind'];
  /** "3x3/1" style kernel and stride, or '' */
  kernel: string;
  groups: number;
  inShape: string;
  outShape: string;
  params: number;
  macs: number;
}

/** Multiply-accumulates of one conv layer: out_h·out_w·filters·(cin/groups)·k². */
export function layerMacs(l: Layer): number {
  if (l.kind !== 'conv') return 0;
  return l.outShape.h * l.outShape.w * l.filters * (l.inShape.c / l.groups) * l.size * l.size;
}

export function layerParams(l: Layer): number {
  if (l.kind !== 'conv') return 0;
  return l.weights.length + (l.noBias ? 0 : l.biases.length) + (l.bn ? 3 * l.filters : 0);
}

const fmtShape = (s: { c: number; h: number; w: number }) => `${s.w}x${s.h}x${s.c}`;

export function networkStats(net: Network): { layers: LayerStats[]; params: number; macs: number; flops: number } {
  const layers = net.layers.map((l): LayerStats => ({
    index: l.index,
    name: l.name,
    kind: l.kind,
    kernel: l.kind === 'conv' || l.kind === 'maxpool' ? `${l.size}x${l.size}/${l.stride}` : l.kind === 'upsample' ? `x${l.stride}` : '',
    groups: l.kind === 'conv' ? l.groups : 1,
    inShape: fmtShape(l.inShape),
    outShape: fmtShape(l.outShape),
    params: layerParams(l),
    macs: layerMacs(l),
  }));
  const macs = layers.reduce((a, l) => a + l.macs, 0);
  // darknet counts 2 FLOPs per MAC and nothing for pooling, route or the heads
  return { layers, params: layers.reduce((a, l) => a + l.params, 0), macs, flops: 2 * macs };
}
