// Helpers for readers of untrusted files: what a message may say about a value from a file (its
// type and a short preview, never its whole contents, never by recursing as deep as it nests),
// and the one check every binary reader makes of its input.
import { describe } from '../describe.js';

/** How many characters of a value a message shows. */
const PREVIEW_CHARS = 60;
/** How deep a preview looks into nested arrays and objects: a hostile file may nest 10^6 deep. */
const PREVIEW_DEPTH = 4;

/**
 * A short JSON-like preview of `v` for an error message: at most about 60 characters, nesting
 * shown 4 levels deep, costing time in proportion to what it shows (so a 10^6-element array or a
 * 10^5-deep one costs no more than a small one).
 */
export function preview(v: unknown, max = PREVIEW_CHARS): string {
  let out = '';
  // Each write returns false once the budget is spent, so the walk stops early.
  const put = (s: string): boolean => { out += s; return out.length <= max; };
  const walk = (x: unknown, depth: number): boolean => {
    if (typeof x === 'string') return put(JSON.stringify(x.length > max ? x.slice(0, max) : x));
    if (typeof x === 'number') return put(Object.is(x, -0) ? '-0' : String(x));
    if (typeof x === 'bigint') return put(`${x}n`);
    if (x === null || x === undefined || typeof x === 'boolean') return put(String(x));
    if (typeof x !== 'object') return put(`a ${typeof x}`);
    if (ArrayBuffer.isView(x) || x instanceof ArrayBuffer) return put(describe(x));
    if (depth >= PREVIEW_DEPTH) return put(Array.isArray(x) ? '[...]' : '{...}');
    if (Array.isArray(x)) {
      if (!put('[')) return false;
      for (let i = 0; i < x.length; i++) {
        if ((i > 0 && !put(',')) || !walk(x[i], depth + 1)) return false;
      }
      return put(']');
    }
    if (!put('{')) return false;
    let first = true;
    for (const key in x) {
      if (!Object.hasOwn(x, key)) continue;
      if ((!first && !put(',')) || !put(`${JSON.stringify(key.length > max ? key.slice(0, max) : key)}:`)) return false;
      first = false;
      if (!walk((x as Record<string, unknown>)[key], depth + 1)) return false;
    }
    return put('}');
  };
  walk(v, 0);
  return out.length > max ? `${out.slice(0, max - 3)}...` : out;
}

/** A name from a file (a tensor's, a metadata key), quoted and cut short when long. */
export function quoteName(name: string): string {
  return name.length <= PREVIEW_CHARS ? JSON.stringify(name) : `${JSON.stringify(name.slice(0, PREVIEW_CHARS))}... (${name.length} characters)`;
}

/** A shape for a message: all of it when short, else its start and its rank. */
export function briefShape(shape: readonly unknown[]): string {
  if (shape.length <= 8) return `[${shape.join(', ')}]`;
  return `[${shape.slice(0, 4).join(', ')}, ..., ${shape[shape.length - 1]}] (${shape.length} dimensions)`;
}

/** At most `max` names for a message, then how many more there are. */
export function listNames(names: readonly string[], max = 8): string {
  const shown = names.slice(0, max).map((n) => (n.length > PREVIEW_CHARS ? `${n.slice(0, PREVIEW_CHARS)}...` : n));
  return names.length > max ? `${shown.join(', ')} and ${names.length - max} more` : shown.join(', ');
}

/**
 * The byte count of `shape` × `itemBytes`, in float64, or Infinity once the running product of
 * the dimensions passes 2^53 (as the reference safetensors reader refuses a product that
 * overflows, even if a 0 comes later: [2^40, 2^40, 0] would make a Tensor's size NaN).
 */
export function shapeBytes(shape: readonly number[], itemBytes: number): number {
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (n > Number.MAX_SAFE_INTEGER) return Infinity;
  }
  return n * itemBytes;
}

/** A byte count for a message: exact when it is, else how far past 2^53 it lies. */
export function formatBytes(n: number): string {
  return Number.isSafeInteger(n) ? `${n}` : Number.isFinite(n) ? `${n.toPrecision(4)} (more than 2^53)` : 'more than 2^53';
}

/**
 * The bytes of a file handed over as a Uint8Array (a Node Buffer is one), an ArrayBuffer, a
 * SharedArrayBuffer or any other ArrayBufferView (its bytes, not its elements). Anything else
 * is an Error naming `source` and the accepted types.
 */
export function fileBytes(input: unknown, source: string, reader: string): Uint8Array {
  if (input instanceof Uint8Array) return input;
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  if (input instanceof ArrayBuffer || (typeof SharedArrayBuffer === 'function' && input instanceof SharedArrayBuffer)) return new Uint8Array(input);
  throw new Error(`${source}: ${reader} expects a Uint8Array (a Node Buffer is one), an ArrayBuffer or another ArrayBufferView holding the file's bytes, got ${describe(input)}`);
}
