import { type NpmScriptResult, runNpmScript } from './processes.js';

/** The smoke script's own bound on its run (--timeout), and the test's on the command, a little above it. */
export const SMOKE_TIMEOUT_S = 360;
export const SMOKE_COMMAND_TIMEOUT_MS = (SMOKE_TIMEOUT_S + 60) * 1000;

/**
 * `npm run --silent smoke -- <baseUrl> --management-url <managementUrl>`, as the README and CI run
 * it; its keys command is the default (`npm run --silent keys --`), on `env`'s DATABASE_URL, or
 * the running `npm start`'s PostgreSQL when `env` has none.
 */
export function runSmoke(baseUrl: string, managementUrl: string, env: NodeJS.ProcessEnv): Promise<NpmScriptResult> {
  return runNpmScript(
    'smoke',
    [baseUrl, '--management-url', managementUrl, '--timeout', String(SMOKE_TIMEOUT_S)],
    env,
    SMOKE_COMMAND_TIMEOUT_MS,
  );
}
