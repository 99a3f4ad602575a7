import { readFileSync, writeFileSync } from 'node:fs';
import { DEMO_ACCOUNT_NAME } from '../../domain/accounts.js';
import { parseApiKey } from '../../domain/api-keys.js';
import { AccountsRepository } from '../../prisma/accounts-repository.js';
import { secretMatches } from '../../prisma/api-key-secrets.js';
import { createPrismaClient } from '../../prisma/client.js';

/** The file of DATA_DIR that keeps `npm start`'s demo key between runs. */
export const DEMO_KEY_FILE = 'demo-api-key';

/**
 * The demo account's API key for the local demo: the one kept in `file` while the database still
 * knows it and it is not revoked, else a new one, written there (readable by its owner only).
 */
export async function ensureDemoKey(databaseUrl: string, file: string): Promise<{ apiKey: string; created: boolean }> {
  const db = createPrismaClient({ url: databaseUrl, poolSize: 1, connectTimeoutMs: 5000, queryTimeoutMs: 10_000 });
  try {
    const accounts = new AccountsRepository(db);
    const kept = readKept(file);
    const parsed = kept === undefined ? undefined : parseApiKey(kept);
    if (kept !== undefined && parsed) {
      const stored = await accounts.findKey(parsed.keyId);
      if (stored && stored.revokedAt === null && secretMatches(parsed.secret, stored.secretHash)) {
        return { apiKey: kept, created: false };
      }
    }
    const created = await accounts.createKey(DEMO_ACCOUNT_NAME);
    writeFileSync(file, `${created.apiKey}\n`, { mode: 0o600 });
    return { apiKey: created.apiKey, created: true };
  } finally {
    await db.$disconnect();
  }
}

function readKept(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}
