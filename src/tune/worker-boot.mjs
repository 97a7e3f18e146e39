// Boots a tune worker thread: tsx cannot start a worker from a .ts file directly
// (ERR_UNKNOWN_FILE_EXTENSION), so register its loader here, then import the TypeScript module,
// whose isMainThread guard starts the worker loop (see src/tune/workers.ts).
import { register } from 'tsx/esm/api';

register();
await import('./workers.ts');
