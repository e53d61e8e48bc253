// The threads column: every network of the shape zoo trained at 1, 2 and all threads
// (sn.setNumThreads), and a 512³ GEMM split by row panels over the thread pool. The thread counts
// are timed alternately, sample by sample, in one process, so a change of load on a shared machine
// falls on all of them alike; each ratio is to 1 thread in the same run. Beside them: the cost of
// a hand-off, each network in separate single-thread processes (bench/threads-apart.js), what
// the machine gives to work that shares nothing, and each network with another process keeping a
// core busy.
import { spawn } from 'node:child_process';
import { availableParallelism, getPriority, setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as sn from 'simdnet';
import { rt, Block, f32, gemmScratch } from 'simdnet/internal';
import { ZOO_NETS } from './nets.js';
import { summarize } from './stats.js';
import { runPytorchThreads } from './pytorch.js';
import { bestOf, lineProcess, pairedRounds, pytorchServer, WARMUP_STEPS } from './paired.js';
import { cpuTimes, stealBetween } from './env.js';

/** The thread counts timed: 1, 2 and all the cores (at most 8, ready()'s default), each once. */
export function threadCounts() {
  return [...new Set([1, 2, Math.max(1, Math.min(8, availableParallelism()))])];
}

/**
 * How long (ms) each thread count of a network runs untimed before its samples: V8 optimizes the
 * step's JavaScript on threads of its own, which on several threads find no core free and take
 * turns with the calling thread and the workers. LeNet-5 at batch 64 on 2 threads, ms per step in
 * blocks of 50 steps from the start, after 600 steps on one thread: 3.35 2.92 2.97 3.13 2.81 2.66
 * 2.62 2.83 2.59 3.17 3.06 2.70 2.37 2.49 2.70 2.40 (on one thread from the start: 4.73 4.29
 * 4.17, then 4.01–4.14). Over its first ~2 s on 2 threads V8's compiler threads ran 50–90 ms of
 * every 250 ms (perf sched), the calling thread took back 119–185 of a block's 800 split calls
 * that the worker had not started in the first four blocks (1–89 in the last five), and 2
 * threads ÷ 1 read ×1.30–1.40 in blocks of 60 steps alternating with one thread, ×1.48–1.77
 * after. The VGG-style net settled after its first 5 steps.
 */
export const WARMUP_MS = 3000;

/**
 * Runs `step(threads)` for each count in turn, `samples` rounds (after a warm-up round of
 * `warmup` calls each, and each at least `warmupMs` ms), and returns per count the summary of ms
 * per call, each sample the mean of `reps` calls, and on several threads the balance of the
 * split calls over the samples (poolBalance).
 */
async function alternate(counts, step, { samples, reps, warmup = reps, warmupMs = 0 }) {
  const times = new Map(counts.map((t) => [t, []]));
  const balance = new Map(counts.map((t) => [t, { ms: 0, waitMs: 0, runs: 0, workersFirst: 0 }]));
  for (let s = -1; s < samples; s++) {
    for (const t of counts) {
      await sn.ready({ threads: t });
      const before = poolCounters(), start = performance.now();
      for (let r = 0; s < 0 ? r < warmup || performance.now() - start < warmupMs : r < reps; r++) step(t);
      if (s < 0) continue;
      const ms = performance.now() - start, after = poolCounters(), b = balance.get(t);
      times.get(t).push(ms / reps);
      b.ms += ms;
      for (const k of ['waitMs', 'runs', 'workersFirst']) b[k] += after[k] - before[k];
    }
  }
  return counts.map((t) => ({ threads: t, ms: summarize(times.get(t)), ...(t > 1 ? { balance: poolBalance(balance.get(t)) } : {}) }));
}

/** The thread pool's counters of split calls (ThreadPool's runs, waitMs, workersFirst), zeros without one. */
function poolCounters() {
  const pool = rt().pool;
  return { waitMs: pool?.waitMs ?? 0, runs: pool?.runs ?? 0, workersFirst: pool?.workersFirst ?? 0 };
}

/**
 * How evenly the split calls of some timed steps ended: `waitShare`, the share of their time the
 * calling thread spent waiting for the workers' shares after its own was done, and
 * `workersFirst`, the share of the split calls whose workers were all done before it (whose
 * waits for the calling thread are not counted). Where a call gives each thread a fixed share,
 * what a thread waits for another is time that smaller shares, each taken by whichever thread is
 * free, could give back; in units (ThreadPool.runUnits), the tail of the last ones. Null without
 * split calls.
 */
export function poolBalance({ ms, waitMs, runs, workersFirst }) {
  return runs > 0 && ms > 0 ? { waitShare: waitMs / ms, workersFirst: workersFirst / runs, calls: runs } : null;
}

/** Adds img/s (or GFLOP/s) and the ratio to 1 thread to each of alternate()'s rows. */
function withRatios(rows, perMs) {
  const one = rows.find((r) => r.threads === 1).ms.median;
  return rows.map((r) => ({ ...r, rate: perMs / r.ms.median, ratio: one / r.ms.median }));
}

/** Steps of a sample: at least `reps`, and as many as fill `minMs` on one thread (after WARMUP_STEPS untimed). */
async function stepsPerSample(step, { reps, minMs }) {
  await sn.ready({ threads: 1 });
  for (let i = 0; i < WARMUP_STEPS; i++) step();
  const t = performance.now();
  step();
  return Math.max(reps, Math.ceil(minMs / (performance.now() - t)));
}

/**
 * One network's training step (SGD with momentum, cross-entropy) at each thread count, each
 * sample at least `timing.minMs` of steps (the count found once, on one thread). Samples of two
 * LeNet-5 steps (~14 ms) gave its 2 threads ÷ 1 ×0.87–1.21 in four runs in a row on this VM,
 * samples of 200 ms ×0.88–0.92 in the three after.
 */
async function netThreads(key, batch, counts, timing) {
  const stepper = netStepper(key, batch);
  try {
    const reps = await stepsPerSample(stepper.step, timing);
    const rows = await alternate(counts, stepper.step, { ...timing, reps, warmup: WARMUP_STEPS });
    return { key, label: ZOO_NETS[key].label, batch, rows: withRatios(rows, batch * 1000) };
  } finally {
    stepper.dispose();
  }
}

/** netThreads' training step of ZOO_NETS[key] on one fixed batch, its model built once: { step, dispose }. */
export function netStepper(key, batch) {
  const net = ZOO_NETS[key];
  sn.manualSeed(0);
  const model = net.build();
  const opt = new sn.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  const lossFn = new sn.CrossEntropyLoss();
  const n = batch * net.input.reduce((a, b) => a * b, 1);
  const x = sn.tensor(Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37)), [batch, ...net.input]);
  const labels = Int32Array.from({ length: batch }, (_, i) => i % 10);
  model.train();
  return {
    step: () => {
      lossFn.forward(model.forward(x), labels).backward();
      opt.step();
      opt.zeroGrad();
    },
    dispose: () => {
      opt.dispose();
      model.dispose();
    },
  };
}

/**
 * Each network's simdnet on all threads against PyTorch's best thread count, in paired rounds
 * (bench/paired.js): simdnet's step, then PyTorch's at each count (a server per count), 7 rounds,
 * each round's ratio of simdnet's img/s to the fastest PyTorch of that round. Sets n.vsPytorchBest
 * (the median), n.vsPytorchBestPaired (its summary) and n.pairedMs (each side's ms per step),
 * which the figures timed minutes apart (PyTorch after all of simdnet's) gave before.
 */
async function pairBest(out, { python, counts, batch, progress }) {
  const servers = counts.map((t) => pytorchServer(python, t));
  try {
    for (const n of out.nets) {
      progress(`threads: paired rounds with PyTorch, ${n.label}`);
      await sn.ready({ threads: counts.at(-1) });
      const stepper = netStepper(n.key, batch);
      try {
        const paired = await pairedRounds({ batch, step: stepper.step, pytorch: { net: n.key, batch } }, { ask: bestOf(servers) });
        if (paired.train) {
          n.vsPytorchBest = paired.train.median;
          n.vsPytorchBestPaired = paired.train;
          n.pairedMs = { simdnet: paired.simdnetMs, pytorch: paired.pytorchMs };
        }
      } finally {
        stepper.dispose();
      }
    }
  } finally {
    for (const s of servers) s.close();
    await sn.ready({ threads: 1 });
  }
}

/**
 * C = A·B at 512³ with C's rows split into one panel per thread (multiples of 8 rows), each
 * panel's GEMM on its own thread with its own packing scratch: what the thread pool gives a GEMM
 * split by panels (the library's gemm() itself runs on one thread).
 */
async function gemmThreads(counts, timing) {
  const M = 512, N = 512, K = 512;
  const blocks = [M * K, K * N, M * N].map((size, i) => {
    const b = new Block(size * 4);
    const v = f32(b.ptr, size);
    for (let j = 0; j < size; j++) v[j] = Math.sin(j * 0.1 + i);
    return b;
  });
  const [A, B, C] = blocks.map((b) => b.ptr);
  try {
    const rows = await alternate(counts, (threads) => {
      const { pool, kernels } = rt();
      const panels = [];
      for (let t = 0, start = 0; t < threads; t++) {
        const end = t === threads - 1 ? M : Math.min(M, start + Math.ceil(M / threads / 8) * 8);
        panels.push({ kernel: 'gemm', args: [0, 0, end - start, N, K, A + start * K * 4, K, B, N, C + start * N * 4, N, 0, gemmScratch(t)] });
        start = end;
      }
      if (threads === 1 || !pool || pool.size < threads) for (const p of panels) kernels.gemm(...p.args);
      else pool.run(panels);
    }, timing);
    return withRatios(rows, (2 * M * N * K) / 1e6);
  } finally {
    for (const b of blocks) b.free();
  }
}

/**
 * ZOO_NETS[key]'s training step at `batch` while another process keeps one core busy (a loop in a
 * child process at this one's priority, as another program on a user's machine), on 1 thread and
 * on `threads`, timed alternately as alternate() does, stepsPerSample's steps a sample, after
 * WARMUP_STEPS untimed steps each; { threads, ratio }: the ratio of the medians, `threads` over 1.
 */
async function busyThreads(key, batch, threads, timing) {
  // It leaves when this process does, whatever ends it.
  const busy = spawn(process.execPath, ['-e', 'const p = process.ppid; for (let i = 0; ; i++) if ((i & 0xffffff) === 0 && process.ppid !== p) break;'], { stdio: 'ignore' });
  try { setPriority(busy.pid, getPriority()); } catch { /* a lower priority than ours: left as it is */ }
  const stepper = netStepper(key, batch);
  const modes = [1, threads], times = modes.map(() => []);
  try {
    const reps = await stepsPerSample(stepper.step, timing);
    for (let s = -1; s < timing.samples; s++) {
      for (const [i, t] of modes.entries()) {
        await sn.ready({ threads: t });
        const start = performance.now(), n = s < 0 ? WARMUP_STEPS : reps;
        for (let r = 0; r < n; r++) stepper.step();
        if (s >= 0) times[i].push((performance.now() - start) / reps);
      }
    }
  } finally {
    busy.kill();
    stepper.dispose();
  }
  const [one, many] = times.map((v) => summarize(v).median);
  return { threads, ratio: one / many };
}

const APART_SCRIPT = fileURLToPath(new URL('./threads-apart.js', import.meta.url));

/**
 * bench/threads-apart.js for ZOO_NETS[key] at `batch`, started and warmed up: { run(ms) → Promise
 * of its img/s over about ms of steps, close() }. Rejects when it fails.
 */
async function apartProcess(key, batch) {
  const child = lineProcess(process.execPath, [APART_SCRIPT, key, String(batch)], { name: `bench/threads-apart.js ${key} ${batch}`, label: 'bench/threads-apart.js' });
  const ready = await child.next();
  if (ready !== 'ready') throw new Error(`bench/threads-apart.js printed: ${ready.slice(0, 200)}`);
  return {
    run: async (ms) => {
      const answer = child.next();
      child.send(String(ms));
      return JSON.parse(await answer).imgPerSec;
    },
    close: child.close,
  };
}

/**
 * What the machine gives to independent work: ZOO_NETS[key]'s training step on one thread in
 * `procs` processes of their own at once, each at batch / procs (no shared memory, no hand-offs),
 * their img/s summed, over one such process at `batch` alone; in `rounds` rounds, each taking the
 * two in turn for `ms` each. A ceiling for simdnet's own `procs` threads at `batch` there.
 */
async function apartCeiling(key, batch, procs, { rounds, ms }) {
  const part = Math.floor(batch / procs);
  const one = await apartProcess(key, batch);
  const many = [];
  try {
    for (let i = 0; i < procs; i++) many.push(await apartProcess(key, part));
    const ratios = [];
    for (let r = 0; r < rounds; r++) {
      const alone = await one.run(ms);
      const together = (await Promise.all(many.map((p) => p.run(ms)))).reduce((a, b) => a + b, 0);
      ratios.push(together / alone);
    }
    return { procs, batch: part, ratio: summarize(ratios) };
  } finally {
    one.close();
    for (const p of many) p.close();
  }
}

/**
 * What a hand-off costs: pool.run of an empty task (fill of 0 floats) on every thread of the pool
 * at `threads`, `calls` times, each after `gapMs` of the calling thread's own work (as a training
 * step's own JS and unsplit passes come between its split ones): µs a call, its median, 90th and
 * 99th percentiles and longest. Null without workers.
 */
async function handOffs(threads, { calls, gapMs = 0.1 }) {
  await sn.ready({ threads });
  const { pool } = rt();
  if (!pool || pool.size < 2) return null;
  const tasks = Array.from({ length: pool.size }, () => ({ kernel: 'fill', args: [0, 0, 0] }));
  const us = [];
  for (let i = 0; i < calls; i++) {
    const until = performance.now() + gapMs;
    while (performance.now() < until);
    const start = performance.now();
    pool.run(tasks);
    us.push((performance.now() - start) * 1000);
  }
  us.sort((a, b) => a - b);
  const at = (q) => us[Math.min(calls - 1, Math.floor(q * calls))];
  return { threads: pool.size, calls, gapMs, median: at(0.5), p90: at(0.9), p99: at(0.99), max: us[calls - 1] };
}

/**
 * The threads section: { counts, warmupMs (each network's untimed run at each count), nets: [{ key,
 * label, batch, rows, apart, pytorch? }], gemm: rows,
 * handOff (handOffs' figures at the most threads, or null), pytorch: { label } | { label, error } },
 * each row { threads, ms, rate (img/s, GFLOP/s for the GEMM), ratio to 1 thread }; a network's
 * `apart` is apartCeiling's { procs, batch, ratio } for the most threads (null on one core), and its
 * `pytorch` is PyTorch's [{ threads, rate } | { threads, error }] on the same thread counts
 * (bench/pytorch.py, after simdnet's), and `vsPytorchBest` simdnet's img/s on all threads (its
 * default) over PyTorch's best: from paired rounds (pairBest, its summary in `vsPytorchBestPaired`,
 * the rounds' ms per step in `pairedMs`: { simdnet, pytorch }),
 * else (PyTorch failed in them) from those figures. `steal` is each CPU's share of its time stolen by
 * the hypervisor while simdnet's figures were taken (stealBetween), or null off Linux. A network's
 * `busy` is busyThreads' { threads, ratio } with a core kept busy (null on one core).
 */
export async function measureThreads({ quick = false, nets = Object.keys(ZOO_NETS), batch = 64, python, progress = () => {} } = {}) {
  const counts = threadCounts();
  const timing = { samples: quick ? 5 : 7, reps: quick ? 1 : 2, minMs: quick ? 30 : 200, warmupMs: quick ? 0 : WARMUP_MS };
  const out = { counts, batch, warmupMs: timing.warmupMs, nets: [], gemm: null };
  const before = cpuTimes();
  progress('threads: GEMM 512³');
  out.gemm = await gemmThreads(counts, { samples: timing.samples, reps: 10 });
  progress('threads: hand-offs');
  out.handOff = await handOffs(counts.at(-1), { calls: quick ? 500 : 2000 });
  for (const key of nets) {
    progress(`threads: ${ZOO_NETS[key].label}, batch ${batch}`);
    out.nets.push(await netThreads(key, batch, counts, timing));
  }
  for (const n of out.nets) {
    if (counts.at(-1) < 2) { n.apart = null; continue; }
    progress(`threads: ${n.label} in ${counts.at(-1)} separate processes`);
    n.apart = await apartCeiling(n.key, batch, counts.at(-1), { rounds: quick ? 2 : 5, ms: quick ? 300 : 1000 });
  }
  out.steal = stealBetween(before, cpuTimes());
  for (const n of out.nets) {
    if (counts.at(-1) < 2) { n.busy = null; continue; }
    progress(`threads: ${n.label} beside a busy process`);
    n.busy = await busyThreads(n.key, batch, counts.at(-1), { ...timing, samples: quick ? 3 : 7 });
  }
  await sn.ready({ threads: 1 });
  progress('threads: PyTorch (a Python subprocess per thread count)');
  const pt = await runPytorchThreads({ python, nets, batch, counts, quick });
  out.pytorch = pt.error ? { label: pt.label, error: pt.error } : { label: pt.label };
  if (!pt.error) {
    for (const n of out.nets) {
      n.pytorch = pt.nets[n.key];
      const best = Math.max(...n.pytorch.filter((r) => r.rate > 0).map((r) => r.rate));
      if (Number.isFinite(best)) n.vsPytorchBest = n.rows.at(-1).rate / best;
    }
    await pairBest(out, { python: pt.python, counts, batch, progress });
  }
  return out;
}
