import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../workflows/path.js';

/**
 * Bundles the workflow code into one file that workers load with WORKFLOW_BUNDLE_PATH instead of
 * running webpack at every start (the container image's build, the benchmark). Returns its size.
 */
export async function writeWorkflowBundle(output: string): Promise<number> {
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('WARN') });
  await mkdir(path.dirname(output), { recursive: true });
  await writeFile(output, code);
  return code.length;
}
