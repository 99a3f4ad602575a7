// `node --import ./scripts/infra/lifeline.mjs scripts/infra/guard.mjs <program> [args…]`: the
// lifeline (lifeline.mjs) for a program that cannot preload it, such as the Temporal CLI (a Go
// binary). Runs the program in this process's group, passes SIGINT/SIGTERM/SIGHUP on to it, and
// exits as it exits; when the lifeline ends (the launcher is gone) the program gets SIGTERM, and
// SIGKILL if it is still running 15 s later. Plain JavaScript, no dependencies.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';

const [program, ...args] = process.argv.slice(2);
if (!program) {
  process.stderr.write('usage: guard.mjs <program> [args…]\n');
  process.exit(2);
}
const child = spawn(program, args, { stdio: ['ignore', 'inherit', 'inherit'] });
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    child.kill(signal);
    setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
  });
}
child.on('error', (error) => {
  process.stderr.write(`${program}: ${error.message}\n`);
  process.exit(127);
});
child.on('exit', (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 0)));
