/**
 * Reads another process's CPU time and memory from /proc (Linux), so the IdP needs no
 * metrics code and the load driver's own work is never counted as the IdP's.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

export interface ProcSample {
  /** user + system CPU time of every thread of the process, ms. */
  cpuMs: number;
  rssKb: number;
}

/** utime and stime are fields 14 and 15; the command name (field 2) may hold spaces, so count from its closing parenthesis. */
export function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / clockTicks();
}

export function rssKbOf(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) : 0;
}

export function sample(pid: number): ProcSample {
  return { cpuMs: cpuMsOf(pid), rssKb: rssKbOf(pid) };
}

/** Samples RSS every `intervalMs` while running, to report the peak of a measurement window. */
export class RssWatcher {
  readonly #pid: number;
  readonly #timer: NodeJS.Timeout;
  peakKb = 0;

  constructor(pid: number, intervalMs = 250) {
    this.#pid = pid;
    this.#poll();
    this.#timer = setInterval(() => this.#poll(), intervalMs);
    this.#timer.unref();
  }

  #poll(): void {
    try {
      this.peakKb = Math.max(this.peakKb, rssKbOf(this.#pid));
    } catch {
      /* the process is gone (the kill -9 check) */
    }
  }

  stop(): number {
    clearInterval(this.#timer);
    this.#poll();
    return this.peakKb;
  }
}
