// A tiny static file server for the repository, on 127.0.0.1 only: the browser test and the demo
// need the bundle, the wasm and the pages over HTTP (browsers refuse wasm and modules from file:).
import { createServer } from 'node:http';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, extname, resolve, sep } from 'node:path';

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.wasm': 'application/wasm',
  '.safetensors': 'application/octet-stream',
};

/** The content type of a file we agree to serve, or undefined. MNIST's IDX files have no extension. */
function contentType(file) {
  return MIME[extname(file)] ?? (/-idx\d-ubyte$/.test(basename(file)) ? 'application/octet-stream' : undefined);
}

/** The headers that make a page cross-origin isolated, which threads over a SharedArrayBuffer need. */
export const ISOLATION_HEADERS = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };

/**
 * Serves `root` on 127.0.0.1 at `port` (0: a free one). A path ending in / serves its index.html.
 * `isolated`: every response carries ISOLATION_HEADERS. Resolves to { origin, requested, close };
 * `requested` lists every path asked for, in order.
 */
export async function serveStatic(root, { port = 0, isolated = false } = {}) {
  const base = resolve(root) + sep;
  const requested = [];
  const server = createServer(async (req, res) => {
    try {
      let path = decodeURIComponent(new URL(req.url, 'http://127.0.0.1').pathname);
      requested.push(path);
      if (path.endsWith('/')) path += 'index.html';
      const file = resolve(base, '.' + path);
      const type = contentType(file);
      // Only known file types, and nothing outside the root.
      if (!file.startsWith(base) || !type) throw new Error('not served');
      const { size } = await stat(file);
      res.writeHead(200, { 'content-type': type, 'content-length': size, 'cache-control': 'no-store', ...(isolated ? ISOLATION_HEADERS : {}) });
      // Streamed: the MNIST training images are 47 MB.
      createReadStream(file).on('error', () => res.destroy()).pipe(res);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((ok, fail) => { server.once('error', fail); server.listen(port, '127.0.0.1', ok); });
  const address = server.address();
  return {
    origin: `http://127.0.0.1:${address.port}`,
    requested,
    close: () => new Promise((ok) => { server.closeAllConnections(); server.close(ok); }),
  };
}
