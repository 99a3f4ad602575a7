import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `npm run --silent keys -- <args>`, the documented command, with `env` (DATABASE_URL left out unless given). */
export function keysCommand(env: Record<string, string>, ...args: string[]): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const { DATABASE_URL: _unset, ...inherited } = process.env;
    const child = spawn('npm', ['run', '--silent', 'keys', '--', ...args], {
      cwd: ROOT,
      env: { ...inherited, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export interface CreatedKey {
  account: string;
  key_id: string;
  api_key: string;
}

/** A new key of `account` (created if new), through the command. */
export async function createKey(databaseUrl: string, account: string): Promise<CreatedKey> {
  const result = await keysCommand({ DATABASE_URL: databaseUrl }, 'create', '--account', account, '--json');
  if (result.code !== 0) throw new Error(`keys create failed (${result.code}): ${result.stderr}`);
  return JSON.parse(result.stdout) as CreatedKey;
}

export async function revokeKey(databaseUrl: string, keyId: string): Promise<void> {
  const result = await keysCommand({ DATABASE_URL: databaseUrl }, 'revoke', keyId);
  if (result.code !== 0) throw new Error(`keys revoke failed (${result.code}): ${result.stderr}`);
}

export const bearer = (apiKey: string) => ({ Authorization: `Bearer ${apiKey}` });
