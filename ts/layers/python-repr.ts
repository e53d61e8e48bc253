// Number formatting as Python's repr() prints it, so layer descriptions read like PyTorch's.

/** 0.1 → '0.1', 1 → '1.0', 1e-5 → '1e-05', null → 'None'. */
export function pyFloat(v: number | null): string {
  if (v === null) return 'None';
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-4 || a >= 1e16)) {
    // JS '1e-5' → Python '1e-05': at least two exponent digits.
    return v.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
  }
  const s = String(v);
  return Number.isInteger(v) ? `${s}.0` : s;
}

export function pyBool(v: boolean): string { return v ? 'True' : 'False'; }
