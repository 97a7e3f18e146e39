/**
 * Probe (development tool): how much of the readout's error clipping alone explains. The ANN is run
 * layer by layer with every spiking layer's output clipped to [−λ, λ] (what a neuron sending at most
 * one spike of ±λ per tick can carry at best), optionally only in the layers named by --only; the
 * confidence logits are compared with the plain ANN's, binned by the ANN's logit (mean difference).
 *   node --import tsx scripts/probe/clipped-ann.ts [--settings JSON] [--only conv5/pointwise,...] [--burst N] [--calib a.jpg ...] -- photos...
 */
import { createAnnEngine } from '../../src/ann/engine.ts';
import { runLayerReference } from '../../src/ann/reference.ts';
import { calibrateModel, convertCalibrated } from '../../src/convert/from-model.ts';
import { loadImage } from '../../src/image/decode.ts';
import { preprocess } from '../../src/image/preprocess.ts';
import { probeArgs } from './args.ts';

const { photos, calib, flag } = probeArgs();
const only = flag('only')?.split(',');
// --burst N: a neuron that may send up to N spikes per tick carries at most N·λ
const burst = Number(flag('burst') ?? 1);
const model = calibrateModel({ model: 'face' }, { calib });
const snn = convertCalibrated(model, JSON.parse(flag('settings') ?? '{}')).snn;
const lambdaOf = new Map<number, { lambda: Float32Array; name: string }>();
for (const l of snn.layers) if (l.kind === 'conv' && l.rule !== 'integrate') lambdaOf.set(l.source, { lambda: l.lambda, name: l.name });
const engine = await createAnnEngine(model.net, 'wasm');
const readout = model.net.layers[snn.readouts[0].head].inputs[0];
const perBox = 5; // face-api's head: x, y, w, h, confidence per anchor
const bins = [-Infinity, -4, -2, -1, -0.5, 0, 0.5, 1, Infinity];
const acc = bins.slice(1).map(() => ({ n: 0, diff: 0 }));
for (const f of photos) {
  const x = preprocess(model.net, loadImage(f));
  const plain = engine.forward(x)[readout];
  const outs: Float32Array[] = [];
  for (const l of model.net.layers) {
    const o = runLayerReference(l, (i) => (i < 0 ? x : outs[i]));
    const s = lambdaOf.get(l.index);
    if (s && (!only || only.includes(s.name))) {
      const plane = o.length / s.lambda.length;
      for (let k = 0; k < o.length; k++) {
        const lam = burst * s.lambda[Math.floor(k / plane)];
        o[k] = Math.min(lam, Math.max(-lam, o[k]));
      }
    }
    outs[l.index] = o;
  }
  const clipped = outs[readout], channels = model.net.layers[readout].outShape.c, plane = clipped.length / channels;
  for (let c = perBox - 1; c < channels; c += perBox) for (let p = 0; p < plane; p++) {
    const k = c * plane + p, a = plain[k];
    const b = bins.findIndex((lo, i) => a >= lo && a < bins[i + 1]);
    acc[b].n++;
    acc[b].diff += clipped[k] - a;
  }
}
console.log('ANN confidence logit bin\tboxes\tclipped − plain (mean)');
acc.forEach((q, i) => console.log(`[${bins[i]}, ${bins[i + 1]})\t${q.n}\t${q.n ? (q.diff / q.n >= 0 ? '+' : '') + (q.diff / q.n).toFixed(3) : '-'}`));
