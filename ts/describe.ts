// Values described for error messages: scalars by value, everything else by type and size, never
// by contents. It imports nothing, so every module (tensor.ts and the readers included) can use it.

/** Whether v is a plain object ({ ... }), also from another realm. */
export function isPlainObject(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  // Another realm's Object.prototype (an iframe, a vm context) also has a null prototype.
  return proto === null || proto === Object.prototype || Object.getPrototypeOf(proto) === null;
}

// ---- describing values ----

const MAX_STRING = 40;

/**
 * A short description of any value for an error message: scalars by value ('the string
 * \'true\'', 1.5, NaN, null), everything else by type and size ('an Array of 60000 numbers',
 * 'a Float32Array of 784 values', 'a float32 Tensor of shape [2, 3]'). Never the contents of an
 * array or object, and never throws (a hostile toString or getter cannot break the message).
 */
export function describe(v: unknown): string {
  try {
    return describeUnsafe(v);
  } catch {
    return 'a value that cannot be described';
  }
}

function describeUnsafe(v: unknown): string {
  switch (typeof v) {
    case 'undefined': return 'undefined';
    case 'boolean': return String(v);
    case 'number': return Object.is(v, -0) ? '-0' : String(v);
    case 'bigint': { const s = String(v); return `the bigint ${s.length > 24 ? `${s.slice(0, 20)}… (${s.length} digits)` : `${s}n`}`; }
    case 'string': return describeString(v);
    case 'symbol': return 'a symbol';
    case 'function': return describeFunction(v);
  }
  if (v === null) return 'null';
  if (isTensor(v as object)) { const t = v as { dtype: string; shape: readonly number[] }; return `${article(t.dtype)} ${t.dtype} Tensor of shape [${t.shape.join(', ')}]`; }
  if (isModule(v as object)) return `the module ${(v as { label(): string }).label()}`;
  if (Array.isArray(v)) return describeArray(v);
  if (ArrayBuffer.isView(v)) {
    const name = v.constructor.name;
    return v instanceof DataView ? `a DataView of ${v.byteLength} bytes` : `${article(name)} ${name} of ${count((v as unknown as ArrayLike<unknown>).length, 'value')}`;
  }
  if (v instanceof ArrayBuffer) return `an ArrayBuffer of ${count(v.byteLength, 'byte')}`;
  if (typeof SharedArrayBuffer !== 'undefined' && v instanceof SharedArrayBuffer) return `a SharedArrayBuffer of ${count(v.byteLength, 'byte')}`;
  if (v instanceof Map) return `a Map of ${count(v.size, 'entry', 'entries')}`;
  if (v instanceof Set) return `a Set of ${count(v.size, 'value')}`;
  if (v instanceof Promise) return 'a Promise (a missing await?)';
  if (isPlainObject(v)) {
    const keys = Object.keys(v as object);
    if (keys.length === 0) return 'an empty object';
    const shown = keys.slice(0, 4).map((k) => (k.length > 20 ? `${k.slice(0, 20)}…` : k)).join(', ');
    return `an object with ${keys.length === 1 ? 'key' : 'keys'} ${shown}${keys.length > 4 ? `, … (${keys.length} keys)` : ''}`;
  }
  const name = (v as object).constructor?.name;
  return typeof name === 'string' && name !== '' && name !== 'Object' ? `${article(name)} ${name}` : 'an object';
}

/**
 * A Tensor, or a layer or model, recognised by their members rather than with instanceof:
 * tensor.ts and module.ts describe values too, and importing them here would make the modules
 * import each other.
 */
function isTensor(v: object): boolean {
  const t = v as { dtype?: unknown; shape?: unknown; toArray?: unknown };
  return (t.dtype === 'float32' || t.dtype === 'int64') && Array.isArray(t.shape) && typeof t.toArray === 'function';
}

function isModule(v: object): boolean {
  const m = v as { label?: unknown; forwardDevice?: unknown; outputShape?: unknown };
  return typeof m.label === 'function' && typeof m.forwardDevice === 'function' && typeof m.outputShape === 'function';
}

function describeString(s: string): string {
  if (s === '') return 'an empty string';
  const shown = s.length > MAX_STRING ? `'${escape(s.slice(0, MAX_STRING))}…' (${s.length} characters)` : `'${escape(s)}'`;
  return `the string ${shown}`;
}

/** Control characters and quotes escaped, so a message stays on one line and reads unambiguously. */
function escape(s: string): string {
  return JSON.stringify(s).slice(1, -1).replace(/\\"/g, '"').replace(/'/g, "\\'");
}

function describeFunction(f: Function): string {
  const source = Function.prototype.toString.call(f);
  const kind = /^class[\s{]/.test(source) ? 'class' : 'function';
  const name = f.name && f.name.length <= 40 ? ` ${f.name}` : '';
  return kind === 'class' ? `the class${name} (a constructor, not an instance: a missing new?)` : name ? `the function${name}` : 'a function';
}

function describeArray(a: unknown[]): string {
  if (a.length === 0) return 'an empty Array';
  let kind: string | null = null;
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    const t = v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
    if (kind === null) kind = t;
    else if (kind !== t) { kind = 'mixed'; break; }
  }
  const nouns: Record<string, [string, string]> = {
    number: ['number', 'numbers'], string: ['string', 'strings'], boolean: ['boolean', 'booleans'],
    bigint: ['bigint', 'bigints'], object: ['object', 'objects'], array: ['array', 'arrays'],
    undefined: ['undefined value', 'undefined values'], null: ['null', 'nulls'], function: ['function', 'functions'],
  };
  const [one, many] = nouns[kind!] ?? ['value', 'values'];
  return `an Array of ${count(a.length, one, many)}`;
}

function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** 'an' before a vowel sound: an Array, an int64, but a Uint8Array. */
function article(word: string): string { return /^[aeioAEIO]/.test(word) ? 'an' : 'a'; }

