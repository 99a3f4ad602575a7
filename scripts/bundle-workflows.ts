// Prebundles the workflow code (run at image build time): the worker then loads this file with
// WORKFLOW_BUNDLE_PATH instead of running webpack at every start.
//   node --import tsx scripts/bundle-workflows.ts [output file, default dist/workflow-bundle.js]
import path from 'node:path';
import { writeWorkflowBundle } from '../worker/workflow-bundle.js';

const output = path.resolve(process.argv[2] ?? 'dist/workflow-bundle.js');
const size = await writeWorkflowBundle(output);
console.log(`workflow bundle written to ${output} (${(size / 1024).toFixed(0)} KiB)`);
