import type { ConnectionLike } from '@temporalio/client';
import proto from '@temporalio/proto';
import { ORDER_SEARCH_ATTRIBUTES } from './search-attributes.js';

const GRPC_ALREADY_EXISTS = 6;
const GRPC_UNIMPLEMENTED = 12;

/**
 * Registers the order workflows' search attributes on the namespace (the dev server gets them as
 * start flags; a cluster someone else runs gets them here). Safe to repeat and to race.
 * Only the missing ones are sent: the server logs a WARN line for each one that exists already.
 */
export async function registerSearchAttributes(connection: Pick<ConnectionLike, 'operatorService'>, namespace: string): Promise<void> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace }).then(
    ({ customAttributes }) => customAttributes,
    (error: { code?: number }) => {
      // The time-skipping test server has no list: send them all.
      if (error.code === GRPC_UNIMPLEMENTED) return {};
      throw error;
    },
  );
  const missing = ORDER_SEARCH_ATTRIBUTES.filter((key) => !(key.name in existing));
  if (missing.length === 0) return;
  const searchAttributes = Object.fromEntries(
    missing.map((key) => [key.name, proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]),
  );
  try {
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
  } catch (error) {
    if ((error as { code?: number }).code !== GRPC_ALREADY_EXISTS) throw error;
  }
}
