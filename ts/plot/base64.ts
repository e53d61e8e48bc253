// Base64 and data URLs for embedding PNGs in SVG. Written out rather than using btoa/Buffer so
// it behaves the same in every browser and in Node, and needs no binary-string detour.
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Standard base64 (RFC 4648, with '=' padding) of bytes, the same in every browser and in Node. */
export function base64(bytes: Uint8Array): string {
  const parts: string[] = [];
  let chunk = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i], b = bytes[i + 1], c = bytes[i + 2];
    const n = (a << 16) | ((b ?? 0) << 8) | (c ?? 0);
    chunk += ALPHABET[n >>> 18] + ALPHABET[(n >>> 12) & 63] +
      (b === undefined ? '=' : ALPHABET[(n >>> 6) & 63]) + (c === undefined ? '=' : ALPHABET[n & 63]);
    // Flush now and then: one long concatenation chain is slow to flatten in some engines.
    if (chunk.length >= 8192) { parts.push(chunk); chunk = ''; }
  }
  parts.push(chunk);
  return parts.join('');
}

/** A data: URL for PNG bytes, for <image href> or <img src>. */
export function pngDataUrl(png: Uint8Array): string {
  return `data:image/png;base64,${base64(png)}`;
}
