import { randomBytes } from 'node:crypto';
import { cp, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { MIGRATIONS_DIR } from '../../prisma/migrate.js';

/** A new empty database on the suite's server (`admin` connected to it): its URL. */
export async function createEmptyDatabase(admin: pg.Client, suiteUrl: string, prefix: string): Promise<{ name: string; url: string }> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${name}`);
  const parsed = new URL(suiteUrl);
  parsed.pathname = `/${name}`;
  return { name, url: parsed.toString() };
}

/** A copy of the migrations folder as it was before `migration` (which and later ones left out): its path. */
export async function migrationsBefore(migration: string): Promise<string> {
  const before = await mkdtemp(path.join(os.tmpdir(), 'migrations-before-'));
  await cp(MIGRATIONS_DIR, before, {
    recursive: true,
    filter: (source) => {
      const name = path.relative(MIGRATIONS_DIR, source).split(path.sep)[0]!;
      return !/^\d{14}_/.test(name) || name < migration;
    },
  });
  return before;
}
