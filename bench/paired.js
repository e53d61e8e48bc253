// Paired rounds for the speed targets: simdnet's training step and PyTorch's, timed one right
// after the other, round after round, each round's ratio taken from its own pair. On a VM whose
// speed drifts by minutes (a 512³ GEMM at 22–37 GFLOP/s from one run to the next within an hour;
// two run side by side, one on each vCPU, at 24 and 37), two figures taken minutes apart can pair
// a slow spell of one with a fast spell of the other: ConvNetJS's net measured ×0.72 of PyTorch in
// one run against ×1.38–1.39 in the runs before and after it, simdnet at 1,217 img/s against
// 1,655–1,791.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { summarize } from './stats.js';

const SCRIPT = fileURLToPath(new URL('./pytorch.py', import.meta.url));

/**
 * A child process that answers line for line: spawn(command, args) with `env` (or this one's).
 * { next() → Promise of its next line of output, rejected with an Error once it failed to start
 * (`${label}: …`, label the command unless given) or exited (`${name} exited with …`, the last
 * lines of its stderr); send(line), which writes nothing once it failed; close() }.
 */
export function lineProcess(command, args, { env, name, label = command }) {
  const child = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const waiting = [];
  let failed = null, err = '';
  const fail = (message) => {
    failed ??= new Error(message);
    while (waiting.length) waiting.shift().reject(failed);
  };
  createInterface({ input: child.stdout }).on('line', (line) => waiting.shift()?.resolve(line));
  child.stderr.on('data', (d) => { err += d; });
  // A line written after it exited but before 'close' fails with EPIPE; 'close' then says why it
  // exited. Without a handler the write's error would end this process.
  child.stdin.on('error', (e) => { if (e.code !== 'EPIPE') fail(`${label}: writing to it: ${e.message}`); });
  child.on('error', (e) => fail(`${label}: ${e.message}`));
  child.on('close', (code) => fail(`${name} exited with ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`));
  return {
    next: () => new Promise((resolve, reject) => (failed ? reject(failed) : waiting.push({ resolve, reject }))),
    send: (line) => { if (!failed) child.stdin.write(`${line}\n`); },
    close: () => child.stdin.end(),
  };
}

/**
 * bench/pytorch.py --serve on `threads` threads (torch's and the OpenMP/BLAS pools alike):
 * { ask(request) → Promise of { ms } or { error }, close() }. Requests are answered in order,
 * one line each.
 */
export function pytorchServer(python, threads = 1) {
  const n = String(threads);
  const env = { ...process.env, OMP_NUM_THREADS: n, MKL_NUM_THREADS: n, OPENBLAS_NUM_THREADS: n };
  const child = lineProcess(python, [SCRIPT, '--serve', '--threads', n], { env, name: 'bench/pytorch.py --serve' });
  return {
    ask: async (request) => {
      const answer = child.next();
      child.send(JSON.stringify(request));
      let line;
      try {
        line = await answer;
      } catch (e) {
        return { error: e.message };
      }
      try { return JSON.parse(line); } catch { return { error: `bench/pytorch.py --serve printed: ${line.slice(0, 200)}` }; }
    },
    close: child.close,
  };
}

/**
 * Untimed calls of a simdnet step before its figures: the JIT's warm-up, the layers' buffers and
 * scratch, and on several threads the workers' start.
 */
export const WARMUP_STEPS = 10;

/**
 * A simdnet sample of `step`: after WARMUP_STEPS untimed calls, a function that runs it as often
 * as fills `minMs` (the count found once) and returns ms per call, by the clock `now` (ms).
 */
export function stepSampler(step, { minMs, now = () => performance.now() }) {
  for (let i = 0; i < WARMUP_STEPS; i++) step();
  const t = now();
  step();
  const reps = Math.max(1, Math.ceil(minMs / Math.max(now() - t, 1e-3)));
  return () => {
    const t0 = now();
    for (let i = 0; i < reps; i++) step();
    return (now() - t0) / reps;
  };
}

/**
 * How long (ms) the machine is left idle before each sample of a pair: a PyTorch on 2 threads
 * leaves its OpenMP and OpenBLAS threads spinning for tens of ms after it answers. The VGG-style
 * net's step on simdnet's 2 threads, ~60 ms, took 79–102 ms when it started right after PyTorch's
 * 2-thread sample (4 tries), 62–79 after 50 ms idle, 61–66 after 100 ms, 62–65 after 200 ms; in
 * paired rounds with 200 ms samples, simdnet's samples right after PyTorch's read 73–78 ms a step
 * against 59–67 for the others.
 */
export const SETTLE_MS = 200;

const idle = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Times one case in `rounds` rounds, after one untimed PyTorch sample: a simdnet sample
 * (case.sample, or stepSampler of case.step) and a PyTorch sample (`ask(case.pytorch)` with minMs:
 * the same), in turn, simdnet first in even rounds and PyTorch first in odd ones, each after
 * `pause(settleMs)` (SETTLE_MS idle). Returns
 * { batch, train (simdnet's img/s over PyTorch's: each round's PyTorch ms over its simdnet ms;
 * median and min–max over the rounds), simdnetMs, pytorchMs (ms per step), rounds }, or { batch,
 * error } when PyTorch answered one.
 */
export async function pairedRounds(c, { ask, rounds = 7, minMs = 200, now, settleMs = SETTLE_MS, pause = idle }) {
  // Untimed first: the servers' start (importing torch takes seconds of CPU, which a simdnet sample
  // beside it shared: LeNet-5's first sample on 2 threads read 7.6–7.9 ms a step against 2.3–3.6
  // for the others) and their first build of the net.
  const warm = await ask({ ...c.pytorch, minMs });
  if (warm.error) return { batch: c.batch, error: warm.error };
  const sample = c.sample ?? stepSampler(c.step, { minMs, now });
  const mine = [], theirs = [];
  const simdnet = async () => {
    await pause(settleMs);
    mine.push(sample());
  };
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) await simdnet();
    await pause(settleMs);
    const answer = await ask({ ...c.pytorch, minMs });
    if (answer.error) return { batch: c.batch, error: answer.error };
    theirs.push(answer.ms);
    if (r % 2 === 1) await simdnet();
  }
  return {
    batch: c.batch, rounds,
    train: summarize(theirs.map((ms, r) => ms / mine[r])),
    simdnetMs: summarize(mine), pytorchMs: summarize(theirs),
  };
}

/**
 * An ask (pairedRounds) answered by the fastest of several servers (PyTorch at each thread
 * count), each asked in turn, after `pause(settleMs)` from the second on: PyTorch's best in that
 * round.
 */
export function bestOf(servers, { settleMs = SETTLE_MS, pause = idle } = {}) {
  return async (request) => {
    let best = null;
    for (const [i, s] of servers.entries()) {
      if (i > 0) await pause(settleMs);
      const answer = await s.ask(request);
      if (answer.error) return answer;
      if (best === null || answer.ms < best.ms) best = answer;
    }
    return best;
  };
}
