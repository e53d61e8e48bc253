// Axis ticks at "nice" numbers (1, 2 or 5 times a power of ten), so labels read 0.5, 1.0, 1.5
// rather than 0.4821, 0.9642.

export interface Ticks { lo: number; hi: number; step: number; values: number[]; decimals: number; }

/** Ticks covering [lo, hi] with at most about `count` intervals; a zero-width range is widened. */
export function niceTicks(lo: number, hi: number, count = 5): Ticks {
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi === lo) {
    const pad = Math.abs(lo) * 0.1 || 0.1;
    lo -= pad; hi += pad;
  }
  const step = niceStep((hi - lo) / count);
  // Rounding to the step's own precision keeps 0.1 + 0.2 from printing as 0.30000000000000004.
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const snap = (v: number) => Number((Math.round(v / step) * step).toFixed(decimals));
  const a = snap(Math.floor(lo / step + 1e-9) * step), b = snap(Math.ceil(hi / step - 1e-9) * step);
  const values: number[] = [];
  for (let k = 0; a + k * step <= b + step / 2; k++) values.push(snap(a + k * step));
  return { lo: a, hi: b, step, values, decimals };
}

/** Integer ticks for epochs 1..n: 1, then multiples of a nice step up to n. */
export function epochTicks(n: number, count = 8): number[] {
  if (n <= 1) return [1];
  const step = Math.max(1, Math.round(niceStep((n - 1) / count)));
  const values = [1];
  for (let v = step; v <= n; v += step) if (v > 1) values.push(v);
  return values;
}

function niceStep(raw: number): number {
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}
