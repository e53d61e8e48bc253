// Bytes from outside the process, for load() and ready(): a path (Node), a URL, a Response or a
// Blob (a File is one). Strings are paths in Node, unless they are http(s):, data: or blob: URLs,
// and URLs relative to the page in a browser.
import { platform } from '#platform';

/** Bytes fetched or read, with where they came from, for messages. */
export interface Fetched {
  bytes: Uint8Array<ArrayBuffer>;
  /** The path, the URL, or a description of the Response or Blob. */
  from: string;
  /** The content type a server or Blob gave, or null (files on disk have none). */
  contentType: string | null;
}

/** A source of bytes that names a place or holds a body: not the bytes themselves. */
export type ByteSource = string | URL | Response | Blob;

/** Whether `v` is a ByteSource (Response and Blob only where the engine has them). */
export function isByteSource(v: unknown): v is ByteSource {
  return typeof v === 'string' || v instanceof URL || isResponse(v) || isBlob(v);
}

export function isResponse(v: unknown): v is Response {
  return typeof Response === 'function' && v instanceof Response;
}

export function isBlob(v: unknown): v is Blob {
  return typeof Blob === 'function' && v instanceof Blob;
}

const URL_SCHEME = /^(https?|data|blob):/i;

/**
 * The bytes of `src`. `who` starts every message (e.g. 'load'), `what` names the content
 * ('a model'). Throws an Error naming the place and what went wrong (HTTP status, missing file).
 */
export async function fetchBytes(src: ByteSource, who: string, what: string): Promise<Fetched> {
  if (isBlob(src)) {
    const name = typeof File === 'function' && src instanceof File ? `the File ${src.name}` : `a Blob of ${src.size} bytes`;
    return { bytes: new Uint8Array(await src.arrayBuffer()), from: name, contentType: src.type || null };
  }
  if (isResponse(src)) return fromResponse(src, src.url || 'a Response', who, what);
  const fileUrl = src instanceof URL ? src.protocol === 'file:' : /^file:/i.test(src);
  const path = platform.node && (fileUrl || (typeof src === 'string' && !URL_SCHEME.test(src)));
  if (path) {
    try {
      return { bytes: new Uint8Array(await platform.readFile(fileUrl ? new URL(src) : src)), from: String(src), contentType: null };
    } catch (err) {
      throw new Error(`${who}: cannot read ${what} from ${String(src)}: ${(err as Error).message}`, { cause: err });
    }
  }
  if (fileUrl) throw new Error(`${who}: cannot read ${String(src)}: a page cannot read file: URLs; serve the file over HTTP, or pass a File from an <input type="file">`);
  let res: Response;
  try {
    res = await fetch(src);
  } catch (err) {
    throw new Error(`${who}: cannot fetch ${what} from ${String(src)}: ${(err as Error).message}`, { cause: err });
  }
  return fromResponse(res, res.url || String(src), who, what);
}

async function fromResponse(res: Response, from: string, who: string, what: string): Promise<Fetched> {
  if (!res.ok) throw new Error(`${who}: cannot fetch ${what} from ${from}: HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);
  if (res.bodyUsed) throw new Error(`${who}: the Response from ${from} has already been read; pass a new one (or its bytes)`);
  return { bytes: new Uint8Array(await res.arrayBuffer()), from, contentType: res.headers.get('content-type') };
}

/** The first bytes of `bytes` as text and hex, for messages about content that is not what it should be. */
export function firstBytes(bytes: Uint8Array, n = 16): string {
  const head = bytes.subarray(0, n);
  const text = Array.from(head, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
  const hex = Array.from(head, (b) => b.toString(16).padStart(2, '0')).join(' ');
  return bytes.length ? `${JSON.stringify(text)}${bytes.length > n ? '…' : ''} (${hex})` : 'nothing (0 bytes)';
}
