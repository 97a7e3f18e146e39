/**
 * The .npy reader (src/model/npy.ts) against NumPy itself: files NumPy writes (dtypes, byte orders,
 * format versions 1.0 and 2.0) read to NumPy's values; files we write read back by NumPy; every
 * defect one UserError naming the file (truncations and bit flips fuzzed, seeded).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { npyBytes, parseNpy, readNpy } from '../src/model/npy.ts';
import { UserError } from '../src/util/errors.ts';
import { mulberry32 } from '../src/util/rng.ts';
import { PYTHON } from './helpers/nir.ts';

const dir = mkdtempSync(join(tmpdir(), 'neuroemu-npy-'));
const py = (code: string) => {
  const r = spawnSync(PYTHON!, ['-c', code], { encoding: 'utf8', cwd: dir });
  assert.is(r.status, 0, r.stderr);
  return r.stdout;
};

test('files NumPy writes: every dtype read, both byte orders, format 1.0 and 2.0, to NumPy\'s values', () => {
  if (!PYTHON) {
    console.log('no python3 with numpy (scripts/ensure-h5py.sh installs it as root): skipping the NumPy comparison');
    return;
  }
  const dtypes = ['?', 'u1', 'i1', '<i2', '>i2', '<u2', '<i4', '>u4', '<i8', '<u8', '<f4', '>f4', '<f8'];
  py(`
import numpy as np
rng = np.random.default_rng(1)
a = rng.integers(-3, 4, size=(3, 2, 4, 5))
for k, d in enumerate(${JSON.stringify(dtypes)}):
    x = (a != 0) if d == '?' else (np.abs(a) if 'u' in d else a).astype(d)
    if 'f' in d: x = (a * 0.25).astype(d)
    np.save(f'a{k}.npy', x)
np.lib.format.write_array(open('v2.npy', 'wb'), (a * 0.5).astype('<f8'), version=(2, 0))
np.save('scalar.npy', np.float32(2.5))
np.save('empty.npy', np.zeros((0, 3), dtype='u1'))
`);
  dtypes.forEach((d, k) => {
    const mine = readNpy(join(dir, `a${k}.npy`));
    const want = JSON.parse(py(`import numpy as np, json; x = np.load('a${k}.npy'); print(json.dumps([list(x.shape), x.astype('f8').ravel().tolist(), x.dtype.str]))`));
    assert.equal(mine.shape, want[0], d);
    assert.equal([...mine.data], want[1], d);
    assert.is(mine.descr, want[2], d);
  });
  const v2 = readNpy(join(dir, 'v2.npy'));
  assert.equal(v2.shape, [3, 2, 4, 5]);
  assert.is(v2.data[1], Number(py(`import numpy as np; print(repr(float(np.load('v2.npy').ravel()[1])))`)));
  assert.equal([readNpy(join(dir, 'scalar.npy')).shape, [...readNpy(join(dir, 'scalar.npy')).data]], [[], [2.5]]);
  assert.equal(readNpy(join(dir, 'empty.npy')).shape, [0, 3]);
  // and ours, read by NumPy
  writeFileSync(join(dir, 'ours.npy'), npyBytes([2, 3], [0, 1, 1, 0, 0, 1]));
  writeFileSync(join(dir, 'oursf.npy'), npyBytes([5], [0.5, -1, 2, 3.25, 0], '<f4'));
  assert.is(py(`import numpy as np; x = np.load('ours.npy'); print(x.dtype, x.shape, x.ravel().tolist())`).trim(), 'uint8 (2, 3) [0, 1, 1, 0, 0, 1]');
  assert.is(py(`import numpy as np; x = np.load('oursf.npy'); print(x.dtype, x.shape, x.tolist())`).trim(), 'float32 (5,) [0.5, -1.0, 2.0, 3.25, 0.0]');
});

test('defects: one line naming the file and what is wrong', () => {
  const good = npyBytes([2, 2], [1, 0, 0, 1]);
  const cases: [Uint8Array, RegExp][] = [
    [good.subarray(0, 5), /not a NumPy \.npy file/],
    [good.subarray(0, good.length - 1), /data is 3 bytes, shape \(2, 2\) of '\|u1' needs 4 \(truncated\)/],
    [Uint8Array.from([...good, 0]), /data is 5 bytes/],
    [good.subarray(0, 20), /truncated \.npy header/],
    [npyBytes([2], [1, 0]).map((b, i, a) => (i === 6 ? 9 : a[i])), /format version 9/],
    [new TextEncoder().encode('\x93NUMPY'), /not a NumPy/],
  ];
  const fortran = Buffer.from(npyBytes([2, 2], [1, 0, 0, 1])).toString('latin1').replace("'fortran_order': False", "'fortran_order': True ");
  cases.push([Buffer.from(fortran, 'latin1'), /Fortran order/]);
  const c16 = Buffer.from(npyBytes([2], [1, 0])).toString('latin1').replace("'|u1'", "'<c8'");
  cases.push([Buffer.from(c16, 'latin1'), /dtype '<c8' is not read/]);
  const neg = Buffer.from(npyBytes([2], [1, 0])).toString('latin1').replace('(2,)', '(-2,)');
  cases.push([Buffer.from(neg, 'latin1'), /not a tuple of non-negative integers/]);
  for (const [bytes, re] of cases) {
    try {
      parseNpy(bytes, 'x.npy');
      assert.unreachable(`no error for ${re}`);
    } catch (e) {
      assert.ok(e instanceof UserError, String(e));
      assert.match((e as Error).message, /^x\.npy: /);
      assert.match((e as Error).message, re);
      assert.not.match((e as Error).message, /\n/);
    }
  }
  try {
    readNpy(join(dir, 'nosuch.npy'));
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /cannot read the \.npy file \(no such file\)/);
  }
});

test('fuzz: truncations and bit flips give a value or one UserError, never anything else (seeded)', () => {
  const rand = mulberry32(11);
  const base = npyBytes([3, 4], Array.from({ length: 12 }, (_, i) => i % 3), '<f4');
  for (let n = 0; n < 3000; n++) {
    const b = Uint8Array.from(base);
    const cut = rand() < 0.3 ? Math.floor(rand() * b.length) : b.length;
    for (let k = 0; k < 1 + Math.floor(rand() * 3); k++) b[Math.floor(rand() * b.length)] ^= 1 << Math.floor(rand() * 8);
    try {
      const a = parseNpy(b.subarray(0, cut), 'f.npy');
      assert.is(a.data.length, a.shape.reduce((x, y) => x * y, 1));
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      assert.not.match((e as Error).message, /\n/);
    }
  }
  void readFileSync;
});

test.run();
