/** Loading the project's compiled WebAssembly (build/*.wasm): once per process, validated, with one abort import. */
import { existsSync, readFileSync } from 'node:fs';
import { fail } from './errors.ts';

const moduleCache = new Map<string, WebAssembly.Module>();

/** Compiles `path` once per process; `what` names it in the error when it is missing. The Module can be posted to workers. */
export function loadWasmModule(path: string, what: string): WebAssembly.Module {
  const hit = moduleCache.get(path);
  if (hit) return hit;
  if (!existsSync(path)) fail(path, `${what} ${what.endsWith('s') ? 'are' : 'is'} missing; run \`npm run build\` first`);
  const bytes = readFileSync(path);
  if (!WebAssembly.validate(bytes)) fail(path, 'not a valid WebAssembly module for this Node (it needs 128-bit SIMD); rebuild with `npm run build`');
  const mod = new WebAssembly.Module(bytes);
  moduleCache.set(path, mod);
  return mod;
}

/** A fresh instance (its own memory, or the `env.memory` given) with the AssemblyScript abort import reporting `name`. */
export function instantiateWasm<T>(module: WebAssembly.Module, name: string, env: Record<string, WebAssembly.ImportValue> = {}): T {
  const imports = {
    env: {
      ...env,
      abort(_msg: number, _file: number, line: number, col: number): never {
        throw new Error(`${name}: abort at ${line}:${col}`);
      },
    },
  };
  return new WebAssembly.Instance(module, imports).exports as unknown as T;
}
