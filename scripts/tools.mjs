// Where the project keeps the tools it installs for itself (git-ignored), relative to its root.
export const TEMPORAL_CLI_VERSION = '1.9.1';

export const TOOLS = {
  temporalCliDir: '.tools/temporal-cli',
  temporalCli: '.tools/temporal-cli/bin/temporal',
  testServerDir: '.tools/temporal-test-server',
  testServerExecutable: 'scripts/temporal-test-server/run.sh',
};
