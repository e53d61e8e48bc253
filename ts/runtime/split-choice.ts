// Whether a split pass runs on the workers or on the calling thread alone, chosen by timing it
// both ways (runtime/split.ts's runTasks asks). The split limits (split.ts) say which passes are
// big enough to be worth a hand-off; what a pass gains from the threads also depends on what its
// size does not show: how busy the machine is, where its data was last written. A pass is run
// split and whole alternately at its first calls, keeps the faster, and is tried again every
// recheckAfter calls (the machine's load changes). Results never depend on the choice: the tasks
// of a split give the same bits run on any thread, in any order.
//
// Measured (`npm run bench -- --threads`, 2-core VM, 2026-12-02), training steps at batch 64 beside
// a process spinning on one core, 2 threads ÷ 1 thread with this choice (and splitting every pass
// the limits allow). Before the calling thread took back shares no worker had started
// (threads.ts): LeNet-5 ×0.79 and ×0.70 (×0.59, ×0.64), MobileNetV2 ×0.5 ×1.05 and ×1.00 (×0.65,
// ×0.71), the VGG-style net ×0.84 and ×0.80 (×0.86, ×0.82). Since: LeNet-5 ×0.82 and ×0.90 (×0.84,
// ×0.82), MobileNetV2 ×0.82 and ×0.84 (×0.85, ×0.78), the VGG-style net ×0.92 and ×0.87 (×0.93,
// ×0.93): taking back does most of it now. In one process, alternately, with nothing else
// running: LeNet-5 ×0.99–1.07 of splitting every pass, the VGG-style net ×1.03.

/** The trial's settings, and a switch for tests that check the splits themselves. */
export const splitTuning = {
  enabled: true,
  /** Timed calls each way per trial, after one untimed call each way. */
  trials: 3,
  /** Calls a choice holds before the pass is tried both ways again. */
  recheckAfter: 256,
  /**
   * Whole is kept only where its median time is under this share of split's. The split limits
   * were set where splitting pays on an idle machine; a trial's few calls, each ±10–30% here,
   * should not undo that (LeNet-5's passes on an idle machine chose whole 0–5 times in 8 by an
   * even median), while a core taken by another process slows a split pass far more (×0.6–0.9).
   */
  wholeBelow: 0.9,
};

/**
 * One pass's choice: `next()` says whether this call runs split, `record()` takes its time. A
 * trial's calls alternate split, whole (the first of each untimed: a worker's wake-up, a scratch
 * grown); the medians of the timed ones decide (whole where clearly faster: wholeBelow).
 */
export class SplitChoice {
  /** Calls since the trial began. */
  #calls = 0;
  #split = true;
  readonly #times: number[] = [];

  /** Whether the pass has been tried both ways, and what it chose then. */
  get decided(): 'split' | 'whole' | null {
    return this.#calls < trialCalls() ? null : this.#split ? 'split' : 'whole';
  }

  /** Whether this call runs split. */
  next(): boolean {
    if (this.#calls >= trialCalls() + splitTuning.recheckAfter) this.#calls = 0;
    return this.#calls < trialCalls() ? this.#calls % 2 === 0 : this.#split;
  }

  /** The time (ms) of the call next() was asked about. */
  record(ms: number): void {
    const trial = trialCalls(), i = this.#calls++;
    if (i < 2 || i >= trial) return;
    this.#times[i - 2] = ms;
    if (i < trial - 1) return;
    const split: number[] = [], whole: number[] = [];
    for (let k = 0; k < trial - 2; k++) (k % 2 === 0 ? split : whole).push(this.#times[k]);
    this.#split = median(whole) >= splitTuning.wholeBelow * median(split);
  }
}

const trialCalls = () => 2 * (splitTuning.trials + 1);
const median = (v: number[]) => v.sort((a, b) => a - b)[v.length >> 1];

/** The choices per kernel (of the first task), by a hash of the tasks' arguments: the pass's buffers and sizes. */
const choices = new Map<string, Map<number, SplitChoice>>();
/**
 * A kernel's choices are forgotten past this many: a pass whose buffers move from call to call
 * makes a new one each time (it then always splits, as a trial's first call does).
 */
const MAX_CHOICES = 256;

/** The choice for a split pass of these tasks. */
export function choiceFor(tasks: readonly { readonly kernel: string; readonly args: readonly number[] }[]): SplitChoice {
  let h = tasks.length;
  for (const t of tasks) {
    for (let i = 0; i < t.args.length; i++) h = Math.imul(h ^ (t.args[i] | 0), 0x9e3779b1) ^ (h >>> 15);
  }
  let byHash = choices.get(tasks[0].kernel);
  if (!byHash) choices.set(tasks[0].kernel, byHash = new Map());
  let c = byHash.get(h);
  if (!c) {
    if (byHash.size >= MAX_CHOICES) byHash.clear();
    byHash.set(h, c = new SplitChoice());
  }
  return c;
}

/** Forgets every choice: each pass is tried both ways again from its next call. */
export function clearSplitChoices(): void { choices.clear(); }

/** Per kernel, how many passes run split and how many whole now (those in their first trial not counted). */
export function splitChoices(): Record<string, { split: number; whole: number }> {
  const out: Record<string, { split: number; whole: number }> = {};
  for (const [kernel, byHash] of choices) {
    const e = out[kernel] = { split: 0, whole: 0 };
    for (const c of byHash.values()) if (c.decided) e[c.decided]++;
  }
  return out;
}
