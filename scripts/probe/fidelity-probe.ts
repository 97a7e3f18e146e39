/**
 * Probe (development tool): operating-point fidelity of the spiking face detector for several
 * readout windows from ONE simulation per photo and membrane initialisation. The detection
 * layer's membrane is recorded every tick, so any window [W, t] is (V(t) − V(W)) / (t − W).
 *
 *   node --import tsx scripts/probe/fidelity-probe.ts --vinit 0,0.5 --ticks 256 [--calib a.jpg ...] -- photos...
 * Prints a JSON line per (vinit, window, tick): F1/P/R at 0.3 and 0.5, mean logit bias.
 */
import { calibrateModel, convertCalibrated } from '../../src/convert/from-model.ts';
import { detectImagesAnn } from '../../src/detect/ann-detect.ts';
import { fidelityAtThreshold } from '../../src/detect/fidelity.ts';
import { apAgainst } from '../../src/detect/map.ts';
import { detectFromReadouts } from '../../src/detect/snn-detect.ts';
import type { ImageDetections } from '../../src/detect/types.ts';
import { loadImage } from '../../src/image/decode.ts';
import { preprocess } from '../../src/image/preprocess.ts';
import { createSimulator } from '../../src/sim/simulator.ts';
import { probeArgs } from './args.ts';

const { photos, calib, flag } = probeArgs();
const T = Number(flag('ticks', '256'));
const vinits = flag('vinit', '0,0.5').split(',').map(Number);
const checkpoints = flag('checkpoints', '32,48,64,96,128,192,256').split(',').map(Number).filter((t) => t <= T);
const windows = flag('windows', '0,4,8,16,24,32,q4,q2').split(',');
const extra = JSON.parse(flag('settings', '{}'));

const model = calibrateModel({ model: 'face' }, { calib, images: photos });
const ann = await detectImagesAnn(model.net, photos, { threshold: 0.3 });
for (const vInit of vinits) {
  const snn = convertCalibrated(model, { ...extra, vInit, readoutStart: 0 }).snn;
  const sim = await createSimulator(snn, { seed: 1 });
  const rl = snn.readouts[0].layer;
  const lam = snn.layers[rl].lambda;
  const per = new Map<string, ImageDetections[]>();
  for (const f of photos) {
    const img = loadImage(f);
    sim.reset(preprocess(snn.ann, img));
    const hist: Float32Array[] = [new Float32Array(snn.layers[rl].outShape.c * snn.layers[rl].outShape.h * snn.layers[rl].outShape.w)];
    for (let t = 1; t <= T; t++) {
      sim.run(1);
      hist.push(sim.membrane(rl));
    }
    const plane = snn.layers[rl].outShape.h * snn.layers[rl].outShape.w;
    for (const t of checkpoints) {
      for (const w of windows) {
        const W = w === 'q4' ? Math.floor(t / 4) : w === 'q2' ? Math.floor(t / 2) : Math.min(Number(w), t - 1);
        const raw = new Float32Array(hist[t].length);
        for (let i = 0; i < raw.length; i++) raw[i] = ((hist[t][i] - hist[W][i]) / (t - W)) * lam[Math.floor(i / plane)];
        const dets = detectFromReadouts(snn, [raw], img.width, img.height, 0.05);
        const key = `${t}|${w}`;
        if (!per.has(key)) per.set(key, []);
        per.get(key)!.push({ file: f, width: img.width, height: img.height, detections: dets });
      }
    }
    process.stderr.write(`vinit ${vInit} ${f}\n`);
  }
  for (const [key, imgs] of per) {
    const [t, w] = key.split('|');
    const f3 = fidelityAtThreshold(ann.images, imgs, { threshold: 0.3 });
    const f5 = fidelityAtThreshold(ann.images, imgs, { threshold: 0.5 });
    const annAt5 = ann.images.map((im) => ({ ...im, detections: im.detections.filter((d) => d.score > 0.5) }));
    const ap = apAgainst(annAt5, imgs).map;
    console.log(JSON.stringify({ vInit, window: w, tick: Number(t), ap: ap === null ? null : +ap.toFixed(3), bias05: f5.bias.mean === null ? null : +f5.bias.mean.toFixed(3), f1_03: +f3.f1.toFixed(3), p03: +f3.precision.toFixed(3), r03: +f3.recall.toFixed(3), f1_05: +f5.f1.toFixed(3), bias03: f3.bias.mean === null ? null : +f3.bias.mean.toFixed(3), nb: f3.bias.boxes, nun: f3.bias.unmatchedForBias, ann03: f3.reference, ann05: f5.reference }));
  }
}
