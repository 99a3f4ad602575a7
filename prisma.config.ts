import { defineConfig } from 'prisma/config';

// Used by the Prisma CLI only (generate; migrate where its engine can be had).
// The service itself reads DATABASE_URL through config/.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost:5432/orders' },
});
