// Where a process's CPU went, from a V8 CPU profile (`node --cpu-prof`, BENCH_CPU_PROFILE_DIR):
// self time summed per package (or the project's top folder, or Node's internals) and per
// function, optionally only within a window of the profile's timeline (to leave start-up out).
//   node --import tsx bench/cpuprofile-summary.ts FILE.cpuprofile [--from-s 10] [--to-s 60] [--top 40]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { 'from-s': { type: 'string', default: '0' }, 'to-s': { type: 'string' }, top: { type: 'string', default: '40' } },
});
const file = positionals[0];
if (!file) throw new Error('usage: cpuprofile-summary.ts FILE.cpuprofile [--from-s S] [--to-s S] [--top N]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
const fromUs = Number(values['from-s']) * 1e6;
const toUs = values['to-s'] === undefined ? Number.POSITIVE_INFINITY : Number(values['to-s']) * 1e6;
const top = Number(values.top);

/** The package a frame belongs to: node_modules' package, the project's top folder, or what V8 calls it. */
function packageOf(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native)';
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1]!;
  if (url.startsWith('node:')) return 'node:internals';
  if (/workflow-bundle|\/workflows?\//.test(url)) return `workflow bundle (${url.split('/').at(-1)})`;
  const project =
    /\/(api|worker|workflows|activities|ingest|temporal|metrics|lifecycle|domain|config|prisma|exchange|bench|scripts)\//.exec(url);
  return project ? `project ${project[1]}/` : url;
}

const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parentOf = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
const selfUs = new Map<number, number>();
let at = 0;
let windowUs = 0;
for (let i = 0; i < profile.samples.length; i += 1) {
  at += profile.timeDeltas[i] ?? 0;
  if (at < fromUs || at > toUs) continue;
  // The sample's time is the gap to the next one (V8's convention in DevTools).
  const us = profile.timeDeltas[i + 1] ?? 0;
  const id = profile.samples[i]!;
  selfUs.set(id, (selfUs.get(id) ?? 0) + us);
  windowUs += us;
}
const frameKey = ({ functionName, url, lineNumber }: ProfileNode['callFrame']) =>
  `${functionName || '(anonymous)'} ${url ? `${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(?=[^/]+\/[^/]+$)/, '')}:${lineNumber + 1}` : ''}`;
const perPackage = new Map<string, number>();
// Total (inclusive) time: each function on a sample's stack counts the sample once.
const inclusive = new Map<string, number>();
const perFunction = new Map<string, number>();
let idleUs = 0;
for (const [id, us] of selfUs) {
  const { functionName, url } = byId.get(id)!.callFrame;
  if (functionName === '(idle)') {
    idleUs += us;
    continue;
  }
  const pkg = packageOf(url, functionName);
  perPackage.set(pkg, (perPackage.get(pkg) ?? 0) + us);
  const key = frameKey(byId.get(id)!.callFrame);
  const onStack = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) onStack.add(frameKey(byId.get(at)!.callFrame));
  for (const name of onStack) inclusive.set(name, (inclusive.get(name) ?? 0) + us);
  perFunction.set(key, (perFunction.get(key) ?? 0) + us);
}
const busyUs = windowUs - idleUs;
const table = (title: string, map: Map<string, number>) => {
  process.stdout.write(`\n${title} (self time, % of busy)\n`);
  for (const [key, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`${((100 * us) / busyUs).toFixed(1).padStart(6)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${key}\n`);
  }
};
process.stdout.write(
  `${file}: window ${(windowUs / 1e6).toFixed(1)} s of ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s, ` +
    `busy ${(busyUs / 1e6).toFixed(2)} s (${((100 * busyUs) / windowUs).toFixed(0)}% of the window, main thread)\n`,
);
table('per package', perPackage);
table('per function', perFunction);
if (process.env.INCLUSIVE) table('per function, total (inclusive)', inclusive);
