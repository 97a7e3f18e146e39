/**
 * Probe (development tool): the reference-free stopping rule (src/report/stopping.ts 'stable')
 * measured against F1. Each photo is simulated to T with checks every E ticks; for each delta the
 * frame stops at the first check where no readout value moved more than delta over E ticks; the
 * table gives the mean ticks and the F1 against the ANN at the stop ticks (micro-average), beside
 * the fixed-T F1 at those mean ticks.
 *   node --import tsx scripts/probe/stop-probe.ts --settings JSON [--calib ...] -- photos...
 */
import { calibrateModel, convertCalibrated } from '../../src/convert/from-model.ts';
import { detectImagesAnn } from '../../src/detect/ann-detect.ts';
import { fidelityAtThreshold } from '../../src/detect/fidelity.ts';
import { detectFromReadouts } from '../../src/detect/snn-detect.ts';
import type { ImageDetections } from '../../src/detect/types.ts';
import { loadImage } from '../../src/image/decode.ts';
import { preprocess } from '../../src/image/preprocess.ts';
import { createSimulator } from '../../src/sim/simulator.ts';
import { probeArgs } from './args.ts';

const { photos, calib, flag } = probeArgs();
const T = Number(flag('ticks', '256')), E = Number(flag('every', '8'));
const thresholds = [0.3, 0.5];
const model = calibrateModel({ model: 'face' }, { calib, images: photos });
const snn = convertCalibrated(model, JSON.parse(flag('settings', '{}'))).snn;
const ann = await detectImagesAnn(model.net, photos, { threshold: 0.3 });
const sim = await createSimulator(snn, { seed: 1 });
const checks: number[] = [];
for (let t = E; t <= T; t += E) checks.push(t);
// per photo, per check: the SNN's detections (candidates > 0.05) and the readout's largest move
const per: { dets: ImageDetections[]; moved: number[]; mean: number[] }[] = [];
for (const f of photos) {
  const img = loadImage(f);
  sim.reset(preprocess(snn.ann, img));
  const dets: ImageDetections[] = [];
  const moved: number[] = [];
  const meanMoved: number[] = [];
  let prev: Float32Array[] | null = null;
  for (const t of checks) {
    sim.run(t - sim.tick);
    const r = sim.readout();
    let m = Infinity, a = Infinity;
    if (prev) {
      m = 0;
      a = 0;
      let n = 0;
      for (let k = 0; k < r.length; k++) for (let i = 0; i < r[k].length; i++) {
        const d = Math.abs(r[k][i] - prev[k][i]);
        m = Math.max(m, d);
        a += d;
        n++;
      }
      a /= n;
    }
    prev = r;
    moved.push(m);
    meanMoved.push(a);
    dets.push({ file: f, width: img.width, height: img.height, detections: detectFromReadouts(snn, r, img.width, img.height, 0.05) });
  }
  per.push({ dets, moved, mean: meanMoved });
  process.stderr.write(`${f}\n`);
}
console.log('mean readout move per check (averaged over photos): ' + checks.map((t, k) => `${t}:${(per.reduce((a, p) => a + (Number.isFinite(p.mean[k]) ? p.mean[k] : 0), 0) / per.length).toFixed(3)}`).join(' '));
const f1At = (pick: (p: number) => number, thr: number) =>
  fidelityAtThreshold(ann.images, per.map((p, i) => p.dets[pick(i)]), { threshold: thr });
console.log(`settings ${flag('settings', '{}')}, ${photos.length} photos, checks every ${E} to ${T}`);
console.log('fixed T: ' + [64, 96, 128, 192, 256].filter((t) => t <= T).map((t) => `T=${t} F1 ${thresholds.map((h) => f1At(() => t / E - 1, h).f1.toFixed(3)).join('/')}`).join('; '));
const grid: Array<['max' | 'mean', number]> = [...[0.5, 0.3, 0.2, 0.1].map((d): ['max', number] => ['max', d]), ...[0.2, 0.1, 0.07, 0.05, 0.04, 0.03, 0.02].map((d): ['mean', number] => ['mean', d])];
for (const [stat, delta] of grid) {
  const stopIdx = per.map((p) => {
    const k = (stat === 'max' ? p.moved : p.mean).findIndex((m) => m <= delta);
    return k < 0 ? checks.length - 1 : k;
  });
  const mean = stopIdx.reduce((a, k) => a + checks[k], 0) / per.length;
  console.log(`stable ${stat} ${delta}: mean ${mean.toFixed(1)} ticks (min ${Math.min(...stopIdx.map((k) => checks[k]))}, max ${Math.max(...stopIdx.map((k) => checks[k]))}); F1 at the stop ${thresholds.map((h) => f1At((i) => stopIdx[i], h).f1.toFixed(3)).join('/')} (thresholds ${thresholds.join('/')})`);
}
for (const target of [0.9, 0.95]) {
  for (const h of thresholds) {
    const stopIdx = per.map((p, i) => {
      const k = p.dets.findIndex((d) => fidelityAtThreshold([ann.images[i]], [d], { threshold: h }).f1 >= target);
      return k < 0 ? checks.length - 1 : k;
    });
    const mean = stopIdx.reduce((a, k) => a + checks[k], 0) / per.length;
    console.log(`until-f1 ${target} at ${h}: mean ${mean.toFixed(1)} ticks; F1 at the stop ${f1At((i) => stopIdx[i], h).f1.toFixed(3)}`);
  }
}
