// The HDF5 side of reading a .nir file, in a worker thread (src/model/nir.ts `readNirSync`): a damaged
// file can send HDF5 into an endless loop (found by the fuzzer: one flipped bit in a B-tree), and only
// a thread can be stopped from outside. This file knows nothing of NIR: it walks the HDF5 tree and
// posts it as plain objects; nir.ts validates. Plain JavaScript, so it needs no TypeScript loader.
//
// Request: { file, port, flag, maxElements, maxDepth }. Reply on `port`: { tree } or { where, reason },
// then flag[0] = 1 and a notify, so the caller can wait synchronously (Atomics.wait).
// Tree: group { g: [[name, entity], ...] }, dataset { d: { type, size, signed, le, shape, value } },
// anything else { o: 'its class' }, an unreadable member { e: 'reason' }.
import { parentPort } from 'node:worker_threads';

// an Emscripten abort (HDF5 assert on a damaged file) also prints "Aborted(...)" through
// console.error: the reason goes back in the reply instead, and stderr stays clean
console.error = () => {};
const h5wasm = (await import('h5wasm/node')).default;
const M = await h5wasm.ready;
// HDF5 errors become thrown JS errors instead of a diagnostic stack printed on stderr
M.activate_throwing_error_handler();

/** HDF5's reason from its thrown diagnostic stack: the innermost "in FUNC(): reason" line */
let dead = false;
function reason(e) {
  const msg = e instanceof Error ? e.message : String(e);
  // after an abort the WASM instance is unusable: the caller replaces this thread
  if (/Aborted\(|RuntimeError|unreachable/.test(msg) || e instanceof WebAssembly.RuntimeError) dead = true;
  const lines = [...msg.matchAll(/#\d+: .*? in [A-Za-z0-9_]+\(\): (.*)/g)].map((m) => m[1].trim());
  return lines.length > 0 ? lines[lines.length - 1] : msg.split('\n')[0].slice(0, 200);
}

class Refusal extends Error {
  constructor(where, why) {
    super(why);
    this.where = where;
  }
}

function walk(group, path, depth, req) {
  if (depth > req.maxDepth) throw new Refusal(path, `groups nested deeper than ${req.maxDepth} levels`);
  let names;
  try {
    names = group.keys();
  } catch (e) {
    throw new Refusal(path, `cannot list the group (${reason(e)})`);
  }
  const out = [];
  for (const name of names) {
    const at = `${path}/${name}`;
    let ent;
    try {
      ent = group.get(name);
    } catch (e) {
      out.push([name, { e: `cannot be read (${reason(e)})` }]);
      continue;
    }
    if (ent instanceof h5wasm.Group) out.push([name, walk(ent, at, depth + 1, req)]);
    else if (ent instanceof h5wasm.Dataset) out.push([name, dataset(ent, at, req)]);
    else out.push([name, { o: ent?.constructor?.name ?? 'nothing' }]);
  }
  return { g: out };
}

function dataset(ds, at, req) {
  let m, shape;
  try {
    m = ds.metadata;
    shape = ds.shape;
  } catch (e) {
    return { e: `cannot read the dataset's type (${reason(e)})` };
  }
  const d = { type: m.type, size: m.size, signed: m.signed, le: m.littleEndian, shape, value: null };
  if (shape === null || !shape.every((x) => Number.isSafeInteger(x) && x >= 0)) return { d };
  const n = shape.reduce((a, b) => a * b, 1);
  if (n > req.maxElements) throw new Refusal(at, `${n} elements is too large (limit ${req.maxElements})`);
  try {
    d.value = ds.value;
  } catch (e) {
    return { e: `cannot read the data (${reason(e)})` };
  }
  return { d };
}

parentPort.on('message', (req) => {
  let reply;
  let f = null;
  try {
    try {
      f = new h5wasm.File(req.file, 'r');
    } catch (e) {
      throw new Refusal('', `not a readable HDF5 file (${reason(e)})`);
    }
    reply = { tree: walk(f, '', 0, req) };
  } catch (e) {
    reply = e instanceof Refusal ? { where: e.where, reason: e.message } : { where: '', reason: `cannot be read as HDF5 (${reason(e)})` };
  } finally {
    try {
      f?.close();
    } catch {
      // a damaged file may fail to close; the thread's handles go with it when it is replaced
    }
  }
  reply.dead = dead;
  try {
    req.port.postMessage(reply);
  } catch (e) {
    req.port.postMessage({ where: '', reason: `cannot pass the data on (${reason(e)})`, dead });
  }
  Atomics.store(req.flag, 0, 1);
  Atomics.notify(req.flag, 0);
});
parentPort.postMessage('ready');
