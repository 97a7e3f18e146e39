/**
 * ANN throughput: the WASM SIMD kernels (assembly/ann.ts) against the plain-TS reference
 * (src/ann/reference.ts), per layer of yolov2-tiny-voc at 416×416 (synthetic weights, seed 1) and
 * for one whole frame. Single-threaded.
 *
 *   npm run bench                 table on stdout, progress on stderr
 *   npm run -s bench -- --json    only a JSON summary on stdout
 *   options: --size N (multiple of 32, default 416), --min-time S (seconds per WASM layer, 0.5),
 *            --out FILE (also write the JSON summary to FILE)
 * (`npm run` without -s prints its own banner on stdout before the JSON.)
 *
 * Timing: plain hrtime loops. WASM: 2 warm-up calls, then repeated calls for at least --min-time
 * (and at least 3); the median per call is reported (min alongside). Reference: it runs at about
 * 0.5 GMAC/s, so each conv layer is timed once after a JIT warm-up on a small network, and the
 * whole frame once. GMAC/s = multiply-accumulates (out_h·out_w·filters·cin/groups·k²) / time.
 */

import { join } from 'node:path';
import { emitSummary, machineInfo, nowS, opt, progress } from './common.ts';
import { convReference, forwardReference, maxpoolReference } from '../src/ann/reference.ts';
import { WasmAnn } from '../src/ann/wasm.ts';
import { loadImage } from '../src/image/decode.ts';
import { preprocess } from '../src/image/preprocess.ts';
import type { Layer } from '../src/model/ir.ts';
import { PROJECT_ROOT, loadModel } from '../src/model/load.ts';
import { layerMacs } from '../src/model/stats.ts';

const size = opt('--size', 416);
const minTimeS = opt('--min-time', 0.5);


/** median and min seconds per call of fn: `warm` untimed calls, then at least `minIter` calls and `minTime` seconds */
function time(fn: () => void, warm: number, minIter: number, minTime: number): { medianS: number; minS: number; iterations: number } {
  for (let i = 0; i < warm; i++) fn();
  const samples: number[] = [];
  const start = nowS();
  while (samples.length < minIter || nowS() - start < minTime) {
    const t = nowS();
    fn();
    samples.push(nowS() - t);
  }
  samples.sort((a, b) => a - b);
  return { medianS: samples[samples.length >> 1], minS: samples[0], iterations: samples.length };
}

const describe = (l: Layer): string => {
  if (l.kind === 'conv') return `conv ${l.size}x${l.size}/${l.stride} ${l.inShape.c}->${l.filters}${l.groups > 1 ? ` g${l.groups}` : ''}`;
  if (l.kind === 'maxpool') return `maxpool ${l.size}/${l.stride}`;
  return l.kind;
};

const machine = machineInfo();
progress(`machine: ${machine.cpu}, ${machine.cores} cores, node ${machine.node}, load ${machine.loadAvg1m.toFixed(2)}`);

const net = loadModel({ model: 'yolov2-tiny-voc', weights: 'synthetic:1', size });
const input = preprocess(net, loadImage(join(PROJECT_ROOT, 'node_modules', '@vladmandic', 'face-api', 'demo', 'sample1.jpg')));
let t0 = nowS();
const ann = new WasmAnn(net);
const createS = nowS() - t0;
progress(`engine created in ${createS.toFixed(2)} s (${(ann.memoryBytes / 2 ** 20).toFixed(1)} MiB of WASM memory)`);

// reference outputs give every layer its real input (and warm the reference up on a small net first)
{
  const small = loadModel({ model: 'yolov2-tiny-voc', weights: 'synthetic:1', size: 64 });
  forwardReference(small, new Float32Array(3 * 64 * 64).fill(0.5));
}
progress('reference: whole frame (once)...');
t0 = nowS();
const refOuts = forwardReference(net, input);
const refFrameS = nowS() - t0;

ann.run(input);
interface LayerRow {
  index: number;
  layer: string;
  out: string;
  macs: number;
  wasmMs: number;
  wasmMinMs: number;
  wasmGmacS: number | null;
  refMs: number | null;
  refGmacS: number | null;
  speedup: number | null;
}
const rows: LayerRow[] = [];
for (const l of net.layers) {
  if (l.kind !== 'conv' && l.kind !== 'maxpool') continue;
  const macs = layerMacs(l);
  progress(`layer ${l.index} ${describe(l)}...`);
  const w = time(() => ann.runLayer(l.index), 2, 3, minTimeS);
  let refS: number | null = null;
  const src = l.inputs[0] < 0 ? input : refOuts[l.inputs[0]];
  if (l.kind === 'conv') {
    const t = nowS();
    convReference(l, src);
    refS = nowS() - t;
  } else {
    refS = time(() => maxpoolReference(l, src), 1, 1, 0.05).medianS;
  }
  rows.push({
    index: l.index, layer: describe(l), out: `${l.outShape.w}x${l.outShape.h}x${l.outShape.c}`, macs,
    wasmMs: w.medianS * 1e3, wasmMinMs: w.minS * 1e3, wasmGmacS: macs ? macs / w.medianS / 1e9 : null,
    refMs: refS * 1e3, refGmacS: macs ? macs / refS / 1e9 : null, speedup: refS / w.medianS,
  });
}

progress('wasm: whole frame...');
const totalMacs = net.layers.reduce((a, l) => a + layerMacs(l), 0);
const run = time(() => ann.run(input), 2, 5, 3 * minTimeS);
const fwdReuse = time(() => ann.forward(input, true), 1, 3, 2 * minTimeS);
const fwdFresh = time(() => ann.forward(input), 1, 3, 2 * minTimeS);
const convRows = rows.filter((r) => r.macs > 0);
const sumConvMs = convRows.reduce((a, r) => a + r.wasmMs, 0);

const summary = {
  benchmark: 'ann',
  model: net.name,
  weights: 'synthetic:1',
  inputSize: size,
  command: `npm run -s bench -- --json${size !== 416 ? ` --size ${size}` : ''}`,
  machine,
  threads: 1,
  totalMacs,
  layers: rows.map((r) => ({ ...r, wasmMs: round(r.wasmMs), wasmMinMs: round(r.wasmMinMs), wasmGmacS: round(r.wasmGmacS), refMs: round(r.refMs), refGmacS: round(r.refGmacS), speedup: round(r.speedup) })),
  convLayersWasmGmacS: round(totalMacs / (sumConvMs / 1e3) / 1e9),
  frame: {
    /** all layers, results left in WASM (channels-last) */
    wasmRunMs: round(run.medianS * 1e3),
    wasmRunGmacS: round(totalMacs / run.medianS / 1e9),
    wasmRunMinMs: round(run.minS * 1e3),
    wasmRunIterations: run.iterations,
    /** run + every layer's output converted to C×H×W into reused arrays */
    wasmForwardReuseMs: round(fwdReuse.medianS * 1e3),
    /** run + every output into fresh arrays (the facade's default) */
    wasmForwardFreshMs: round(fwdFresh.medianS * 1e3),
    referenceMs: round(refFrameS * 1e3),
    referenceGmacS: round(totalMacs / refFrameS / 1e9),
    speedup: round(refFrameS / run.medianS),
  },
  engineCreateMs: round(createS * 1e3),
  wasmMemoryMiB: round(ann.memoryBytes / 2 ** 20),
};

function round(x: number | null): number | null {
  return x === null ? null : Number(x.toPrecision(4));
}

if (!emitSummary(summary)) {
  const pad = (s: string | number, n: number) => String(s).padStart(n);
  const fmt = (x: number | null, d = 2) => (x === null ? '-' : x.toFixed(d));
  console.log(`${net.name} ${size}x${size} (synthetic:1), single thread — ${machine.cpu}, node ${machine.node}`);
  console.log(`${'layer'.padEnd(28)}${pad('out', 14)}${pad('MMAC', 9)}${pad('wasm ms', 10)}${pad('GMAC/s', 8)}${pad('ref ms', 10)}${pad('GMAC/s', 8)}${pad('x', 7)}`);
  for (const r of rows) {
    console.log(`${`${r.index} ${r.layer}`.padEnd(28)}${pad(r.out, 14)}${pad((r.macs / 1e6).toFixed(0), 9)}${pad(fmt(r.wasmMs), 10)}${pad(fmt(r.wasmGmacS), 8)}${pad(fmt(r.refMs, 1), 10)}${pad(fmt(r.refGmacS), 8)}${pad(fmt(r.speedup, 1), 7)}`);
  }
  const f = summary.frame;
  console.log(`conv layers: ${(totalMacs / 1e9).toFixed(2)} GMAC in ${sumConvMs.toFixed(1)} ms = ${summary.convLayersWasmGmacS} GMAC/s`);
  console.log(`whole frame: wasm run ${f.wasmRunMs} ms (${f.wasmRunGmacS} GMAC/s; min ${f.wasmRunMinMs} ms), forward with C×H×W outputs ${f.wasmForwardReuseMs} ms (reused arrays) / ${f.wasmForwardFreshMs} ms (fresh arrays); reference ${f.referenceMs} ms (${f.referenceGmacS} GMAC/s): ${f.speedup}x`);
  console.log(`engine creation ${summary.engineCreateMs} ms, ${summary.wasmMemoryMiB} MiB WASM memory; load average at start ${machine.loadAvg1m.toFixed(2)}`);
}
