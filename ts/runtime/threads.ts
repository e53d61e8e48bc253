// Kernels on several threads over one shared wasm memory. The kernel module is instantiated once
// more in each worker on the same memory; a call is handed out through a small SharedArrayBuffer
// (a generation counter, a pending count and one argument slot per worker), so no message is
// posted per kernel: the calling thread writes each worker's slot, bumps the generation, runs its
// own share, and waits for the pending count to reach zero. Or (runUnits) the calling thread writes
// a table of units, and every thread, itself included, takes the next one left by a compare-and-
// swap on one word until none is: a thread the machine slows takes fewer. The kernels keep no
// state between calls (what a call decides, such as the flat passes' layout, is passed along or
// kept in its scratch), and the callers give each share its own scratch (each thread its own, for
// units: the arguments that differ by thread are rewritten with the running thread's).
//
// What a split computes never depends on how many workers take part (see conv2d.ts): a worker
// still starting up simply takes no share, so the pool never waits for one.
import { platform } from '#platform';
import type { WorkerHandle } from '../platform/platform.js';
import type { KernelExports, KernelName } from './embedded/kernels.js';

/**
 * One thread's share of a parallel call: a kernel export by name and its arguments, typed by the
 * kernel (a name the build does not export, or arguments of another count, fail the type-check).
 */
export type Task = { [K in KernelName]: { readonly kernel: K; readonly args: Readonly<Parameters<KernelExports[K]>> } }[KernelName];

/** Runs a task on this thread: its kernel called with its arguments; what it returned, or 0. */
export function runKernel(kernels: KernelExports, task: Task): number {
  return (kernels[task.kernel] as (...args: readonly number[]) => number | void)(...task.args) ?? 0;
}

/** The most threads a pool runs (the calling thread and its workers). */
export const MAX_THREADS = 64;

// The control block: Int32 header, then per worker [ready, task generation], then per worker the
// last generation it read (SEEN), then a Float64 slot each.
// QUEUE: runUnits' next unit to take and how many there are, in one word (count · 2¹⁶ + next).
const GENERATION = 0, PENDING = 1, FAILED = 2, SPIN_US = 3, QUEUE = 4, HEADER_INTS = 16, SEEN = HEADER_INTS + 2 * MAX_THREADS;
/** Floats of a worker's argument slot: the export's index (its result, once done), then the arguments. */
const SLOT_FLOATS = 32;
/**
 * The most units a runUnits call takes (its table of slots after the workers' own). A worker's
 * slot then holds UNITS_MARK, how many thread arguments there are and, for each, its index and
 * the worker's value.
 */
export const MAX_UNITS = 64;
const UNITS_MARK = -1;

/**
 * An argument of runUnits' tasks that depends on the thread running the task (its stretch of a
 * scratch): its index among the arguments, and its value on each thread, the calling thread's first.
 */
export type ThreadArg = readonly [index: number, values: readonly number[]];
/**
 * How long a thread polls for its next task (a worker) or for the workers' shares (the calling
 * thread) before it sleeps in Atomics.wait, while the machine has a core free for it. A wake-up
 * from Atomics.wait costs 60–90 µs here, and up to ~0.4 ms inside a training step; a hand-off to
 * a worker still polling ~12 µs. WORKER_SPIN_MS covers the gaps between the split passes of a
 * training step (the unsplit layers, the loss, the optimizer); see the measurements in README Threads.
 * CALLER_SPIN_MS covers a worker finishing its share after the calling thread finished its own:
 * at 0.1 ms the calling thread was asleep when half the shares of the VGG-style net's step ended,
 * and woke 83 µs after them at the median, over 1 ms at the 90th percentile (11 and 174 µs at 5
 * ms). Training steps at batch 64 on 2 threads over 1, alternating in one process, the calling
 * thread's spin 0.1 / 2 / 5 ms, medians of 7–11: the VGG-style net ×1.53 / ×1.65 / ×1.61 and
 * ×1.51 / ×1.60 / ×1.68, ConvNetJS's ×1.33 / ×1.43 / ×1.44, LeNet-5 ×1.27 / ×1.27 / ×1.22 (its
 * rounds spread ×0.8–1.5). With a busy process beside (where one thread is the faster choice
 * anyway): the VGG-style net ×0.95 / ×0.86 / ×0.89, LeNet-5 ×0.68 / ×0.66 / ×0.71.
 */
const WORKER_SPIN_MS = 1, CALLER_SPIN_MS = 2;
/**
 * A poll loop that finds more than DESCHEDULED_MS between two looks at the clock was descheduled.
 * Where that happens again and again the cores are oversubscribed, and polling takes the CPU from
 * the threads doing the work (a LeNet-5 step on 2 threads with another process busy: ×0.35 of one
 * thread when both sides polled for 2 ms without this check, ×0.93 sleeping at once). A VM pauses
 * its vCPUs now and then too, with nothing else running: so a thread sleeps at once for
 * BACK_OFF_MS only when GAPS_IN_A_ROW gaps in a row each came within GAP_WINDOW_MS of polling
 * after the one before. Gaps of more than 1 ms while polling on this 2-core VM, the calling thread
 * and a worker at once, 5 s: 12–19 each with nothing else running (one every ~300 ms; of more than
 * 0.2 ms, 60–140 a second), 350–400 each with one busy process beside (one every ~13 ms). Backing
 * off at every gap, as before, kept threads asleep much of the time on an idle VM: hand-offs of an
 * empty task 20–300 µs apart, the rules alternating in separate processes, median 1.3–66 µs and
 * 90th percentile 6–188 µs, against 1.1–18 µs and 1.2–27 µs with this rule (1.4–6.5 µs and 3–11 µs
 * with no back-off at all). At 0.2 ms the VM's pauses had tripped it even more often (LeNet-5's
 * step on 2 threads ×0.76–1.17 of one, against ×1.10–1.50 at 1 ms and 5 ms). What it cannot see
 * is the calling thread slowed while a worker polls: with one busy process beside it, LeNet-5's
 * step on 2 threads ran at ×0.56–0.79 of one thread, against ×0.88–0.91 with no polling (one run
 * each).
 */
const DESCHEDULED_MS = 1, GAP_WINDOW_MS = 50, GAPS_IN_A_ROW = 2, BACK_OFF_MS = 100;

/**
 * A poller with that rule, its state its own (one per thread): `poll(arrived, spinMs)` calls
 * arrived() until it returns true, for up to spinMs ms (0: not at all), and returns at once while
 * backing off. The constants are its arguments and it reads nothing else but `performance`: the
 * worker script is made from its source, so a worker and the calling thread poll by the same code.
 */
function makePoller(descheduledMs: number, gapWindowMs: number, gapsInARow: number, backOffMs: number): (arrived: () => boolean, spinMs: number) => void {
  // polled: ms spent polling since the last gap; soon: gaps in a row that came soon after the last.
  let backOffUntil = 0, polled = 0, soon = 0;
  return (arrived, spinMs) => {
    const t0 = performance.now();
    if (spinMs <= 0 || t0 < backOffUntil) return;
    for (let last = t0; !arrived();) {
      for (let i = 0; i < 256 && !arrived(); i++);
      const t = performance.now();
      if (t - last > descheduledMs) {
        soon = polled < gapWindowMs ? soon + 1 : 0;
        polled = 0;
        if (soon >= gapsInARow) { soon = 0; backOffUntil = t + backOffMs; return; }
      } else polled += t - last;
      if (t - t0 > spinMs) return;
      last = t;
    }
  };
}
/** How often (ms) the calling thread looks at the workers while it waits for their shares. */
const POLL_MS = 50;

/**
 * The worker's script, run as given (Node: worker_threads with eval; a page: a Blob URL): it
 * instantiates the kernels on the shared memory, marks itself ready, then runs the task of each
 * generation that carries its stamp.
 */
function workerSource(): string {
  // A task calls its export with every argument place of the slot (of its copy, for a unit).
  const slotArgs = Array.from({ length: SLOT_FLOATS - 1 }, (_, i) => `slot[${i + 1}]`).join(', ');
  const unitArgs = Array.from({ length: SLOT_FLOATS - 1 }, (_, i) => `unit[${i + 1}]`).join(', ');
  return `(() => {
  const start = ({ module, memory, control, index, token, names, slotOffset }) => {
    const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
    const fns = names.map((n) => exports[n]);
    const ctl = new Int32Array(control);
    const slot = new Float64Array(control, slotOffset + index * ${SLOT_FLOATS * 8}, ${SLOT_FLOATS});
    // runUnits' table, and this worker's copy of the unit it runs with its own thread arguments.
    const table = new Float64Array(control, slotOffset + ${MAX_THREADS * SLOT_FLOATS * 8}, ${MAX_UNITS * SLOT_FLOATS});
    const unit = new Float64Array(${SLOT_FLOATS});
    // Takes units until none is left (ThreadPool's takeUnit, the same rule): each one's result in its table slot.
    const units = () => {
      for (;;) {
        const v = Atomics.load(ctl, ${QUEUE}), next = v & 0xffff;
        if (next >= v >>> 16) return;
        if (Atomics.compareExchange(ctl, ${QUEUE}, v, v + 1) !== v) continue;
        const at = next * ${SLOT_FLOATS};
        for (let a = 0; a < ${SLOT_FLOATS}; a++) unit[a] = table[at + a];
        for (let p = 0; p < slot[1]; p++) unit[1 + slot[2 + 2 * p]] = slot[3 + 2 * p];
        try { table[at] = fns[unit[0]](${unitArgs}) ?? 0; } catch (e) { Atomics.add(ctl, ${FAILED}, 1); }
      }
    };
    const ready = ${HEADER_INTS} + 2 * index, stamp = ready + 1;
    // The generation before saying ready: every call that counts this worker comes after it.
    let seen = Atomics.load(ctl, ${GENERATION});
    Atomics.store(ctl, ready, token);
    // Polls for a generation other than seen (SPIN_US; makePoller's rule), returns the last one read.
    const poller = (${makePoller.toString()})(${DESCHEDULED_MS}, ${GAP_WINDOW_MS}, ${GAPS_IN_A_ROW}, ${BACK_OFF_MS});
    let g = seen;
    const arrived = () => (g = Atomics.load(ctl, ${GENERATION})) !== seen;
    const poll = () => {
      if (!arrived()) poller(arrived, Atomics.load(ctl, ${SPIN_US}) / 1000);
      return g;
    };
    for (;;) {
      const g = poll();
      if (g === seen) { Atomics.wait(ctl, ${GENERATION}, seen); continue; }
      seen = g;
      // Read, whether or not its share is still there: the calling thread tells a worker alive but late from one stopped.
      Atomics.store(ctl, ${SEEN} + index, g);
      // Stopped (its slot cleared or handed to a successor): leave.
      if (Atomics.load(ctl, ready) !== token) return;
      // Claimed: the calling thread, its own share done first, took this one back (run()).
      if (Atomics.compareExchange(ctl, stamp, g, -g) !== g) continue;
      // Every argument place passed (those past the count hold 0; an export ignores what it does not
      // take): no array made per call, so a worker allocates nothing while it runs tasks.
      if (slot[0] === ${UNITS_MARK}) units();
      else try { slot[0] = fns[slot[0]](${slotArgs}) ?? 0; } catch (e) { Atomics.add(ctl, ${FAILED}, 1); }
      if (Atomics.sub(ctl, ${PENDING}, 1) === 1) Atomics.notify(ctl, ${PENDING});
    }
  };
  if (typeof process === 'object' && typeof require === 'function') require('node:worker_threads').parentPort.once('message', start);
  else self.onmessage = (e) => start(e.data);
})();`;
}

/** Threads over one shared memory: the calling thread and up to MAX_THREADS − 1 workers. */
export class ThreadPool {
  readonly #control: SharedArrayBuffer;
  readonly #ctl: Int32Array;
  readonly #slots: Float64Array;
  /** runUnits' units: a slot each, as a worker's. */
  readonly #table: Float64Array;
  readonly #workers: WorkerHandle[] = [];
  /** The ready mark each worker writes (unique per start: a stopped worker's late mark is not mistaken for its successor's). */
  readonly #tokens: number[] = [];
  #started = 0;
  readonly #index: Map<string, number>;
  #generation = 0;
  /** Calls that handed a share to a worker (a test reads it to know the threads were used). */
  runs = 0;
  /**
   * How the split calls balance, for measurements (the harness's threads section): ms the calling
   * thread waited for the workers' shares after its own (and those it took back) were done, and
   * how many calls found every worker's share done by then. The workers' own waits for the
   * calling thread are not counted.
   */
  waitMs = 0;
  workersFirst = 0;
  /** The thread count asked for (setNumThreads); workers beyond it wait unused (Atomics.wait costs nothing). */
  #wanted = 1;
  /** Set when a worker failed to start: the pool stops growing and says why. */
  #failure: string | null = null;
  /**
   * How long (ms) a worker may leave unread every call handed to it before the pool stops counting
   * on it (it died, was terminated or crashed). A live worker reads a call within microseconds
   * (polling) or a wake-up (60–90 µs, ~2 ms at the 99th percentile on a VM).
   */
  pickupTimeoutMs = 5000;
  /**
   * How long (ms) a call may wait for shares taken but not finished before it throws rather than
   * wait forever on a worker stopped in the middle of one.
   */
  finishTimeoutMs = 120000;
  /** The calling thread's poller (makePoller: it sleeps at once for a while after finding itself descheduled again and again). */
  readonly #poller = makePoller(DESCHEDULED_MS, GAP_WINDOW_MS, GAPS_IN_A_ROW, BACK_OFF_MS);
  /** Whether every worker's share of the current call is done. */
  readonly #sharesDone = () => Atomics.load(this.#ctl, PENDING) === 0;
  /** The calling thread may block (Atomics.wait): not the main thread of a page. */
  readonly #mayBlock = typeof (globalThis as { document?: unknown }).document === 'undefined';

  constructor(
    private readonly module: WebAssembly.Module,
    private readonly memory: WebAssembly.Memory,
    private readonly kernels: KernelExports,
    private readonly names: readonly KernelName[]) {
    const slotOffset = Math.ceil(((SEEN + MAX_THREADS) * 4) / 8) * 8;
    this.#control = new SharedArrayBuffer(slotOffset + (MAX_THREADS + MAX_UNITS) * SLOT_FLOATS * 8);
    this.#ctl = new Int32Array(this.#control);
    this.#slots = new Float64Array(this.#control, slotOffset, MAX_THREADS * SLOT_FLOATS);
    this.#table = new Float64Array(this.#control, slotOffset + MAX_THREADS * SLOT_FLOATS * 8, MAX_UNITS * SLOT_FLOATS);
    this.#index = new Map(names.map((n, i) => [n, i]));
    this.spinMs = { worker: WORKER_SPIN_MS, caller: CALLER_SPIN_MS };
  }

  /**
   * How long (ms) the workers poll for their next task, and the calling thread for their shares,
   * before they sleep (0: at once). Measurements and tests set it; the library leaves it as it is.
   */
  get spinMs(): { worker: number; caller: number } {
    return { worker: Atomics.load(this.#ctl, SPIN_US) / 1000, caller: this.#callerSpinMs };
  }

  set spinMs({ worker, caller }: { worker: number; caller: number }) {
    Atomics.store(this.#ctl, SPIN_US, Math.round(worker * 1000));
    this.#callerSpinMs = caller;
  }

  #callerSpinMs = CALLER_SPIN_MS;

  /** The thread count asked for, the calling thread included. */
  get wanted(): number { return this.#wanted; }

  /** Why the pool could not start the workers asked for, or null. */
  get failure(): string | null { return this.#failure; }

  /**
   * Asks for `n` threads in all (the calling thread and n − 1 workers): workers are started as
   * needed; fewer than before leaves the others waiting, ready for a later count. New ones take
   * shares once they have instantiated the kernels.
   */
  resize(n: number): void {
    this.#wanted = n;
    while (this.#failure === null && this.#workers.length < n - 1) this.#start();
  }

  /** How many threads can take a share now: the calling thread and the workers that are ready. */
  get size(): number {
    return 1 + this.#readyWorkers().length;
  }

  /**
   * Runs tasks[0] on the calling thread and tasks[1..] on as many ready workers, all at once (a
   * share no worker has started by the time the calling thread's own is done runs on the calling
   * thread too: #takeBack), and returns when all are done, with what each returned. Each must
   * write memory no other touches. Throws when one failed.
   */
  run(tasks: readonly Task[]): number[] {
    const ready = this.#readyWorkers();
    if (tasks.length - 1 > ready.length) throw new Error(`simdnet: ${tasks.length} shares for ${ready.length + 1} threads`);
    const g = ++this.#generation;
    let pending = 0;
    for (let i = 1; i < tasks.length; i++) {
      const w = ready[i - 1];
      this.#write(this.#slots, w * SLOT_FLOATS, tasks[i]);
      Atomics.store(this.#ctl, HEADER_INTS + 2 * w + 1, g);
      pending++;
    }
    if (pending) this.runs++;
    Atomics.store(this.#ctl, PENDING, pending);
    Atomics.store(this.#ctl, GENERATION, g);
    if (pending) Atomics.notify(this.#ctl, GENERATION);
    let failure: unknown = null, own = 0;
    try {
      own = runKernel(this.kernels, tasks[0]);
    } catch (err) {
      failure = err;
    }
    if (pending) {
      if (Atomics.load(this.#ctl, PENDING) === 0) this.workersFirst++;
      failure ??= this.#takeBack(g, tasks, ready);
    }
    this.#finish(pending, failure);
    return tasks.map((_, i) => (i === 0 ? own : this.#slots[ready[i - 1] * SLOT_FLOATS]));
  }

  /**
   * Waits for the workers' shares of a call (#wait; the wait counted in waitMs where `pending`
   * shares were handed out), then throws what the calling thread's own threw (`failure`) or
   * what failed on a worker.
   */
  #finish(pending: number, failure: unknown): void {
    const waitStart = pending ? performance.now() : 0;
    failure ??= this.#wait();
    if (pending) this.waitMs += performance.now() - waitStart;
    if (failure) throw failure;
    const failed = Atomics.exchange(this.#ctl, FAILED, 0);
    if (failed) throw new Error(`simdnet: a kernel failed on ${failed} worker thread${failed > 1 ? 's' : ''}`);
  }

  /** A task into the slot at `at` of `slots`: its export's index, then its arguments, zeros after them. */
  #write(slots: Float64Array, at: number, t: Task): void {
    const fn = this.#index.get(t.kernel);
    if (fn === undefined || t.args.length > SLOT_FLOATS - 1) throw new Error(`simdnet: no such kernel for a worker: ${t.kernel}/${t.args.length}`);
    slots[at] = fn;
    for (let a = 0; a < t.args.length; a++) slots[at + 1 + a] = t.args[a];
    slots.fill(0, at + 1 + t.args.length, at + SLOT_FLOATS);
  }

  /**
   * Runs every task on the calling thread and up to `threads` − 1 ready workers, each thread
   * taking the next task no thread has taken as soon as it is free, and returns what each
   * returned, in task order. So a thread slowed by the machine (another program, the hypervisor,
   * V8's own threads) takes fewer tasks, where run() waits for its fixed share. The arguments
   * `threadArgs` lists (a thread's stretch of a scratch) take the running thread's value: the
   * tasks are written with the calling thread's, values[0]. Each task must write memory no other
   * touches, its results the same whichever thread runs it. Throws when one failed.
   */
  runUnits(tasks: readonly Task[], threads: number, threadArgs: readonly ThreadArg[] = []): number[] {
    if (tasks.length > MAX_UNITS) throw new Error(`simdnet: ${tasks.length} units, at most ${MAX_UNITS}`);
    if (2 + 2 * threadArgs.length > SLOT_FLOATS) throw new Error(`simdnet: ${threadArgs.length} thread arguments, at most ${(SLOT_FLOATS - 2) / 2}`);
    const ready = this.#readyWorkers().slice(0, Math.max(0, Math.min(threads, tasks.length) - 1));
    for (const [index, values] of threadArgs) {
      if (values.length < ready.length + 1) throw new Error(`simdnet: thread argument ${index} has ${values.length} values for ${ready.length + 1} threads`);
    }
    for (let i = 0; i < tasks.length; i++) this.#write(this.#table, i * SLOT_FLOATS, tasks[i]);
    const g = ++this.#generation;
    for (let j = 0; j < ready.length; j++) {
      const slot = ready[j] * SLOT_FLOATS;
      this.#slots[slot] = UNITS_MARK;
      this.#slots[slot + 1] = threadArgs.length;
      threadArgs.forEach(([index, values], k) => {
        this.#slots[slot + 2 + 2 * k] = index;
        this.#slots[slot + 3 + 2 * k] = values[j + 1];
      });
      Atomics.store(this.#ctl, HEADER_INTS + 2 * ready[j] + 1, g);
    }
    const pending = ready.length;
    if (pending) this.runs++;
    Atomics.store(this.#ctl, QUEUE, tasks.length * 0x10000);
    Atomics.store(this.#ctl, PENDING, pending);
    Atomics.store(this.#ctl, GENERATION, g);
    if (pending) Atomics.notify(this.#ctl, GENERATION);
    let failure: unknown = null;
    for (let i = this.#takeUnit(); i >= 0; i = this.#takeUnit()) {
      try {
        this.#table[i * SLOT_FLOATS] = runKernel(this.kernels, tasks[i]);
      } catch (err) {
        failure ??= err;
      }
    }
    if (pending) {
      if (Atomics.load(this.#ctl, PENDING) === 0) this.workersFirst++;
      // A worker that has not started yet finds no unit left: it is let go.
      for (const w of ready) {
        if (Atomics.compareExchange(this.#ctl, HEADER_INTS + 2 * w + 1, g, 0) !== g) continue;
        Atomics.sub(this.#ctl, PENDING, 1);
        this.#checkAlive(w, g);
      }
    }
    this.#finish(pending, failure);
    return tasks.map((_, i) => this.#table[i * SLOT_FLOATS]);
  }

  /** The next unit of runUnits' table no thread has taken (taking it), or −1: the workers' rule. */
  #takeUnit(): number {
    for (;;) {
      const v = Atomics.load(this.#ctl, QUEUE), next = v & 0xffff;
      if (next >= v >>> 16) return -1;
      if (Atomics.compareExchange(this.#ctl, QUEUE, v, v + 1) === v) return next;
    }
  }

  /**
   * Waits for the workers' shares; one taken but unfinished past finishTimeoutMs gives an Error,
   * returned (not thrown: what the calling thread's own share threw comes first).
   */
  #wait(): unknown {
    const start = Date.now();
    let spins = 0;
    if (this.#mayBlock) this.#poll();
    for (let p = Atomics.load(this.#ctl, PENDING); p !== 0; p = Atomics.load(this.#ctl, PENDING)) {
      if (this.#mayBlock) Atomics.wait(this.#ctl, PENDING, p, POLL_MS);
      else if (++spins % 4096 !== 0) continue;
      if (Date.now() - start > this.finishTimeoutMs) {
        return new Error(`simdnet: a worker thread took its share of a kernel call and did not finish it in ${this.finishTimeoutMs} ms (stopped or crashed)`);
      }
    }
    return null;
  }

  /** Polls PENDING for up to the caller's spin (not while backing off), as the workers poll for a task. */
  #poll(): void {
    this.#poller(this.#sharesDone, this.#callerSpinMs);
  }

  /**
   * Runs here, the calling thread's own share done, every share of generation `g` that no worker
   * has started: a worker asleep or descheduled would start it only after its wake-up, where
   * the calling thread, free now, takes the share's own time. LeNet-5's training step at batch 64
   * on 2 threads, alternately in one process with and without, median of 15–21 rounds: ×1.058,
   * ×1.074 and ×1.065 (2–3% of the split calls taken back), ×1.042 with a process spinning on one
   * core beside (34% taken back); the VGG-style net ×1.009 (×1.023 beside that process),
   * MobileNetV2 ×0.5 ×1.040. The builds before and after in alternating processes, five pairs:
   * LeNet-5 ×1.06. A worker that has read none of the calls handed to it over pickupTimeoutMs is
   * counted out. Returns what a share run here threw first, or null.
   */
  #takeBack(g: number, tasks: readonly Task[], ready: readonly number[]): unknown {
    let failure: unknown = null;
    for (let i = 1; i < tasks.length; i++) {
      const w = ready[i - 1];
      if (Atomics.compareExchange(this.#ctl, HEADER_INTS + 2 * w + 1, g, 0) !== g) continue;
      this.takenBack++;
      try {
        this.#slots[w * SLOT_FLOATS] = runKernel(this.kernels, tasks[i]);
      } catch (err) {
        failure ??= err;
      }
      Atomics.sub(this.#ctl, PENDING, 1);
      this.#checkAlive(w, g);
    }
    return failure;
  }

  /** Shares taken back by the calling thread (#takeBack), for measurements. */
  takenBack = 0;
  /** Per worker, the first generation taken back from it that it has not read yet (0: none), and since when (ms). */
  readonly #unread = new Int32Array(MAX_THREADS);
  readonly #unreadSince = new Float64Array(MAX_THREADS);

  /** After a share of generation `g` was taken back from worker w: counts it out when it has read no call for pickupTimeoutMs. */
  #checkAlive(w: number, g: number): void {
    const now = Date.now(), first = this.#unread[w];
    if (first === 0 || Atomics.load(this.#ctl, SEEN + w) >= first) {
      this.#unread[w] = g;
      this.#unreadSince[w] = now;
    } else if (now - this.#unreadSince[w] > this.pickupTimeoutMs) {
      // Counted out: its ready mark cleared, so no later call hands it a share (and should it wake, it leaves).
      Atomics.store(this.#ctl, HEADER_INTS + 2 * w, 0);
      this.#failure ??= `a worker thread read none of the calls handed to it in ${this.pickupTimeoutMs} ms (stopped or crashed): its work runs on the other threads`;
    }
  }

  /** @internal A worker's handle, for tests that stop one behind the pool's back. */
  workerHandle(i: number): WorkerHandle { return this.#workers[i]; }

  /**
   * Resolves once every worker asked for has loaded the kernels (or one failed to start, or
   * `timeoutMs` passed: the calls meanwhile run on the threads that are ready).
   */
  async whenStarted(timeoutMs = 10000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.size < this.#wanted && this.#failure === null && Date.now() < until) await new Promise((r) => setTimeout(r, 1));
  }

  /** Stops every worker. */
  close(): void {
    while (this.#workers.length) this.#stopLast();
  }

  #readyWorkers(): number[] {
    const out: number[] = [];
    const n = Math.min(this.#workers.length, this.#wanted - 1);
    for (let i = 0; i < n; i++) if (Atomics.load(this.#ctl, HEADER_INTS + 2 * i) === this.#tokens[i]) out.push(i);
    return out;
  }

  #start(): void {
    const index = this.#workers.length, token = ++this.#started;
    this.#unread[index] = 0;
    Atomics.store(this.#ctl, SEEN + index, 0);
    let worker: WorkerHandle;
    try {
      worker = platform.startWorker(workerSource());
      worker.post({ module: this.module, memory: this.memory, control: this.#control, index, token, names: this.names, slotOffset: this.#slots.byteOffset });
    } catch (err) {
      this.#failure = `a worker could not start: ${(err as Error).message}`;
      return;
    }
    worker.onError((err) => { this.#failure ??= `a worker failed: ${err.message}`; });
    this.#workers.push(worker);
    this.#tokens.push(token);
  }

  #stopLast(): void {
    // The slot cleared first: should the worker still be running, it leaves at its next wake-up.
    Atomics.store(this.#ctl, HEADER_INTS + 2 * (this.#workers.length - 1), 0);
    this.#tokens.pop();
    this.#workers.pop()!.terminate();
  }
}

/** The thread count ready() starts with when not told: the cores there are, at most 8. */
export function defaultThreads(): number {
  return Math.max(1, Math.min(8, Math.floor(platform.cores())));
}

/**
 * Contiguous ranges of [0, n) for `parts` threads, as even as they come, the longer first:
 * [start, count] each, none empty (fewer than `parts` when n is smaller).
 */
export function ranges(n: number, parts: number): [number, number][] {
  const p = Math.max(1, Math.min(parts, n)), base = Math.floor(n / p), extra = n - base * p;
  const out: [number, number][] = [];
  for (let i = 0, start = 0; i < p; i++) {
    const count = base + (i < extra ? 1 : 0);
    out.push([start, count]);
    start += count;
  }
  return out;
}

/**
 * ranges() of [0, n) in whole blocks of `unit` (channels, GEMM rows), [start, count] each, every
 * range starting on a block and the last ending at n. Where the last block is short, the ranges
 * with an extra block come last, so that it evens them out: 20 in blocks of 8 over 2 as 8 + 12,
 * not 16 + 4.
 */
export function blockRanges(n: number, parts: number, unit: number): [number, number][] {
  const counts = ranges(Math.ceil(n / unit), parts).map(([, c]) => c);
  if (n % unit !== 0) counts.reverse();
  const out: [number, number][] = [];
  for (let i = 0, start = 0; i < counts.length; start += counts[i++]) out.push([start * unit, Math.min(counts[i] * unit, n - start * unit)]);
  return out;
}
