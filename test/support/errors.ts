import { expect } from 'vitest';

/** What `run` rejected with, checked to be a `type` (the test fails if `run` resolved). */
export async function rejectionOf<T>(run: Promise<unknown>, type: new (...args: never[]) => T): Promise<T> {
  const error = await run.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(type);
  return error as T;
}
