import type { Middleware } from 'koa';
import type { AccountRateLimiter } from './account-rate-limiter.js';
import type { AuthState } from './auth.js';
import { TooManyRequestsError } from './errors.js';
import type { RateLimitMetrics } from './rate-limit-metrics.js';
import { noteRefusal } from './request-context.js';

/**
 * The per-account limit as a middleware, after authentication (it reads ctx.state.accountId):
 * every answer carries RateLimit-Policy and RateLimit (draft-ietf-httpapi-ratelimit-headers);
 * over the limit, 429 with Retry-After.
 */
export function rateLimit(limiter: AccountRateLimiter, metrics?: RateLimitMetrics): Middleware {
  return async (ctx, next) => {
    const { accountId } = ctx.state as Partial<AuthState>;
    if (accountId === undefined) throw new Error('rateLimit() must be mounted after authenticate()');
    const decision = await limiter.take(accountId);
    ctx.set(decision.headers);
    if (!decision.allowed) {
      metrics?.limited.inc({ limiter: 'account' });
      noteRefusal(ctx, 'account');
      throw new TooManyRequestsError('Rate limit exceeded for this account: try again later', decision.retryAfterSeconds);
    }
    await next();
  };
}
