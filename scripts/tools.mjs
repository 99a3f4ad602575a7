// Where the project keeps the tools it installs for itself (git-ignored), relative to its root.
export const TEMPORAL_CLI_VERSION = '1.9.1';
// `npm run fuzz` (scripts/fuzz/main.ts): Schemathesis from PyPI, in a virtual environment of its own.
export const SCHEMATHESIS_VERSION = '4.32.5';

export const TOOLS = {
  temporalCliDir: '.tools/temporal-cli',
  temporalCli: '.tools/temporal-cli/bin/temporal',
  testServerDir: '.tools/temporal-test-server',
  testServerExecutable: 'scripts/temporal-test-server/run.sh',
  schemathesisDir: '.tools/schemathesis',
  schemathesis: '.tools/schemathesis/bin/schemathesis',
  schemathesisPython: '.tools/schemathesis/bin/python',
};
