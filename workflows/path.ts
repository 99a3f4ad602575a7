import { fileURLToPath } from 'node:url';

// Where the workflow code is, for the worker and the bundler. Not part of the bundle itself
// (workflows/index.ts does not import it): a Node import has no place in the sandbox.
export const WORKFLOWS_PATH = fileURLToPath(new URL('./index.ts', import.meta.url));
