/**
 * Probe (development tool): per SNN layer, the value it transmits in a window of ticks
 * (Σ_c (pos − neg)·λ_c / window) against the ANN's Σ activations of the layer it implements.
 * Shows where the start-up lag builds up.
 *   node --import tsx scripts/probe/layer-lag.ts PHOTO [--vinit 0.5] [--settings JSON] [--ends 16,32,64,128,256] [--calib a.jpg ...] (--calib last)
 * `--ends` sets the windows' end ticks (each window starts where the previous ended).
 */
import { createAnnEngine } from '../../src/ann/engine.ts';
import { calibrateModel, convertCalibrated } from '../../src/convert/from-model.ts';
import { loadImage } from '../../src/image/decode.ts';
import { preprocess } from '../../src/image/preprocess.ts';
import { createSimulator } from '../../src/sim/simulator.ts';

const args = process.argv.slice(2);
const photo = args[0];
const flag = (n: string, d: string) => (args.indexOf(`--${n}`) >= 0 ? args[args.indexOf(`--${n}`) + 1] : d);
const calibIdx = args.indexOf('--calib');
const calib = calibIdx >= 0 ? args.slice(calibIdx + 1).filter((x) => !x.startsWith('--')) : undefined;
const ends = flag('ends', '16,32,64,128,256').split(',').map(Number);
if (!ends.every((b, i) => Number.isInteger(b) && b > (i ? ends[i - 1] : 0))) {
  console.error(`--ends ${flag('ends', '')}: give increasing positive tick counts, e.g. 16,32,64,128,256`);
  process.exit(2);
}
const windows = ends.map((b, i) => [i ? ends[i - 1] : 0, b]);
const model = calibrateModel({ model: 'face' }, { calib });
const snn = convertCalibrated(model, { vInit: Number(flag('vinit', '0')), ...JSON.parse(flag('settings', '{}')) }).snn;
const img = loadImage(photo);
const x = preprocess(model.net, img);
const annOut = (await createAnnEngine(model.net, 'wasm')).forward(x);
const sim = await createSimulator(snn, { seed: 1 });
sim.reset(x);
const snap: Record<number, ReturnType<typeof sim.counts>> = {};
let t = 0;
snap[0] = sim.counts();
for (const [, b] of windows) {
  sim.run(b - t);
  t = b;
  snap[b] = sim.counts();
}
const head = ['layer', 'kind', 'rule', ...windows.map(([a, b]) => `${a}-${b}`)];
console.log(head.join('\t'));
for (const l of snn.layers) {
  if (l.kind === 'route' || l.kind === 'upsample') continue;
  const ann = annOut[l.source];
  const C = l.outShape.c, plane = ann.length / C;
  const annC = new Float64Array(C);
  for (let c = 0; c < C; c++) for (let p = 0; p < plane; p++) annC[c] += ann[c * plane + p];
  // per channel: SNN value per tick vs the ANN's channel sum; gain = least-squares slope, err = relative L2
  const cells = windows.map(([a, b]) => {
    const ca = snap[a].layers[l.index], cb = snap[b].layers[l.index];
    let va = 0, aa = 0, ee = 0;
    for (let c = 0; c < C; c++) {
      const v = ((cb.posSpikes[c] - ca.posSpikes[c] - (cb.negSpikes[c] - ca.negSpikes[c])) * l.lambda[c]) / (b - a);
      va += v * annC[c];
      aa += annC[c] * annC[c];
      ee += (v - annC[c]) ** 2;
    }
    return `${(va / aa).toFixed(2)}/${Math.sqrt(ee / aa).toFixed(2)}`;
  });
  const rule = l.kind === 'conv' ? l.rule : '-';
  console.log([l.index + ':' + l.name, l.kind, rule, ...cells].join('\t'));
}
