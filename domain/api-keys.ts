/**
 * The API key format: `obk_<key_id>_<secret>`.
 *   obk_    a fixed, visible prefix, so that a leaked key is recognised in a log or by a
 *           repository's secret scanner (a pattern: API_KEY_PATTERN)
 *   key_id  12 characters of lowercase base32 (RFC 4648 alphabet a–z, 2–7; 60 random bits): the
 *           key's public name, stored as is, shown by `npm run keys -- list`, recorded as the actor
 *   secret  32 random bytes in base64url without padding (43 characters; it may contain `_`):
 *           only its SHA-256 is stored (prisma/api-key-secrets.ts)
 * The key is shown once, when created.
 */
export const API_KEY_PREFIX = 'obk_';
export const KEY_ID_LENGTH = 12;
export const SECRET_BYTES = 32;
export const BASE32_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

// 43 base64url characters carry 258 bits; the last one holds 2 padding bits that must be 0, so
// each 32-byte secret has exactly one spelling.
export const API_KEY_PATTERN = /^obk_([a-z2-7]{12})_([A-Za-z0-9_-]{42}[AEIMQUYcgkosw048])$/;

export interface ParsedApiKey {
  keyId: string;
  secret: string;
}

/** The key id and secret of a well-formed key, or undefined. */
export function parseApiKey(text: string): ParsedApiKey | undefined {
  const match = API_KEY_PATTERN.exec(text);
  if (!match) return undefined;
  return { keyId: match[1]!, secret: match[2]! };
}

export function formatApiKey(keyId: string, secret: string): string {
  return `${API_KEY_PREFIX}${keyId}_${secret}`;
}

export function isKeyId(text: string): boolean {
  return /^[a-z2-7]{12}$/.test(text);
}
