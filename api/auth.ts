import type { Middleware } from 'koa';
import { LRUCache } from 'lru-cache';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../config/logger.js';
import { DEMO_ACCOUNT_ID } from '../domain/accounts.js';
import { parseApiKey } from '../domain/api-keys.js';
import type { StoredApiKey } from '../prisma/accounts-repository.js';
import { hashSecret, secretMatches } from '../prisma/api-key-secrets.js';
import { TooManyRequestsError, UnauthorizedError } from './errors.js';
import { noteRefusal } from './request-context.js';

/** What authentication puts on ctx.state for the code after it. */
export interface AuthState {
  accountId: string;
  /** The key the request authenticated with; null for a request without one (AUTH_REQUIRED=false). */
  keyId: string | null;
}

/** The lookups authentication needs (prisma/accounts-repository.ts implements them). */
export interface ApiKeyStore {
  findKey(keyId: string): Promise<StoredApiKey | undefined>;
  /** Records a use of the key; called at most once per cache period and process, not awaited. */
  touchKey?(keyId: string): Promise<void>;
}

/** Decides whether a client address has failed authentication too often (api/auth-failure-limiter.ts). */
export interface AuthFailureLimiter {
  /** Counts one failure of `address`; says whether it is over its limit, and the headers to send. */
  fail(address: string): Promise<{ limited: boolean; retryAfterSeconds: number; headers: Record<string, string> }>;
}

export type AuthFailureReason = 'missing' | 'malformed' | 'unknown' | 'revoked';
const AUTH_FAILURE_REASONS: readonly AuthFailureReason[] = ['missing', 'malformed', 'unknown', 'revoked'];

export interface AuthMetrics {
  failures: Counter<'reason'>;
  lookups: Counter<'source'>;
}

export function createAuthMetrics(registry: Registry): AuthMetrics {
  const failures = new Counter({
    name: 'auth_failures_total',
    help: 'Requests refused with 401 (or 429 once their address failed too often), by reason: missing, malformed, unknown or revoked key.',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const lookups = new Counter({
    name: 'auth_key_lookups_total',
    help: 'API key lookups by source: cache (no database round trip) or database.',
    labelNames: ['source'] as const,
    registers: [registry],
  });
  for (const reason of AUTH_FAILURE_REASONS) failures.inc({ reason }, 0);
  for (const source of ['cache', 'database']) lookups.inc({ source }, 0);
  return { failures, lookups };
}

export interface AuthOptions {
  keys: ApiKeyStore;
  /** AUTH_REQUIRED: false lets a request without Authorization act as the demo account. */
  required: boolean;
  /** AUTH_CACHE_TTL_MS: how long a lookup (found or not) is trusted; the bound on revocation's delay. */
  cacheTtlMs: number;
  /** Keys kept in the cache at most (unknown ids included, so random ids cannot grow it without bound). */
  cacheSize?: number;
  logger: Logger;
  metrics?: AuthMetrics;
  /** Failed authentications per client address; over it the answer is 429 instead of 401. */
  failures?: AuthFailureLimiter;
}

// `touched`: this lookup's use was recorded (once per lookup, however many requests waited for it).
type CachedKey = { found: false } | { found: true; key: StoredApiKey; touched: boolean };

// One header, the scheme case-insensitive (RFC 7235), the token a non-empty token68.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * Authenticates each request from `Authorization: Bearer <api_key>` before anything else runs
 * (mount it before any route: no body is read for a refused request). A refused request gets
 * 401 with `WWW-Authenticate: Bearer` (with error="invalid_token" when a token was sent) and a
 * JSON message. Lookups are cached in the process, found or not, for cacheTtlMs, so in the steady
 * state a request costs no database round trip; a revoked key is refused within cacheTtlMs.
 * Puts {accountId, keyId} (AuthState) on ctx.state.
 */
export function authenticate(options: AuthOptions): Middleware {
  const { keys, logger, metrics } = options;
  const cache = new LRUCache<string, CachedKey>({
    max: options.cacheSize ?? 10_000,
    ttl: Math.max(options.cacheTtlMs, 1),
    // Concurrent requests with the same key share one lookup.
    fetchMethod: async (keyId) => {
      metrics?.lookups.inc({ source: 'database' });
      const key = await keys.findKey(keyId);
      return key ? { found: true, key, touched: false } : { found: false };
    },
  });
  // An unknown key id still costs one hash comparison, so timing does not tell ids apart.
  const dummyHash = hashSecret('not a secret');

  const refuse = async (ctx: Parameters<Middleware>[0], reason: AuthFailureReason, error: UnauthorizedError): Promise<never> => {
    metrics?.failures.inc({ reason });
    noteRefusal(ctx, reason);
    // A refused request's body is never read: close the connection rather than wait for it.
    if (ctx.request.length || ctx.get('Transfer-Encoding')) ctx.set('Connection', 'close');
    if (options.failures) {
      const verdict = await options.failures.fail(ctx.ip);
      ctx.set(verdict.headers);
      if (verdict.limited) {
        noteRefusal(ctx, 'auth_failures');
        throw new TooManyRequestsError('Too many failed authentications from this address: try again later', verdict.retryAfterSeconds);
      }
    }
    throw error;
  };

  return async (ctx, next) => {
    const header = ctx.get('Authorization');
    if (header === '') {
      if (!options.required) {
        const state: AuthState = { accountId: DEMO_ACCOUNT_ID, keyId: null };
        Object.assign(ctx.state, state);
        return next();
      }
      return refuse(ctx, 'missing', new UnauthorizedError('Missing API key: send it as Authorization: Bearer <api_key>'));
    }
    const token = BEARER.exec(header)?.[1];
    const parsed = token === undefined ? undefined : parseApiKey(token);
    if (!parsed) {
      return refuse(
        ctx,
        'malformed',
        new UnauthorizedError(
          'Malformed Authorization header: expected Authorization: Bearer obk_<key_id>_<secret>',
          token === undefined ? 'invalid_request' : 'invalid_token',
        ),
      );
    }
    const cached = cache.has(parsed.keyId);
    const entry = await cache.fetch(parsed.keyId);
    if (cached) metrics?.lookups.inc({ source: 'cache' });
    const key = entry?.found ? entry.key : undefined;
    const matches = secretMatches(parsed.secret, key?.secretHash ?? dummyHash);
    if (!key || !matches) return refuse(ctx, 'unknown', new UnauthorizedError('Invalid API key', 'invalid_token'));
    if (key.revokedAt !== null) return refuse(ctx, 'revoked', new UnauthorizedError('API key revoked', 'invalid_token'));
    if (entry?.found && !entry.touched && keys.touchKey) {
      entry.touched = true;
      keys
        .touchKey(key.keyId)
        .catch((error: unknown) => logger.warn({ err: error, keyId: key.keyId }, 'could not record the use of an API key'));
    }
    const state: AuthState = { accountId: key.accountId, keyId: key.keyId };
    Object.assign(ctx.state, state);
    return next();
  };
}
