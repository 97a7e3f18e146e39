/**
 * NumPy `.npy` files (format versions 1.0, 2.0 and 3.0, numpy/lib/format.py): magic "\x93NUMPY",
 * major and minor version bytes, a little-endian header length (u16 in 1.0, u32 in 2.0/3.0), a
 * Python dict literal {'descr': ..., 'fortran_order': ..., 'shape': (...)} padded with spaces and a
 * newline, then the array's bytes in C order. Read here: booleans, signed and unsigned integers of
 * 1, 2, 4 and 8 bytes and floats of 4 and 8 bytes, either byte order; C order only. What
 * `neuroemu run --input-events` reads event tensors from.
 */
import { readFileSync } from 'node:fs';
import { fail } from '../util/errors.ts';

export interface NpyArray {
  shape: number[];
  /** the values, converted to float64 (exact for every dtype read, 64-bit integers up to 2^53) */
  data: Float64Array;
  /** the file's dtype, as numpy writes it (e.g. "|u1", "<f4") */
  descr: string;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
/** at most this many values (a larger event tensor would not fit the simulation either) */
const MAX_VALUES = 2 ** 31;

/** Reads `file` (see the module comment); any defect is one line naming the file and what is wrong. */
export function readNpy(file: string): NpyArray {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return fail(file, `cannot read the .npy file${code === 'ENOENT' ? ' (no such file)' : code ? ` (${code})` : ''}`);
  }
  return parseNpy(bytes, file);
}

export function parseNpy(bytes: Uint8Array, file = '.npy'): NpyArray {
  const bad = (what: string): never => fail(file, what);
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m)) bad('not a NumPy .npy file (no \\x93NUMPY magic)');
  const major = bytes[6];
  if (major < 1 || major > 3) bad(`.npy format version ${major}.${bytes[7]}; versions 1.0, 2.0 and 3.0 are read`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lenBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lenBytes) bad('truncated .npy header');
  const headerLen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const start = 8 + lenBytes + headerLen;
  if (start > bytes.length) bad(`truncated .npy header (${headerLen} bytes announced, ${bytes.length - 8 - lenBytes} present)`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(8 + lenBytes, start)).trim();
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(header)?.[1];
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!header.startsWith('{') || !header.endsWith('}') || descr === undefined || fortran === undefined || shapeText === undefined) {
    bad(`the .npy header is not a dict with 'descr', 'fortran_order' and 'shape': ${JSON.stringify(header.slice(0, 120))}`);
  }
  if (fortran === 'True') bad('the array is in Fortran order; save it in C order (numpy.ascontiguousarray)');
  const dims = shapeText!.split(',').map((x) => x.trim()).filter((x) => x.length > 0);
  const shape = dims.map((x) => (/^\d+$/.test(x) ? Number(x) : bad(`shape (${shapeText}) is not a tuple of non-negative integers`)));
  const count = shape.reduce((a, b) => a * b, 1);
  if (!(count <= MAX_VALUES)) bad(`shape (${shape.join(', ')}) holds ${count} values, more than ${MAX_VALUES}`);
  const m = /^([<>|=])([biuf])(\d+)$/.exec(descr!);
  if (!m) bad(`dtype '${descr}' is not read (booleans, integers and floats are)`);
  const [, order, kind, sizeText] = m!;
  const size = Number(sizeText);
  const ok = kind === 'b' ? size === 1 : kind === 'f' ? size === 4 || size === 8 : [1, 2, 4, 8].includes(size);
  if (!ok) bad(`dtype '${descr}' is not read (booleans, integers of 1, 2, 4 or 8 bytes, floats of 4 or 8 bytes are)`);
  const little = order !== '>';
  const need = count * size;
  if (bytes.length - start !== need) bad(`the data is ${bytes.length - start} bytes, shape (${shape.join(', ')}) of '${descr}' needs ${need}${bytes.length - start < need ? ' (truncated)' : ''}`);
  const data = new Float64Array(count);
  for (let i = 0, at = start; i < count; i++, at += size) {
    let v: number;
    if (kind === 'f') v = size === 4 ? dv.getFloat32(at, little) : dv.getFloat64(at, little);
    else if (kind === 'b') v = bytes[at] ? 1 : 0;
    else if (size === 1) v = kind === 'i' ? dv.getInt8(at) : dv.getUint8(at);
    else if (size === 2) v = kind === 'i' ? dv.getInt16(at, little) : dv.getUint16(at, little);
    else if (size === 4) v = kind === 'i' ? dv.getInt32(at, little) : dv.getUint32(at, little);
    else {
      const big = kind === 'i' ? dv.getBigInt64(at, little) : dv.getBigUint64(at, little);
      if (big > 2n ** 53n || big < -(2n ** 53n)) bad(`value ${big} at index ${i} is beyond 2^53`);
      v = Number(big);
    }
    data[i] = v;
  }
  return { shape, data, descr: descr! };
}

/** Writes a C-order .npy (format 1.0) of `shape` with dtype '<f4' or '|u1': for tests and examples. */
export function npyBytes(shape: number[], values: ArrayLike<number>, dtype: '<f4' | '|u1' = '|u1'): Uint8Array {
  let header = `{'descr': '${dtype}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const size = dtype === '<f4' ? 4 : 1;
  const out = new Uint8Array(10 + header.length + values.length * size);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) {
    if (size === 4) dv.setFloat32(10 + header.length + 4 * i, values[i], true);
    else out[10 + header.length + i] = values[i];
  }
  return out;
}
