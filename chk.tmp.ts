import { loadModel } from './src/model/load.ts';
import { createAnnEngine } from './src/ann/engine.ts';
import { mulberry32 } from './src/util/rng.ts';
for (const spec of [{model:'face',size:224},{model:'yolov2-tiny-voc',weights:'synthetic:1',size:128},{model:'yolov3-tiny',weights:'synthetic:1',size:128}]) {
  const net = loadModel(spec as any);
  const r = mulberry32(5);
  const input = Float32Array.from({length: 3*net.input.h*net.input.w}, () => r());
  let t = performance.now();
  const a = createAnnEngine(net, 'wasm').forward(input);
  const tw = performance.now() - t; t = performance.now();
  const b = createAnnEngine(net, 'reference').forward(input);
  const tr = performance.now() - t;
  console.log(net.name, tw.toFixed(0), tr.toFixed(0));
  for (let i = 0; i < a.length; i++) {
    let md = 0, mx = 0;
    for (let j = 0; j < a[i].length; j++) { md = Math.max(md, Math.abs(a[i][j]-b[i][j])); mx = Math.max(mx, Math.abs(b[i][j])); }
    console.log(i, net.layers[i].kind, a[i].length === b[i].length, md.toExponential(2), mx.toFixed(2));
  }
}
