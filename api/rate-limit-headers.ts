// The RateLimit and RateLimit-Policy headers' format (draft-ietf-httpapi-ratelimit-headers),
// written the same way by both limiters.

/** Whole seconds, rounded up: the headers count no fractions. */
export const seconds = (ms: number) => Math.max(0, Math.ceil(ms / 1000));

/** A policy's name as the headers carry it (a structured-field string). */
export function quoted(name: string): string {
  return `"${name}"`;
}
