import { loadModel } from './src/model/load.ts';
import { WasmAnn } from './src/ann/wasm.ts';
import { layerMacs } from './src/model/stats.ts';
const net = loadModel({model:'yolov2-tiny-voc',weights:'synthetic:1',size:416});
let t = performance.now();
const ann = new WasmAnn(net);
console.log('create', (performance.now()-t).toFixed(0), 'ms', (ann.memoryBytes/2**20).toFixed(1), 'MiB');
const input = new Float32Array(3*416*416).fill(0.5);
ann.setInput(input);
for (let rep = 0; rep < 2; rep++) {
let tot = 0, totM = 0;
for (const l of net.layers) {
  const reps = 3;
  ann.runLayer(l.index);
  t = performance.now();
  for (let r = 0; r < reps; r++) ann.runLayer(l.index);
  const dt = (performance.now()-t)/reps;
  tot += dt; totM += layerMacs(l);
  console.log(l.index, l.kind, dt.toFixed(2), 'ms', (layerMacs(l)/dt/1e6).toFixed(2), 'GMAC/s');
}
console.log('total', tot.toFixed(1), (totM/tot/1e6).toFixed(2));
}
t = performance.now(); ann.run(input); console.log('run', (performance.now()-t).toFixed(1));
t = performance.now(); ann.forward(input); console.log('forward', (performance.now()-t).toFixed(1));
