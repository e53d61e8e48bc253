// The shared machinery of the file-reader fuzz tests (fuzz.test.js, onnx-fuzz.test.js): what a
// clean refusal is, case tallies, byte-level mutations and the input types a reader is handed.
import * as assert from 'uvu/assert';


/** Messages the engine writes for a bug of ours; none may reach the user, alone or wrapped. */
export const ENGINE_MESSAGES = [
  /Invalid typed array length/, /Array buffer allocation failed/, /outside the bounds of the DataView/,
  /Offset is outside/, /Start offset/, /Invalid DataView length/, /Cannot read propert(y|ies) of/,
  /is not a function/, /is not iterable/, /is not a constructor/, /is not defined/,
  /Maximum call stack size exceeded/, /Invalid array length/, /Invalid string length/,
  /Cannot convert .* to a BigInt/, /Cannot mix BigInt/, /Cannot use 'in' operator/, /Cannot create property/,
  /Cannot destructure/, /memory access out of bounds/, /unreachable/, /Reduce of empty array/,
];

export const MAX_MESSAGE = 1500;

/** The start of an error's name and message, and where it was thrown, for a failing case's report. */
export function excerpt(err) {
  if (!(err instanceof Error)) return `${typeof err} ${String(err).slice(0, 200)}`;
  const where = (err.stack ?? '').split('\n').filter((l) => l.trim().startsWith('at ')).slice(0, 3).join(' ');
  return `${err.name}: ${err.message.slice(0, 300)}${err.message.length > 300 ? '...' : ''} ${where}`;
}

/** Asserts `err` is a clean Error of ours: no trap anywhere in its causes, no engine message. */
export function checkClean(err, what) {
  const fail = (why) => assert.unreachable(`${what}: ${why}: ${excerpt(err)}`);
  if (!(err instanceof Error)) fail('not an Error');
  for (let e = err; e; e = e.cause) if (e instanceof WebAssembly.RuntimeError) fail('a wasm trap');
  const msg = err.message;
  for (const re of ENGINE_MESSAGES) if (re.test(msg)) fail(`an engine message (${re})`);
  if (/Unexpected (token|end of JSON|non-whitespace)|is not valid JSON/.test(msg) && !/not valid JSON \(/.test(msg)) {
    fail('a JSON.parse message without our context');
  }
  if (msg.length > MAX_MESSAGE) fail(`a ${msg.length}-character message (contents dumped?)`);
}

/** A refusal of a file: clean, starting with the source's name, naming a part of the file. */
export function checkRefusal(err, source, part, what) {
  checkClean(err, what);
  if (!err.message.startsWith(`${source}: `)) assert.unreachable(`${what}: the message does not start with "${source}: ": ${excerpt(err)}`);
  if (!part.test(err.message)) assert.unreachable(`${what}: the message names no file part (${part}): ${excerpt(err)}`);
}

/** Case counts per reader, printed once its fuzz loop is done. */
export class Tally {
  constructor(name) { this.name = name; this.cases = 0; this.refused = 0; this.accepted = 0; }
  print() {
    assert.is(this.refused + this.accepted, this.cases, `${this.name}: every case is counted once`);
    console.log(`fuzz: ${this.name} ${this.cases} cases, ${this.refused} refused, ${this.accepted} accepted`);
  }
}

/**
 * Runs `read()` once as a case of `tally`: a throw is checked as a refusal, a result is handed
 * to `accept`. Returns the result or null.
 */
export function fuzzCase(tally, source, part, what, read, accept) {
  tally.cases++;
  let result;
  try {
    result = read();
  } catch (err) {
    checkRefusal(err, source, part, what);
    tally.refused++;
    return null;
  }
  tally.accepted++;
  accept(result);
  return result;
}

export const int = (rand, n) => Math.floor(rand() * n);
export const pick = (rand, list) => list[int(rand, list.length)];

export const concat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
};

export const randomBytes = (rand, n) => Uint8Array.from({ length: n }, () => int(rand, 256));

export const SPECIAL_BYTES = [0, 1, 2, 7, 8, 9, 0x0a, 0x0d, 0x20, 0x22, 0x2c, 0x2d, 0x2e, 0x30, 0x31, 0x39, 0x3a,
  0x5b, 0x5c, 0x5d, 0x7b, 0x7d, 0x7f, 0x80, 0xc0, 0xfe, 0xff];
export const SPECIAL_U32 = [0, 1, 2, 3, 0x7fffffff, 0x80000000, 0x80000001, 0xffffffff, 0xfffffffe, 0x10000, 0x8000,
  0x4000, 0xffff, 0x40000000, 0x20000000, 0x3fffffff];

/**
 * One random byte-level edit. `hot` bytes at the start hold the structure (a header): most
 * edits land there, where they change the most.
 */
export function mutateBytes(bytes, rand, hot = bytes.length) {
  const spot = () => {
    if (bytes.length === 0) return 0;
    return rand() < 0.75 && hot > 0 ? int(rand, Math.min(hot, bytes.length)) : int(rand, bytes.length);
  };
  const b = bytes.slice();
  switch (int(rand, 8)) {
    case 0: if (b.length) b[spot()] ^= 1 << int(rand, 8); return b;
    case 1: if (b.length) b[spot()] = pick(rand, SPECIAL_BYTES); return b;
    case 2: return b.subarray(0, int(rand, b.length));
    case 3: return concat(b, rand() < 0.5 ? new Uint8Array(1 + int(rand, 16)) : randomBytes(rand, 1 + int(rand, 16)));
    case 4: { const at = spot(); return concat(b.subarray(0, at), b.subarray(at + 1 + int(rand, 8))); }
    case 5: { const at = spot(); return concat(b.subarray(0, at), randomBytes(rand, 1 + int(rand, 8)), b.subarray(at)); }
    case 6: {
      const at = spot();
      if (at + 4 > b.length) return b;
      new DataView(b.buffer).setUint32(at, pick(rand, SPECIAL_U32), rand() < 0.5);
      return b;
    }
    default: { // a range copied over another place
      const from = int(rand, Math.max(b.length, 1)), len = 1 + int(rand, 16), to = spot();
      b.set(bytes.subarray(from, Math.min(from + len, bytes.length, b.length - to + from)), to);
      return b;
    }
  }
}

/** The same bytes handed over in another type (most readers take any of these), or a wrong type. */
export function asInput(bytes, rand) {
  const r = rand();
  if (r < 0.85) return bytes;
  if (r < 0.9) return Buffer.from(bytes);
  if (r < 0.93) return bytes.slice().buffer;
  if (r < 0.95) return new DataView(concat(new Uint8Array(3), bytes).buffer, 3);
  return pick(rand, [Array.from(bytes.subarray(0, 16)), 'bytes', null, undefined, 42, {}, { length: 8 }, new Map(), [1, 2, 3]]);
}
