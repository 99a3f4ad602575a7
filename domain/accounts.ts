/**
 * Accounts: every order belongs to one. The demo account is the owner of requests without a key
 * where AUTH_REQUIRED=false (the local demo of `npm start`) and of every order stored before
 * accounts existed; migration 20261202010000_accounts creates it with this id.
 */
export const DEMO_ACCOUNT_ID = '00000000-0000-4000-8000-00000000de00';
export const DEMO_ACCOUNT_NAME = 'demo';

/** What order_events.actor records when no client's key caused a status change. */
export const SYSTEM_ACTOR = 'system';

/** An account's name: 1–100 characters (the column's width) of letters, digits, `.`, `_`, `-`, `@`. */
export const ACCOUNT_NAME_PATTERN = /^[A-Za-z0-9._@-]{1,100}$/;

export function isAccountName(text: string): boolean {
  return ACCOUNT_NAME_PATTERN.test(text);
}
