import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrismaClient } from '../../prisma/client.js';
import { applyMigrations, MIGRATIONS_DIR, MigrationError, readMigrations } from '../../prisma/migrate.js';
import { testConfig } from '../support/config.js';

const suiteUrl = testConfig().DATABASE_URL;
const created: string[] = [];
let admin: pg.Client;

/** A new, empty database on the suite's server. */
async function freshDatabase(): Promise<string> {
  const name = `migrate_${randomBytes(4).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${name}`);
  created.push(name);
  const url = new URL(suiteUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  admin = new pg.Client({ connectionString: suiteUrl });
  await admin.connect();
});

afterAll(async () => {
  for (const name of created) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
});

describe('applyMigrations', () => {
  it('applies every migration once and records it as prisma migrate deploy does', async () => {
    const url = await freshDatabase();
    const migrations = await readMigrations();
    expect(migrations.length).toBeGreaterThan(0);

    expect(await applyMigrations(url)).toEqual(migrations.map((m) => m.name));
    const rows = await query<{ migration_name: string; checksum: string; finished_at: Date | null; applied_steps_count: number }>(
      url,
      'SELECT migration_name, checksum, finished_at, applied_steps_count FROM "_prisma_migrations" ORDER BY migration_name',
    );
    for (const [index, migration] of migrations.entries()) {
      const sql = await readFile(path.join(MIGRATIONS_DIR, migration.name, 'migration.sql'));
      expect(rows[index]).toMatchObject({
        migration_name: migration.name,
        checksum: createHash('sha256').update(sql).digest('hex'),
        applied_steps_count: 1,
      });
      expect(rows[index]?.finished_at).toBeInstanceOf(Date);
    }

    expect(await applyMigrations(url)).toEqual([]);
  });

  it('lets concurrent runs apply each migration exactly once', async () => {
    const url = await freshDatabase();
    const results = await Promise.all([applyMigrations(url), applyMigrations(url), applyMigrations(url)]);
    expect(results.flat().sort()).toEqual((await readMigrations()).map((m) => m.name));
    const rows = await query<{ count: string }>(url, 'SELECT count(*) FROM "_prisma_migrations"');
    expect(Number(rows[0]?.count)).toBe((await readMigrations()).length);
  });

  it('produces the schema the generated Prisma client expects', async () => {
    const url = await freshDatabase();
    await applyMigrations(url);
    const db = createPrismaClient({ url, poolSize: 2, connectTimeoutMs: 2000, queryTimeoutMs: 5000 });
    try {
      const order = await db.order.create({
        data: { type: 'limit', side: 'sell', instrument: 'US0378331005', limitPrice: '12345678901234.56', quantity: 7 },
      });
      expect(order.status).toBe('pending');
      expect(order.limitPrice?.toFixed(2)).toBe('12345678901234.56');
      const placed = await db.order.update({ where: { id: order.id }, data: { status: 'placed', placedAt: new Date() } });
      expect(placed.placedAt).toBeInstanceOf(Date);
    } finally {
      await db.$disconnect();
    }
  });

  describe('with a copy of the migrations', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'migrations-'));
      await cp(MIGRATIONS_DIR, dir, { recursive: true });
    });
    afterAll(() => rm(dir, { recursive: true, force: true }));

    it('refuses a migration that changed after it was applied', async () => {
      const url = await freshDatabase();
      await applyMigrations(url, dir);
      const [first] = await readMigrations(dir);
      await writeFile(path.join(dir, first!.name, 'migration.sql'), `${first!.sql}\n-- edited\n`);
      await expect(applyMigrations(url, dir)).rejects.toThrow(MigrationError);
      await writeFile(path.join(dir, first!.name, 'migration.sql'), first!.sql);
    });

    it('rolls back a failing migration and records nothing for it', async () => {
      const url = await freshDatabase();
      const name = '29991231000000_broken';
      await cp(path.join(dir, (await readMigrations(dir))[0]!.name), path.join(dir, name), { recursive: true });
      await writeFile(path.join(dir, name, 'migration.sql'), 'CREATE TABLE half_done (id int);\nSELECT * FROM no_such_table;');
      try {
        await expect(applyMigrations(url, dir)).rejects.toThrow(/29991231000000_broken failed/);
        const tables = await query<{ tablename: string }>(url, "SELECT tablename FROM pg_tables WHERE tablename = 'half_done'");
        expect(tables).toEqual([]);
        const rows = await query<{ migration_name: string }>(url, 'SELECT migration_name FROM "_prisma_migrations"');
        expect(rows.map((r) => r.migration_name)).not.toContain(name);
      } finally {
        await rm(path.join(dir, name), { recursive: true, force: true });
      }
    });
  });
});
