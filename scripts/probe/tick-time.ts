import { calibrateModel, convertCalibrated } from '../../src/convert/from-model.ts';
import { loadImage } from '../../src/image/decode.ts';
import { preprocess } from '../../src/image/preprocess.ts';
import { createSimulator } from '../../src/sim/simulator.ts';
const model = calibrateModel({ model: 'face' }, {});
for (const f of process.argv.slice(2)) for (const pool of ['gate', 'max'] as const) {
  const snn = convertCalibrated(model, { pool, vInit: 0.5 }).snn;
  const sim = await createSimulator(snn, { seed: 1 });
  sim.reset(preprocess(snn.ann, loadImage(f)));
  const t0 = performance.now();
  sim.run(64);
  const c = sim.counts();
  console.log(f.split('/').pop(), pool, ((performance.now() - t0) / 64).toFixed(1), 'ms/tick', (c.totals.sops / 64 / 1e6).toFixed(1), 'M SOP/tick');
}
