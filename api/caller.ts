import type { Context } from 'koa';
import { DEMO_ACCOUNT_ID } from '../domain/accounts.js';
import type { AuthState } from './auth.js';

/** Who makes the request (api/auth.ts puts it on ctx.state); the demo account where nothing authenticated it. */
export function callerOf(ctx: Context): AuthState {
  const state = ctx.state as Partial<AuthState>;
  return { accountId: state.accountId ?? DEMO_ACCOUNT_ID, keyId: state.keyId ?? null };
}
