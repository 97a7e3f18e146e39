/**
 * Probe (development tool): how often the ANN's activations on photos exceed the λ the conversion
 * took from its calibration photos (a spiking neuron cannot transmit more than λ per tick: clipped),
 * on the positive side and, for IBT and signed layers, on the negative side (at most one −1 spike, −λ,
 * per tick: saturated); each also as a share of the layer's |activation| mass.
 *   node --import tsx scripts/probe/clipping.ts [--calib a.jpg ...] -- photos...
 */
import { createAnnEngine } from '../../src/ann/engine.ts';
import { calibrateModel, convertCalibrated } from '../../src/convert/from-model.ts';
import { loadImage } from '../../src/image/decode.ts';
import { preprocess } from '../../src/image/preprocess.ts';

const argv = process.argv.slice(2);
const sep = argv.indexOf('--');
const calibIdx = argv.indexOf('--calib');
const calib = calibIdx >= 0 ? argv.slice(calibIdx + 1, sep).filter((x, i, a) => !x.startsWith('--') && a[i - 1] !== '--settings') : undefined;
const photos = argv.slice(sep + 1);
const model = calibrateModel({ model: 'face' }, { calib });
const si = argv.indexOf('--settings');
const snn = convertCalibrated(model, si >= 0 && si < sep ? JSON.parse(argv[si + 1]) : {}).snn;
const engine = await createAnnEngine(model.net, 'wasm');
const rows = snn.layers.filter((l) => l.kind === 'conv' && l.rule !== 'integrate').map((l) => ({ l, over: 0, under: 0, n: 0, worst: 0, photos: 0, mass: 0, overMass: 0, underMass: 0 }));
for (const f of photos) {
  const out = engine.forward(preprocess(model.net, loadImage(f)));
  for (const r of rows) {
    const a = out[r.l.source], C = r.l.outShape.c, plane = a.length / C;
    let any = false;
    for (let c = 0; c < C; c++) for (let p = 0; p < plane; p++) {
      const v = a[c * plane + p], lam = r.l.lambda[c], x = v / lam;
      r.n++;
      r.mass += Math.abs(v);
      if (x > 1) { r.over++; r.overMass += v - lam; any = true; r.worst = Math.max(r.worst, x); }
      else if (x < -1 && r.l.kind === 'conv' && r.l.rule !== 'if') { r.under++; r.underMass += -v - lam; }
    }
    if (any) r.photos++;
  }
}
const pct = (x: number, n: number) => `${((100 * x) / n).toFixed(4)} %`;
for (const r of rows) console.log(`${r.l.index}:${r.l.name}\tclipped ${pct(r.over, r.n)} of activations (${pct(r.overMass, r.mass)} of the mass)\tworst ${r.worst.toFixed(2)}×λ\ton ${r.photos}/${photos.length} photos\tnegative side saturated ${pct(r.under, r.n)} (${pct(r.underMass, r.mass)} of the mass)`);
