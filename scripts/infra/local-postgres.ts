// The PostgreSQL a local command uses: DATABASE_URL, or else the embedded one of `npm start`
// (data in DATA_DIR/postgres, port POSTGRES_PORT). scripts/start.ts reads the same settings.
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { startEmbeddedPostgresProcess } from './embedded-postgres-process.js';
import { embeddedPostgresUrl } from './embedded-postgres-url.js';

export const LOCAL_POSTGRES_PORT = 54320;
export const LOCAL_DATA_DIR = '.data';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const localEnv = z.object({
  POSTGRES_PORT: z.coerce.number().int().min(1).max(65535).default(LOCAL_POSTGRES_PORT),
  DATA_DIR: z.string().default(LOCAL_DATA_DIR),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgresql:// URL')
    .optional(),
});

export interface LocalDatabase {
  url: string;
  /** Where it came from, for a message: DATABASE_URL, the running `npm start`'s, or one started for this command. */
  source: 'DATABASE_URL' | 'running' | 'started';
  /** Stops the server if this command started it. */
  close(): Promise<void>;
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * DATABASE_URL when set; else the embedded PostgreSQL of `npm start` if it is running, or that same
 * server (same data, same port) started for this command alone, to be stopped with close().
 */
export async function openLocalDatabase(env: NodeJS.ProcessEnv = process.env): Promise<LocalDatabase> {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = localEnv.safeParse(present);
  if (!parsed.success) {
    throw new Error(`Invalid configuration:\n${parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`);
  }
  const settings = parsed.data;
  if (settings.DATABASE_URL) return { url: settings.DATABASE_URL, source: 'DATABASE_URL', close: async () => {} };
  if (await listening(settings.POSTGRES_PORT)) {
    return { url: embeddedPostgresUrl(settings.POSTGRES_PORT), source: 'running', close: async () => {} };
  }
  const postgres = await startEmbeddedPostgresProcess({
    dataDir: path.join(path.resolve(ROOT, settings.DATA_DIR), 'postgres'),
    port: settings.POSTGRES_PORT,
  });
  return { url: postgres.url, source: 'started', close: () => postgres.stop() };
}
