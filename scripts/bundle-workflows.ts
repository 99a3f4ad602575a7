// Prebundles the workflow code (run at image build time): the worker then loads this file with
// WORKFLOW_BUNDLE_PATH instead of running webpack at every start.
//   node --import tsx scripts/bundle-workflows.ts [output file, default dist/workflow-bundle.js]
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../worker/worker.js';

const output = path.resolve(process.argv[2] ?? 'dist/workflow-bundle.js');
const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH });
await mkdir(path.dirname(output), { recursive: true });
await writeFile(output, code);
console.log(`workflow bundle written to ${output} (${(code.length / 1024).toFixed(0)} KiB)`);
