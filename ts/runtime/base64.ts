// Base64 decoding for the embedded wasm builds, written out rather than using atob or Buffer so
// it runs the same in every browser, worker and Node, with no binary-string detour.
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** Each character code's 6-bit value (−1 for none), made at the first decode: importing does nothing. */
let values: Int8Array | null = null;

function valueTable(): Int8Array {
  if (!values) {
    values = new Int8Array(128).fill(-1);
    for (let i = 0; i < ALPHABET.length; i++) values[ALPHABET.charCodeAt(i)] = i;
  }
  return values;
}

/** The bytes of standard base64 text (with '=' padding); throws on any other character. */
export function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const end = text.endsWith('==') ? text.length - 2 : text.endsWith('=') ? text.length - 1 : text.length;
  const out = new Uint8Array(Math.floor(end * 3 / 4));
  const VALUE = valueTable();
  let bits = 0, count = 0, o = 0;
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? VALUE[c] : -1;
    if (v < 0) throw new Error(`simdnet: invalid base64 character at ${i}`);
    bits = ((bits << 6) | v) & 0xffffff;
    count += 6;
    if (count >= 8) {
      count -= 8;
      out[o++] = (bits >>> count) & 0xff;
    }
  }
  return out;
}
