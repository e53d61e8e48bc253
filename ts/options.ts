// Checks of option objects and arguments shared by every public entry point, so that a value
// of the wrong type, a misspelt key or an out-of-range number is refused everywhere with the
// same kind of message: where, which option, what was expected, and what came instead —
// described by its type (a short value only for scalars), never by dumping its contents.
import { describe, isPlainObject } from './describe.js';

export { describe };

/** What one option (or argument) accepts: a description for messages, and the test. */
export interface Rule {
  /** Completes "must be …", e.g. 'a boolean (true or false)'. */
  readonly expected: string;
  test(v: unknown): boolean;
}

/** The options an entry point takes, by key. */
export type Spec = Readonly<Record<string, Rule>>;

// ---- rules ----

export const boolean: Rule = { expected: 'a boolean (true or false)', test: (v) => typeof v === 'boolean' };
export const string: Rule = { expected: 'a string', test: (v) => typeof v === 'string' };
export const func: Rule = { expected: 'a function', test: (v) => typeof v === 'function' };
/** For an option whose value the caller checks itself (with a message of its own). */
export const anything: Rule = { expected: 'any value', test: () => true };

/** A (safe) integer in [min, max]. */
export function integer(min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): Rule {
  return { expected: `an integer ${range(min, max, false, false)}`.trimEnd(), test: (v) => Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max };
}

export interface NumberRange {
  min?: number;
  max?: number;
  /** Exclude the bound itself: (min, …) rather than [min, …]. */
  minOpen?: boolean;
  maxOpen?: boolean;
}

/** A finite number, optionally within a range. */
export function finite(r: NumberRange = {}): Rule {
  const { min = -Infinity, max = Infinity, minOpen = false, maxOpen = false } = r;
  return {
    expected: `a finite number ${range(min, max, minOpen, maxOpen)}`.trimEnd(),
    test: (v) => typeof v === 'number' && Number.isFinite(v) &&
      (minOpen ? v > min : v >= min) && (maxOpen ? v < max : v <= max),
  };
}

/** One of a few given values (strings or numbers), compared with ===. */
export function oneOf(...values: readonly (string | number)[]): Rule {
  const shown = values.map((v) => (typeof v === 'string' ? `'${v}'` : String(v)));
  const expected = shown.length > 1 ? `${shown.slice(0, -1).join(', ')} or ${shown.at(-1)}` : shown[0];
  return { expected, test: (v) => values.includes(v as string | number) };
}

/** An instance of `ctor`, described as `expected` (e.g. 'an Optimizer'). */
export function instanceOf(ctor: abstract new (...args: never[]) => unknown, expected: string): Rule {
  return { expected, test: (v) => v instanceof ctor };
}

/** Any of the rules; `expected` describes them together when given. */
export function either(rules: readonly Rule[], expected?: string): Rule {
  return { expected: expected ?? rules.map((r) => r.expected).join(' or '), test: (v) => rules.some((r) => r.test(v)) };
}

/** The same test under another description, for messages that say more than the rule's own. */
export function described(rule: Rule, expected: string): Rule { return { expected, test: rule.test }; }

export const nullValue: Rule = { expected: 'null', test: (v) => v === null };

function range(min: number, max: number, minOpen: boolean, maxOpen: boolean): string {
  const lowBound = Number.isFinite(min) && min > Number.MIN_SAFE_INTEGER;
  const highBound = Number.isFinite(max) && max < Number.MAX_SAFE_INTEGER;
  if (lowBound && highBound) return `in ${minOpen ? '(' : '['}${min}, ${max}${maxOpen ? ')' : ']'}`;
  if (lowBound) return `${minOpen ? '>' : '≥'} ${min}`;
  if (highBound) return `${maxOpen ? '<' : '≤'} ${max}`;
  return '';
}

// ---- checks ----

/**
 * Throws unless `options` is undefined or a plain object whose keys are all in `spec` and whose
 * values pass their rules; undefined values count as absent (so `{ lr: undefined }` means the
 * default). The message names `where`, the option, what it must be and what it is; an unknown
 * key is named with the accepted ones and the closest of them when it looks like a typo.
 */
export function checkOptions(where: string, options: unknown, spec: Spec): void {
  if (options === undefined) return;
  checkOptionsObject(where, options, Object.keys(spec));
  const allowed = Object.keys(spec);
  for (const key of Object.keys(options as object)) {
    if (!Object.hasOwn(spec, key)) throw new Error(unknownKeyMessage(where, key, allowed));
  }
  for (const key of allowed) {
    const v = (options as Record<string, unknown>)[key];
    if (v !== undefined) checkValue(where, key, v, spec[key]);
  }
}

/** Throws unless `options` is a plain object (`{ ... }`), naming what it is instead; `keys` show its shape. */
export function checkOptionsObject(where: string, options: unknown, keys: readonly string[] = []): void {
  if (!isPlainObject(options)) {
    const shape = keys.length ? `{ ${keys.slice(0, 4).map((k) => `${k}?`).join(', ')}${keys.length > 4 ? ', …' : ''} }` : '{ name: value }';
    throw new Error(`${where}: options must be an object ${shape}, got ${describe(options)}`);
  }
}

/** Throws `${where}: ${name} must be ${rule.expected}, got …` unless v passes the rule. */
export function checkValue(where: string, name: string, v: unknown, rule: Rule): void {
  if (!rule.test(v)) throw new Error(`${where}: ${name} must be ${rule.expected}, got ${describe(v)}`);
}

function unknownKeyMessage(where: string, key: string, allowed: string[]): string {
  const shownKey = describeKey(key);
  const list = allowed.length ? `the options are ${allowed.join(', ')}` : 'it takes no options';
  const guess = closest(key, allowed);
  return guess !== null
    ? `${where}: unknown option ${shownKey}; did you mean '${guess}'? (${list})`
    : `${where}: unknown option ${shownKey} (${list})`;
}

function describeKey(key: string): string {
  return key.length > 40 ? `'${escape(key.slice(0, 40))}…' (${key.length} characters)` : `'${escape(key)}'`;
}

/**
 * The allowed key nearest to `key` when it is likely a typo: the same letters up to case,
 * underscores and hyphens (PyTorch's weight_decay for weightDecay), or a few edits away.
 */
export function closest(key: string, allowed: readonly string[]): string | null {
  const norm = (s: string) => s.toLowerCase().replace(/[_-]/g, '');
  const k = norm(key);
  let best: string | null = null, bestDistance = Infinity;
  for (const a of allowed) {
    const d = editDistance(k, norm(a));
    if (d < bestDistance) { best = a; bestDistance = d; }
  }
  // Up to 2 edits, and fewer than half the key's letters: 'x' is no typo of 'lr'.
  return best !== null && bestDistance <= 2 && bestDistance < k.length / 2 ? best : null;
}

/**
 * Edit distance counting insertions, deletions, substitutions and swaps of neighbours (the
 * commonest typo: 'bais' for 'bias'), for short keys.
 */
function editDistance(a: string, b: string): number {
  if (a.length > 64 || b.length > 64) return Infinity;
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * Throws unless `source` (the name of a file or of data, used in messages) is a string: options
 * passed in its place are a common slip, and would otherwise name the data "[object Object]".
 */
export function checkSource(where: string, source: unknown, call: string): void {
  if (typeof source !== 'string') {
    throw new Error(`${where}: source must be a string (the name of the data in messages), got ${describe(source)}; the call is ${call}`);
  }
}

