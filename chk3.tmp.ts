import { loadModel } from './src/model/load.ts';
import { WasmAnn } from './src/ann/wasm.ts';
const net = loadModel({model:'yolov2-tiny-voc',weights:'synthetic:1',size:416});
const ann = new WasmAnn(net);
const input = new Float32Array(3*416*416).fill(0.5);
ann.run(input);
for (let rep = 0; rep < 2; rep++) for (const l of net.layers) {
  let t = performance.now();
  const o = ann.output(l.index);
  const dt = performance.now()-t;
  t = performance.now();
  (ann as any).kernels.toChw((ann as any).bufs[l.index+1].cvt);
  const dt2 = performance.now()-t;
  console.log(l.index, o.length, dt.toFixed(2), dt2.toFixed(2));
}
