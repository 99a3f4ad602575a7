import type pg from 'pg';

/**
 * Runs `work` in one transaction, on a client of its own from the pool. The connection may die
 * while the client is out (the server restarts; a new holder of the session ends the backends
 * of one that stopped: ingest/leadership.ts). pg then emits 'error' on the client, which the
 * pool listens to only while the client is idle in it, and an 'error' with no listener ends the
 * process: so the client has one for as long as it is out. The failure reaches `work` through
 * its next query, and a client that failed is discarded, not handed out again.
 */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (error: Error) => {
    broken ??= error;
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: unknown) => {
      broken ??= rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    });
    throw error;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}
