import { writeFileSync } from 'node:fs';
import type { SerializedError } from '@vitest/utils';
import type { Reporter } from 'vitest/reporters';

// vitest's JSON results leave out the errors no test owned (a rejection after its test ended, an
// error thrown in a child's event handler), yet one of those fails the run: two CI runs failed with
// every test passed and nothing in the log's tail to say why. This writes them where
// scripts/run.mjs reads them, so a failed run ends by quoting them.
export const UNHANDLED_ERRORS_FILE = '.vitest-unhandled.json';

export default class UnhandledErrorsReporter implements Reporter {
  onTestRunEnd(_modules: unknown, unhandledErrors: ReadonlyArray<SerializedError>): void {
    const errors = unhandledErrors.map((error) => ({
      name: error.name ?? 'Error',
      message: error.message,
      // vitest tags an error with the test file and test that were running when it was thrown.
      testFile: typeof error.VITEST_TEST_PATH === 'string' ? error.VITEST_TEST_PATH : undefined,
      testName: typeof error.VITEST_TEST_NAME === 'string' ? error.VITEST_TEST_NAME : undefined,
      stack: (error.stack ?? '').split('\n').slice(0, 8).join('\n'),
    }));
    writeFileSync(UNHANDLED_ERRORS_FILE, JSON.stringify(errors, null, 2));
  }
}
