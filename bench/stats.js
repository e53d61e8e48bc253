// Timing statistics: warm up, then repeated samples, reported as median with its min–max spread.
// A sample runs the timed call enough times to last `minMs`, so sub-millisecond work is not
// lost in timer resolution; its figure is the mean time of one call within that sample.

/**
 * Times `fn` (synchronous) and returns milliseconds per call: { median, min, max, samples, reps }.
 * `warmup` untimed calls first: V8 compiles wasm with Liftoff and tiers up to TurboFan later,
 * so the first calls are slower and would skew small sample counts. Options as measureRounds's
 * (warmup 3, samples 7, minMs 20 unless given): one call timed in rounds of its own.
 */
export function measure(fn, options) {
  const { times, ...timing } = measureRounds({ fn }, options).fn;
  return timing;
}

/**
 * Times several calls in rounds: each sample is one round that runs every call of `fns`
 * ({ name: fn }) in turn, each as often as fills `minMs` (its own repetition count, found after
 * the warm-up). Returns { name: summary in ms per call, with `reps` and `times` (the per-sample
 * ms, in round order) }. Calls compared in one table row are timed in the same rounds, so a
 * change of load on a shared machine falls on all of them alike rather than on whichever was
 * timed while it lasted (one by one, a load that came and went inflated one column 1.3–1.6×).
 * `now` is the clock in ms (a test passes one the calls advance, so its counts do not depend on
 * the machine's load).
 */
export function measureRounds(fns, { warmup = 3, samples = 7, minMs = 20, now = () => performance.now() } = {}) {
  const names = Object.keys(fns);
  for (let i = 0; i < warmup; i++) for (const n of names) fns[n]();
  const reps = {}, times = {};
  for (const n of names) {
    const t = now();
    fns[n]();
    reps[n] = Math.max(1, Math.ceil(minMs / Math.max(now() - t, 1e-3)));
    times[n] = [];
  }
  for (let s = 0; s < samples; s++) {
    for (const n of names) {
      const t = now();
      for (let r = 0; r < reps[n]; r++) fns[n]();
      times[n].push((now() - t) / reps[n]);
    }
  }
  return Object.fromEntries(names.map((n) => [n, { ...summarize(times[n]), reps: reps[n], times: times[n] }]));
}

/** Median, min and max of a list of numbers (the median of an even count is the mean of the middle two). */
export function summarize(values) {
  if (!values.length) throw new Error('summarize: no values');
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median, min: s[0], max: s.at(-1), samples: s.length };
}

/** Applies a positive decreasing map (e.g. ms → img/s) to a summary: min and max swap. */
export function invert(stat, f) {
  return { ...stat, median: f(stat.median), min: f(stat.max), max: f(stat.min) };
}

/** Applies an increasing map (e.g. a unit change) to a summary. */
export function scale(stat, f) {
  return { ...stat, median: f(stat.median), min: f(stat.min), max: f(stat.max) };
}
