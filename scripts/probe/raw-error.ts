/**
 * Probe (development tool): mean |SNN raw head output − ANN| against ticks, for conversion settings.
 *   node --import tsx scripts/probe/raw-error.ts PHOTO SIZE '[{"pool":"gate"},{"pool":"max"}]'
 */
import { createAnnEngine } from '../../src/ann/engine.ts';
import { calibrateInputs } from '../../src/convert/calibrate.ts';
import { convertNetwork, defaultSettings } from '../../src/convert/convert.ts';
import { loadImage } from '../../src/image/decode.ts';
import { preprocess } from '../../src/image/preprocess.ts';
import { loadModel } from '../../src/model/load.ts';
import { createSimulator } from '../../src/sim/simulator.ts';

const [photo, size, configs] = process.argv.slice(2);
const net = loadModel({ model: 'face', size: Number(size) });
const input = preprocess(net, loadImage(photo));
const outs = (await createAnnEngine(net, 'wasm')).forward(input);
const stats = calibrateInputs(net, [input]);
const ticks = [32, 64, 128, 256, 512, 1024];
for (const c of JSON.parse(configs)) {
  const snn = convertNetwork(net, stats, defaultSettings(c));
  const ann = outs[net.layers[snn.readouts[0].head].inputs[0]];
  const sim = await createSimulator(snn);
  sim.reset(input);
  const row: string[] = [];
  sim.runWithCheckpoints(1024, ticks, (t, [raw]) => {
    let e = 0, b = 0;
    for (let i = 0; i < raw.length; i++) { e += Math.abs(raw[i] - ann[i]); b += raw[i] - ann[i]; }
    row.push(`${t}: ${(e / raw.length).toFixed(3)} (${(b / raw.length >= 0 ? '+' : '') + (b / raw.length).toFixed(3)})`);
  });
  console.log(JSON.stringify(c).padEnd(60), row.join('  '));
}
