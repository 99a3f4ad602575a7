// What the benchmark reads from /proc (Linux): resident memory and CPU time of processes, and
// how busy the whole machine was, so each figure can be read against what else was running.
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

const CLOCK_TICKS_PER_S = 100; // USER_HZ: 100 on every Linux the project runs on

/** Resident set size in bytes, or null once the process is gone. */
export function rssBytes(pid: number): number | null {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

interface ProcStat {
  ppid: number;
  /** user + system CPU seconds of the process itself, and of its children that were waited for. */
  cpuS: number;
  childrenCpuS: number;
}

function procStat(pid: number): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces; fields after it are plain.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const num = (i: number) => Number(fields[i - 3]);
    return { ppid: num(4), cpuS: (num(14) + num(15)) / CLOCK_TICKS_PER_S, childrenCpuS: (num(16) + num(17)) / CLOCK_TICKS_PER_S };
  } catch {
    return null;
  }
}

/** CPU seconds (user + system) a process used so far, its own only; null once it is gone. */
export function cpuSeconds(pid: number): number | null {
  return procStat(pid)?.cpuS ?? null;
}

function allPids(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
}

/** The process and all its descendants. */
export function processTree(root: number): number[] {
  const parents = new Map<number, number[]>();
  for (const pid of allPids()) {
    const stat = procStat(pid);
    if (!stat) continue;
    const siblings = parents.get(stat.ppid) ?? [];
    siblings.push(pid);
    parents.set(stat.ppid, siblings);
  }
  const tree: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    tree.push(pid);
    queue.push(...(parents.get(pid) ?? []));
  }
  return tree;
}

/**
 * CPU seconds used so far by a process tree: each live process's own time, plus the time of
 * children that already exited (counted in their parent). Differences between two readings give
 * the CPU a phase used.
 */
export function treeCpuSeconds(root: number): number {
  let total = 0;
  for (const pid of processTree(root)) {
    const stat = procStat(pid);
    if (stat) total += stat.cpuS + stat.childrenCpuS;
  }
  return total;
}

/** The first process whose command line contains every one of `parts`, or null. */
export function findProcess(parts: string[]): number | null {
  for (const pid of allPids()) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (parts.every((part) => cmdline.includes(part))) return pid;
    } catch {
      // gone meanwhile
    }
  }
  return null;
}

/** Busy and total CPU time of the whole machine, in seconds (from /proc/stat). */
export function machineCpu(): { busyS: number; totalS: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const total = values.reduce((sum, value) => sum + value, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0); // idle + iowait
  return { busyS: (total - idle) / CLOCK_TICKS_PER_S, totalS: total / CLOCK_TICKS_PER_S };
}

export function loadAverage(): string {
  return os
    .loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');
}

/**
 * Connections the kernel dropped because a listening socket's accept queue was full, machine
 * wide (TcpExt ListenOverflows in /proc/net/netstat); null where that file is missing. A dropped
 * SYN is retried by the client after 1 s, then 3 s, 7 s…: a burst's latency includes that wait.
 */
export function listenOverflows(): number | null {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
    for (let i = 0; i + 1 < lines.length; i += 2) {
      const names = lines[i]!.trim().split(/\s+/);
      const values = lines[i + 1]!.trim().split(/\s+/);
      if (names[0] !== 'TcpExt:') continue;
      const at = names.indexOf('ListenOverflows');
      return at > 0 ? Number(values[at]) : null;
    }
  } catch {
    // not Linux
  }
  return null;
}
