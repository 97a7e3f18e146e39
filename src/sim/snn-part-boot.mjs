// Part 1 of a two-thread SNN tick (src/sim/threads.ts): instantiates build/snn-mt.wasm on the
// simulator's shared memory, then runs runPart(net, 1, n) each time the main thread asks.
// Control words (Int32Array on workerData.control): [0] request number, [1] ticks (−1: exit),
// [2] part 1's net descriptor, [3] the request number last finished.
import { parentPort, workerData } from 'node:worker_threads';

const { module, memory, control } = workerData;
const kernels = new WebAssembly.Instance(module, { env: { memory, abort() { throw new Error('snn-mt.wasm: abort'); } } }).exports;
const ctl = new Int32Array(control);
let seen = 0;
parentPort.postMessage('ready');
for (;;) {
  Atomics.wait(ctl, 0, seen);
  seen = Atomics.load(ctl, 0);
  const n = ctl[1];
  if (n < 0) break;
  kernels.runPart(ctl[2], 1, n);
  Atomics.store(ctl, 3, seen);
  Atomics.notify(ctl, 3);
}
