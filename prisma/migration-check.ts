import type { PrismaClient } from './client.js';
import { readMigrations } from './migrate.js';

/** The migrations applied to a database (name → checksum), or null when none ever was. */
export type AppliedMigrations = Map<string, string> | null;

/** Reads the finished, not rolled back migrations from `_prisma_migrations`, as the runner records them. */
export async function readAppliedMigrations(db: PrismaClient): Promise<AppliedMigrations> {
  const [row] = await db.$queryRawUnsafe<{ present: boolean }[]>(`SELECT to_regclass('"_prisma_migrations"') IS NOT NULL AS present`);
  if (!row?.present) return null;
  const applied = await db.$queryRawUnsafe<{ migration_name: string; checksum: string }[]>(
    'SELECT migration_name, checksum FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
  );
  return new Map(applied.map((m) => [m.migration_name, m.checksum]));
}

/**
 * Checks that every migration of this build (in `migrationsDir`, read once) is applied, with the
 * same checksum; later ones, from a newer build, are fine. Resolves with a summary, or rejects
 * naming what is missing or changed.
 */
export function createMigrationCheck(migrationsDir?: string): (applied: AppliedMigrations) => Promise<string> {
  let expected: ReturnType<typeof readMigrations> | undefined;
  const expectedMigrations = () =>
    (expected ??= readMigrations(migrationsDir).catch((error: unknown) => {
      expected = undefined;
      throw error;
    }));
  return async (applied) => {
    const wanted = await expectedMigrations();
    if (applied === null) throw new Error('no migration applied (table _prisma_migrations missing)');
    const missing = wanted.filter((m) => !applied.has(m.name)).map((m) => m.name);
    if (missing.length > 0) throw new Error(`not applied: ${missing.join(', ')}`);
    const changed = wanted.filter((m) => applied.get(m.name) !== m.checksum).map((m) => m.name);
    if (changed.length > 0) throw new Error(`applied with another checksum: ${changed.join(', ')}`);
    return `${wanted.length} applied`;
  };
}
