// Preloaded (`node --import ./scripts/infra/lifeline.mjs …`) into each Node process that a
// launcher starts with its stdin as a pipe from the launcher. Nothing is ever written to that
// pipe: it ends when the launcher exits, however it exits (SIGKILL included), and this process
// then stops as it would on SIGTERM. So no process outlives the launcher that started it.
// Plain JavaScript, no dependencies: it loads before tsx.
import { closeSync, fstatSync, openSync } from 'node:fs';
import process from 'node:process';
import { isMainThread } from 'node:worker_threads';

// Worker threads inherit the preload (the Temporal worker runs workflows in one): only the
// process's main thread watches.
const stdin = isMainThread ? fstatSync(0) : undefined;
if (stdin?.isFIFO() || stdin?.isSocket()) {
  let fired = false;
  const stop = () => {
    if (fired) return;
    fired = true;
    detachStdout();
    process.kill(process.pid, 'SIGTERM');
  };
  process.stdin
    .on('end', stop)
    .on('error', stop)
    .on('data', () => {});
  // Watching the pipe must not keep a process alive that is done otherwise.
  process.stdin.unref();
}

/**
 * The launcher read this process's stdout; with the launcher gone every write there fails
 * (EPIPE), and pino's flush at exit retries a failed write forever (sonic-boom 4.2's flushSync
 * retries every error, not only EAGAIN): the process would never exit. So stdout goes to
 * /dev/null from here on: fd 1 is closed, and /dev/null, opened next, takes the lowest free
 * descriptor, which is 1 (0 is the lifeline).
 */
function detachStdout() {
  try {
    const stdout = fstatSync(1);
    if (!stdout.isFIFO() && !stdout.isSocket()) return;
    closeSync(1);
    const fd = openSync('/dev/null', 'w');
    if (fd !== 1) closeSync(fd);
  } catch {
    // stdout stays as it was
  }
}
