import { loadModel } from './src/model/load.ts';
import { WasmAnn } from './src/ann/wasm.ts';
let t = performance.now();
const net = loadModel({model:'yolov2-tiny-voc',weights:'synthetic:1',size:416});
console.log('load', (performance.now()-t).toFixed(0));
for (let i = 0; i < 3; i++) {
t = performance.now();
const ann = new WasmAnn(net);
console.log('create', (performance.now()-t).toFixed(0));
}
