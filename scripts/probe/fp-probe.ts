/**
 * Probe (development tool): where the operating-point F1 is lost, photo by photo. The SNN's
 * detections above the threshold that match no ANN detection (false positives) and the ANN's that
 * no SNN detection matches (misses), each with what the other side scored there: the ANN's best
 * candidate (down to 0.05) at IoU ≥ 0.5 for a false positive, the SNN's for a miss. A box the other
 * side scored just across the threshold is a score error; one it did not see at all is a spurious
 * or a lost detection.
 *   node --import tsx scripts/probe/fp-probe.ts --ticks 256 --vinit 0.5 --window 8 [--settings JSON] [--engine reference] [--calib a.jpg ...] -- photos...
 */
import { calibrateModel, convertCalibrated } from '../../src/convert/from-model.ts';
import { detectImagesAnn } from '../../src/detect/ann-detect.ts';
import { cocoIou } from '../../src/detect/map.ts';
import { detectFromReadouts } from '../../src/detect/snn-detect.ts';
import type { Detection } from '../../src/detect/types.ts';
import { loadImage } from '../../src/image/decode.ts';
import { preprocess } from '../../src/image/preprocess.ts';
import { createSimulator } from '../../src/sim/simulator.ts';
import { basename } from 'node:path';
import { probeArgs } from './args.ts';

const { photos, calib, flag } = probeArgs();
const T = Number(flag('ticks', '256')), W = Number(flag('window', '8')), vInit = Number(flag('vinit', '0.5'));
const thresholds = flag('thresholds', '0.3,0.5').split(',').map(Number);
const model = calibrateModel({ model: 'face' }, { calib, images: photos });
const ann = await detectImagesAnn(model.net, photos, { threshold: 0.05 });
const snn = convertCalibrated(model, { ...JSON.parse(flag('settings', '{}')), vInit, readoutStart: 0 }).snn;
const sim = await createSimulator(snn, { seed: 1, engine: flag('engine', 'wasm') as 'wasm' | 'reference' });
const rl = snn.readouts[0].layer, lam = snn.layers[rl].lambda;
const plane = snn.layers[rl].outShape.h * snn.layers[rl].outShape.w;
const best = (d: Detection, others: Detection[]) => others.reduce((m, o) => (cocoIou(d, o) >= 0.5 && o.score > m ? o.score : m), 0);
const totals = thresholds.map(() => ({ fp: 0, miss: 0, fpNear: 0, missNear: 0, tp: 0 }));
for (const [i, f] of photos.entries()) {
  const img = loadImage(f);
  sim.reset(preprocess(snn.ann, img));
  sim.run(W);
  const vW = sim.membrane(rl);
  sim.run(T - W);
  const vT = sim.membrane(rl);
  const raw = Float32Array.from(vT, (v, k) => ((v - vW[k]) / (T - W)) * lam[Math.floor(k / plane)]);
  const s = detectFromReadouts(snn, [raw], img.width, img.height, 0.05);
  const a = ann.images[i].detections;
  thresholds.forEach((thr, j) => {
    const S = s.filter((d) => d.score > thr), A = a.filter((d) => d.score > thr);
    const taken = new Uint8Array(A.length);
    const fps: string[] = [];
    for (const d of [...S].sort((x, y) => y.score - x.score)) {
      let k = -1, v = -1;
      A.forEach((r, q) => { const u = cocoIou(d, r); if (!taken[q] && u > v) (v = u), (k = q); });
      if (k >= 0 && v >= 0.5) { taken[k] = 1; totals[j].tp++; continue; }
      const other = best(d, a);
      totals[j].fp++;
      if (other > thr - 0.15) totals[j].fpNear++;
      fps.push(`${d.score.toFixed(2)}(ann ${other.toFixed(2)})`);
    }
    const misses = A.filter((_, q) => !taken[q]).map((r) => {
      const other = best(r, s);
      totals[j].miss++;
      if (other > thr - 0.15) totals[j].missNear++;
      return `${r.score.toFixed(2)}(snn ${other.toFixed(2)})`;
    });
    if (fps.length || misses.length) console.log(`${basename(f)} @${thr}: ${A.length} ANN, ${S.length} SNN; false positives ${fps.join(' ') || '-'}; misses ${misses.join(' ') || '-'}`);
  });
}
thresholds.forEach((thr, j) => {
  const t = totals[j];
  console.log(`threshold ${thr}: ${t.tp} matched, ${t.fp} false positives (${t.fpNear} where the ANN scored within 0.15 below), ${t.miss} misses (${t.missNear} where the SNN scored within 0.15 below); F1 ${(2 * t.tp / (2 * t.tp + t.fp + t.miss)).toFixed(3)}`);
});
