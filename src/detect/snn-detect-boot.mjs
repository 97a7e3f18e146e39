// Boots an SNN detection worker thread: tsx cannot start a worker from a .ts file directly
// (ERR_UNKNOWN_FILE_EXTENSION), so register its loader here, then import the TypeScript module.
import { register } from 'tsx/esm/api';

register();
await import('./snn-detect-worker.ts');
