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
