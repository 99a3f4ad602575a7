import {
  isGrpcServiceError,
  ServiceError,
  TemporalFailure,
  WorkflowFailedError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import pg from 'pg';
import type { InternalErrorCause } from './metrics.js';

/**
 * What made a request fail: the first error along its `cause` chain (outermost first) that comes
 * from PostgreSQL or from Temporal decides; anything else is 'unexpected' (a bug, or a dependency
 * failing in a way not recognised here, which is worth a look either way).
 */
export function internalErrorCause(error: unknown): InternalErrorCause {
  const seen = new Set<unknown>();
  for (let current: unknown = error; current instanceof Error && !seen.has(current); current = current.cause) {
    seen.add(current);
    if (isDatabaseError(current)) return 'database';
    if (isTemporalError(current)) return 'temporal';
  }
  return 'unexpected';
}

// Node's socket errors, as the pg driver passes them on when the server is away.
const CONNECTION_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE', 'EAI_AGAIN']);

function isDatabaseError(error: Error): boolean {
  if (error instanceof pg.DatabaseError) return true;
  // Prisma's errors (PrismaClientKnownRequestError, …InitializationError, …) and its driver adapter's.
  if (error.name.startsWith('PrismaClient') || error.name === 'DriverAdapterError') return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && CONNECTION_ERROR_CODES.has(code)) return true;
  // node-postgres' own connection failures are plain Errors.
  return /^Connection terminated|timeout exceeded when trying to connect|Query read timeout|^Client was closed/i.test(error.message);
}

function isTemporalError(error: Error): boolean {
  return (
    error instanceof ServiceError ||
    error instanceof TemporalFailure ||
    error instanceof WorkflowFailedError ||
    error instanceof WorkflowUpdateFailedError ||
    error instanceof WorkflowUpdateRPCTimeoutOrCancelledError ||
    isGrpcServiceError(error) ||
    error.name === 'TransportError' ||
    // Waited for Temporal's pace (api/placement-client.ts): Temporal is slow or away.
    error.name === 'StartNotSentError'
  );
}
