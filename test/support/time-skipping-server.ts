import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import getPort from 'get-port';
import { waitFor } from './wait.js';

// The Java time-skipping test server installed by `npm test` (scripts/temporal-test-server).
const TEST_SERVER = fileURLToPath(new URL('../../scripts/temporal-test-server/run.sh', import.meta.url));
// A JVM on a busy two-core machine can take many seconds to listen.
const START_TIMEOUT_MS = 120_000;

type CreateEnvironment = (options: {
  server: { type: 'existing' };
  address: string;
  namespace: string;
  supportsTimeSkipping: boolean;
}) => Promise<TestWorkflowEnvironment>;

export interface TimeSkippingServer {
  env: TestWorkflowEnvironment;
  stop(): Promise<void>;
}

/**
 * The SDK's createTimeSkipping() gives the server it starts 5 s to listen, which a busy machine
 * misses. This starts the same server the same way (the port as its only argument, as the SDK does),
 * waits as long as it needs, and builds the SDK's environment on it with time skipping on, as
 * createTimeSkipping() does once its server listens (the SDK's `create`, private in its types).
 */
export async function startTimeSkippingServer(): Promise<TimeSkippingServer> {
  const port = await getPort();
  const child: ChildProcess = spawn(TEST_SERVER, [String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit');
  // Rejects on the child's 'error' (a failed spawn); stop() awaits it and throws, but until then it
  // must not count as an unhandled rejection.
  exited.catch(() => {});
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`test server exited: ${stderr}`);
        return (await canConnect(port)) || undefined;
      },
      START_TIMEOUT_MS,
      'the time-skipping test server to listen',
    );
    const create = (TestWorkflowEnvironment as unknown as { create: CreateEnvironment }).create.bind(TestWorkflowEnvironment);
    const env = await create({
      server: { type: 'existing' },
      address: `127.0.0.1:${port}`,
      namespace: 'default',
      supportsTimeSkipping: true,
    });
    return {
      env,
      async stop() {
        await env.teardown();
        await stop();
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
