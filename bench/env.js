// What the figures were measured on: the header of every report.
import os from 'node:os';
import v8 from 'node:v8';
import { readFileSync } from 'node:fs';
import { relaxedSimdSupported, simdSupported } from './peak.js';

/**
 * Node 20 accepts relaxed SIMD only behind a V8 flag (on by default from Node 22 and in Chromium);
 * sn.ready() sets it before loading its relaxed build, and the peak loop needs it as well, before
 * anything is compiled. `plain` keeps the engine as started. Returns whether relaxed SIMD is
 * accepted by default and now.
 */
export function enableRelaxedSimd(plain) {
  const before = relaxedSimdSupported();
  if (!plain && !before) v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  return { byDefault: before, now: relaxedSimdSupported() };
}

function cpuModel() {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('model name'));
    if (line) return line.split(':')[1].trim();
  } catch { /* not Linux */ }
  return os.cpus()[0]?.model ?? 'unknown';
}

/**
 * Each CPU's stolen and total time so far, in clock ticks, from /proc/stat (Linux; null
 * elsewhere). A VM's steal time is time its vCPUs were ready to run while the hypervisor ran
 * something else: on these machines it slows one thread of a split now and then, and the other
 * waits for it.
 */
export function cpuTimes() {
  try {
    return readFileSync('/proc/stat', 'utf8').split('\n').filter((l) => /^cpu\d+ /.test(l)).map((l) => {
      // user nice system idle iowait irq softirq steal
      const v = l.trim().split(/\s+/).slice(1, 9).map(Number);
      return { steal: v[7] ?? 0, total: v.reduce((a, b) => a + b, 0) };
    });
  } catch { return null; }
}

/** Each CPU's share of its time stolen between two cpuTimes() readings, or null without both. */
export function stealBetween(before, after) {
  if (!before || !after || before.length !== after.length) return null;
  return before.map((b, i) => {
    const total = after[i].total - b.total;
    return total > 0 ? (after[i].steal - b.steal) / total : 0;
  });
}

/** Date, runtime, CPU and wasm features, for the header and the JSON. */
export function machine(relaxed, simdnetRuntime) {
  return {
    date: new Date().toISOString(),
    node: process.version,
    v8: process.versions.v8,
    platform: `${os.platform()} ${os.arch()}`,
    cpu: cpuModel(),
    cores: os.cpus().length,
    threads: 1,
    loadAverage: os.loadavg(),
    wasmSimd: simdSupported(),
    relaxedSimd: relaxed,
    simdnetBuild: simdnetRuntime.relaxedSimd ? 'simdnet-relaxed.wasm (SIMD + relaxed SIMD FMA)' : 'simdnet.wasm (SIMD)',
  };
}
