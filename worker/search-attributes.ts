import type { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { ORDER_SEARCH_ATTRIBUTES } from '../workflows/search-attributes.js';

const GRPC_ALREADY_EXISTS = 6;

/**
 * Registers the order workflows' search attributes on the namespace (the dev server gets them as
 * start flags; a cluster someone else runs gets them here). Safe to repeat and to race.
 */
export async function registerSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const searchAttributes = Object.fromEntries(
    ORDER_SEARCH_ATTRIBUTES.map((key) => [key.name, proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]),
  );
  try {
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
  } catch (error) {
    if ((error as { code?: number }).code !== GRPC_ALREADY_EXISTS) throw error;
  }
}
