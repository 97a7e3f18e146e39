/**
 * The second thread of a two-thread tick (assembly/snn.ts runPart): a worker with its own instance
 * of build/snn-mt.wasm on the simulator's shared memory. The main thread hands it n ticks through
 * shared control words and runs part 0 itself; the two meet at the core's barriers every tick.
 */
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';

/** build/snn-mt.wasm: the SNN core built with shared memory (load it with wasm.ts loadSnnModule) */
export const SNN_MT_WASM_PATH = fileURLToPath(new URL('../../build/snn-mt.wasm', import.meta.url));

/** a shared memory of 256 pages that can grow to 4 GiB (what snn-mt.wasm declares) */
export function sharedSnnMemory(): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: 256, maximum: 65536, shared: true });
}

/**
 * Threads per tick for jobs sharing `workers` worker threads, `jobs` of them at once: 2 when there
 * is a spare worker for every job (e.g. one photo on one chip with two workers), else 1.
 */
export function threadsPerTick(workers: number, jobs: number): 1 | 2 {
  return jobs > 0 && workers >= 2 * jobs ? 2 : 1;
}

const REQUEST = 0, TICKS = 1, NET = 2, DONE = 3;

export class PartThread {
  private readonly ctl: Int32Array;
  private closed = false;
  // the worker is held for the simulator's lifetime; it is driven through the control words only
  private constructor(private readonly worker: Worker, control: SharedArrayBuffer) {
    this.ctl = new Int32Array(control);
  }

  /** Starts the worker and waits until its instance is ready. */
  static async start(module: WebAssembly.Module, memory: WebAssembly.Memory): Promise<PartThread> {
    const control = new SharedArrayBuffer(16);
    const worker = new Worker(new URL('./snn-part-boot.mjs', import.meta.url), { workerData: { module, memory, control } });
    await new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`SNN part thread exited with code ${code} before it was ready`)));
    });
    worker.removeAllListeners('error');
    worker.removeAllListeners('exit');
    // a blocked part thread must not keep the process alive
    worker.unref();
    const t = new PartThread(worker, control);
    registry.register(t, t.ctl, t);
    return t;
  }

  /** Runs n ticks: part 1 on the worker (its net descriptor net1), part 0 here through runPart0. */
  run(net1: number, n: number, runPart0: () => void): void {
    if (this.closed) throw new Error('the SNN part thread was closed');
    const c = this.ctl;
    c[TICKS] = n;
    c[NET] = net1;
    const req = Atomics.add(c, REQUEST, 1) + 1;
    Atomics.notify(c, REQUEST);
    runPart0();
    for (let d = Atomics.load(c, DONE); d !== req; d = Atomics.load(c, DONE)) Atomics.wait(c, DONE, d);
  }

  /** Lets the worker exit (the simulator is not used afterwards). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    registry.unregister(this);
    stop(this.ctl);
  }
}

function stop(c: Int32Array): void {
  c[TICKS] = -1;
  Atomics.add(c, REQUEST, 1);
  Atomics.notify(c, REQUEST);
}

/** a simulator dropped without close(): its worker exits when the simulator is collected */
const registry = new FinalizationRegistry<Int32Array>(stop);
