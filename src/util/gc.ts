/**
 * A full garbage collection now. A long emulation allocates too little for V8 to collect by itself,
 * so typed arrays dropped just before it (the host's copy of the accounting tables once the WASM
 * core holds them, the mapping's scratch) would stay resident through the run: on TrueNorth's face
 * detector at 416 `run`'s peak went from 790–810 to about 690 MB. Node has no API for it without
 * --expose-gc; the flag set at run time gives a new context a gc function (the flag is cleared
 * again at once, so no global appears).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gcFn: (() => void) | null | undefined;

export function collectGarbage(): void {
  if (gcFn === undefined) {
    const own = (globalThis as { gc?: () => void }).gc;
    if (own) gcFn = own;
    else {
      try {
        setFlagsFromString('--expose-gc');
        gcFn = runInNewContext('gc') as () => void;
      } catch {
        gcFn = null;
      } finally {
        setFlagsFromString('--no-expose-gc');
      }
    }
  }
  gcFn?.();
}
