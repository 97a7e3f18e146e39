// Boots a sweep worker thread: tsx cannot start a worker from a .ts file directly
// (ERR_UNKNOWN_FILE_EXTENSION), so register its loader here, then import the TypeScript module.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
