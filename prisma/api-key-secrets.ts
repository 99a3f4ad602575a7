// Beside the repository that stores keys: the stored form of a secret (api_keys.secret_hash) is
// the repository's, and the API's check reads it from here, downward, as the repository does.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { BASE32_ALPHABET, formatApiKey, KEY_ID_LENGTH, SECRET_BYTES } from '../domain/api-keys.js';

/** SHA-256 (hex) of a key's secret part, as api_keys.secret_hash stores it. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/**
 * Whether `secret` hashes to `storedHash`, compared in constant time. The secret has 256 random
 * bits, so a fast hash is enough: nobody can guess it, only steal it.
 */
export function secretMatches(secret: string, storedHash: string): boolean {
  const expected = Buffer.from(storedHash, 'hex');
  const actual = createHash('sha256').update(secret, 'utf8').digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

export interface NewApiKey {
  keyId: string;
  secret: string;
  /** The whole key, to be shown once. */
  apiKey: string;
  secretHash: string;
}

export function generateApiKey(): NewApiKey {
  // 256 % 32 === 0: each byte maps to one base32 character without bias.
  const keyId = Array.from(randomBytes(KEY_ID_LENGTH), (byte) => BASE32_ALPHABET[byte % 32]).join('');
  const secret = randomBytes(SECRET_BYTES).toString('base64url');
  return { keyId, secret, apiKey: formatApiKey(keyId, secret), secretHash: hashSecret(secret) };
}
