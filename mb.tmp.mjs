const mem = new WebAssembly.Memory({initial: 1600});
const f32 = new Float32Array(mem.buffer);
f32.fill(1);
const o = new Float32Array(2768896);
for (let r = 0; r < 3; r++) {
  let t = performance.now();
  o.set(f32.subarray(1000, 1000 + o.length));
  const dt1 = performance.now() - t; t = performance.now();
  const o2 = new Float32Array(2768896); o2.fill(0);
  const dt2 = performance.now() - t; t = performance.now();
  const b = Buffer.allocUnsafe(2768896*4);
  const dt3 = performance.now() - t; t = performance.now();
  b.fill(1);
  const dt4 = performance.now() - t;
  console.log(dt1.toFixed(2), dt2.toFixed(2), dt3.toFixed(2), dt4.toFixed(2));
}
