import { describe, expect, it } from 'vitest';
import { IngestConfigError, loadIngestConfig } from '../../ingest/ingest-config.js';

// The ingestion process's settings: the relay's deadline under its name now, and under the name
// it had while the relay sent Updates, so that an operator's environment of before still applies.
const base = { DATABASE_URL: 'postgresql://localhost/orders' };

describe('loadIngestConfig: the relay deadline', () => {
  it('defaults to 10 s', () => {
    expect(loadIngestConfig(base).RELAY_TIMEOUT_MS).toBe(10_000);
  });

  it('takes RELAY_TIMEOUT_MS', () => {
    expect(loadIngestConfig({ ...base, RELAY_TIMEOUT_MS: '2500' }).RELAY_TIMEOUT_MS).toBe(2500);
  });

  it('takes RELAY_UPDATE_TIMEOUT_MS, its name before, when the new one is not set', () => {
    expect(loadIngestConfig({ ...base, RELAY_UPDATE_TIMEOUT_MS: '4000' }).RELAY_TIMEOUT_MS).toBe(4000);
    expect(loadIngestConfig({ ...base, RELAY_UPDATE_TIMEOUT_MS: '4000', RELAY_TIMEOUT_MS: '3000' }).RELAY_TIMEOUT_MS).toBe(3000);
  });

  it('refuses a bad value under either name, naming the setting', () => {
    expect(() => loadIngestConfig({ ...base, RELAY_UPDATE_TIMEOUT_MS: 'soon' })).toThrow(IngestConfigError);
    expect(() => loadIngestConfig({ ...base, RELAY_TIMEOUT_MS: '0' })).toThrow(/RELAY_TIMEOUT_MS/);
  });
});

describe('loadIngestConfig: the session lease', () => {
  it('a stopped holder loses the lock after 10 s by default', () => {
    expect(loadIngestConfig(base).INGEST_LEASE_TTL_MS).toBe(10_000);
    expect(loadIngestConfig({ ...base, INGEST_LEASE_TTL_MS: '3000' }).INGEST_LEASE_TTL_MS).toBe(3000);
  });

  it('refuses a TTL a running holder could outlast between its liveness queries (every second)', () => {
    expect(() => loadIngestConfig({ ...base, INGEST_LEASE_TTL_MS: '1000' })).toThrow(/INGEST_LEASE_TTL_MS/);
  });
});
