/**
 * NIR test helpers: Debian's python3 with h5py and numpy running NIR's own reader
 * (tests/helpers/nir_layout.py on the vendored tests/vendor/nir), and the same layout computed from
 * neuroemu's reading of a file, to compare the two.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/model/load.ts';
import type { NirFile, NirGraph, NirMetadata, NirTensor, NirValue } from '../../src/model/nir.ts';

export const NIR_FIXTURES = join(PROJECT_ROOT, 'tests', 'fixtures', 'nir');
export const SINABS_NIR = join(NIR_FIXTURES, 'cnn_sinabs.nir');
export const NORSE_NIR = join(NIR_FIXTURES, 'lif_norse.nir');

/** a python3 that imports h5py and numpy (Debian's first: scripts/ensure-h5py.sh installs there), or null */
export const PYTHON: string | null = (() => {
  for (const py of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(py, ['-c', 'import h5py, numpy'], { encoding: 'utf8' });
    if (r.status === 0) return py;
  }
  return null;
})();
export const NO_PYTHON = 'no python3 with h5py and numpy (scripts/ensure-h5py.sh installs them as root): skipping the NIR Python-reader checks';

export interface Layout {
  version: string;
  graph: GraphDesc;
  datasets: Record<string, { dtype?: string; shape: number[]; sha256?: string; strings?: string[] }>;
}
interface GraphDesc {
  edges: [string, string][];
  nodes: Record<string, { type: string; graph?: GraphDesc }>;
}

/** NIR's Python reader on `file`: throws with Python's last line when it refuses the file */
export function pythonLayout(file: string, typeCheck = true): Layout {
  if (!PYTHON) throw new Error(NO_PYTHON);
  const r = spawnSync(PYTHON, [join(PROJECT_ROOT, 'tests', 'helpers', 'nir_layout.py'), file, ...(typeCheck ? [] : ['--no-type-check'])], { encoding: 'utf8', maxBuffer: 1 << 28, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
  if (r.status !== 0) throw new Error(`NIR's Python reader refused ${file}: ${(r.stderr.trim().split('\n').pop() ?? '').slice(0, 400)}`);
  return JSON.parse(r.stdout) as Layout;
}

function describe(g: NirGraph): GraphDesc {
  const nodes: GraphDesc['nodes'] = {};
  for (const [k, n] of g.nodes) nodes[k] = n.type === 'NIRGraph' ? { type: n.type, graph: describe(n) } : { type: n.type };
  return { edges: g.edges.map((e) => [e[0], e[1]] as [string, string]).sort((a, b) => (a.join('\0') < b.join('\0') ? -1 : 1)), nodes };
}

/** the layout of neuroemu's reading, in nir_layout.py's terms */
export function tsLayout(nf: NirFile): Layout {
  const datasets: Layout['datasets'] = {};
  const put = (path: string, v: NirValue) => {
    if (typeof v === 'string') datasets[path] = { strings: [v], shape: [] };
    else {
      const t = v as NirTensor;
      datasets[path] = { dtype: t.dtype, shape: t.shape, sha256: createHash('sha256').update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)).digest('hex') };
    }
  };
  const meta = (path: string, m: NirMetadata) => {
    for (const [k, v] of Object.entries(m)) {
      if (typeof v === 'string' || 'dtype' in v) put(`${path}/${k}`, v as NirValue);
      else meta(`${path}/${k}`, v as NirMetadata);
    }
  };
  const walk = (path: string, g: NirGraph) => {
    put(`${path}/type`, 'NIRGraph');
    if (g.edges.length) datasets[`${path}/edges`] = { strings: g.edges.flat(), shape: [g.edges.length, 2] };
    meta(`${path}/metadata`, g.metadata);
    for (const [k, n] of g.nodes) {
      const p = `${path}/nodes/${k}`;
      if (n.type === 'NIRGraph') walk(p, n);
      else {
        put(`${p}/type`, n.type);
        for (const [f, v] of Object.entries(n.fields)) put(`${p}/${f}`, v);
        meta(`${p}/metadata`, n.metadata);
      }
    }
  };
  walk('node', nf.graph);
  if (nf.version !== undefined) put('version', nf.version);
  return { version: nf.version ?? '', graph: describe(nf.graph), datasets };
}
