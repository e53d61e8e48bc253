// sn.load(src) (io.loadModel) and io.loadModelInto take a path, a file: URL, an http URL (served
// here on 127.0.0.1), a Response, a Blob or File, or the bytes; model.download(name) is for pages
// and says so in Node. (tests/browser.test.js runs the same sources and the download in Chromium.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as sn from 'simdnet';

await sn.ready();
sn.manualSeed(3);
const model = new sn.Sequential(new sn.Conv2d(1, 2, 3), new sn.BatchNorm2d(2), new sn.ReLU(), new sn.Flatten(), new sn.Linear(2 * 4 * 4, 3));
const bytes = model.toSafetensors();
const bits = (m) => Object.values(m.stateDict()).map((t) => (t.dtype === 'int64' ? [...t.toInt64Array()].map(String) : [...new Uint32Array(t.toArray().buffer)]));
const dir = mkdtempSync(join(tmpdir(), 'simdnet-sources-'));
const path = join(dir, 'm.safetensors');
writeFileSync(path, bytes);

const rejects = async (fn, re) => {
  let message = 'no Error';
  try { await fn(); } catch (e) { message = e.message; }
  assert.match(message, re);
};

test('sn.load reads a path, a file: URL, an http URL, a Response, a Blob, a File and bytes', async () => {
  const requested = [];
  const server = createServer((req, res) => {
    requested.push(req.url);
    if (req.url === '/m.safetensors') res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(bytes);
    else res.writeHead(404).end();
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const origin = `http://127.0.0.1:${server.address().port}`;
  try {
    const sources = {
      path,
      fileUrl: pathToFileURL(path),
      fileUrlString: pathToFileURL(path).href,
      httpString: `${origin}/m.safetensors`,
      httpUrl: new URL('/m.safetensors', origin),
      response: await fetch(`${origin}/m.safetensors`),
      constructedResponse: new Response(bytes),
      blob: new Blob([bytes]),
      file: new File([bytes], 'm.safetensors'),
      uint8: bytes,
      arrayBuffer: bytes.slice().buffer,
      dataView: new DataView(bytes.slice().buffer),
    };
    for (const [kind, src] of Object.entries(sources)) {
      const loaded = await sn.load(src);
      assert.is(String(loaded), String(model), kind);
      assert.equal(bits(loaded), bits(model), kind);
    }
    const into = new sn.Sequential(new sn.Conv2d(1, 2, 3), new sn.BatchNorm2d(2), new sn.ReLU(), new sn.Flatten(), new sn.Linear(2 * 4 * 4, 3));
    await sn.io.loadModelInto(into, new Blob([bytes]));
    assert.equal(bits(into), bits(model));
    assert.equal(requested, ['/m.safetensors', '/m.safetensors', '/m.safetensors']);

    await rejects(() => sn.load(`${origin}/absent.safetensors`), new RegExp(`^loadModel: cannot fetch a model from ${origin}/absent\\.safetensors: HTTP 404 Not Found$`));
    await rejects(() => sn.load(new Response('nope', { status: 500 })), /^loadModel: cannot fetch a model from a Response: HTTP 500$/);
    const used = await fetch(`${origin}/m.safetensors`);
    await used.arrayBuffer();
    await rejects(() => sn.load(used), /^loadModel: the Response from .*\/m\.safetensors has already been read; pass a new one \(or its bytes\)$/);
    // The name in messages: the File's, the URL.
    await rejects(() => sn.load(new File([new Uint8Array(3)], 'tiny.safetensors')), /^the File tiny\.safetensors: /);
    await rejects(() => sn.load(join(dir, 'absent.safetensors')), /^loadModel: cannot read a model from .*absent\.safetensors: ENOENT/);
    for (const bad of [5, '', null, {}, [1, 2]]) {
      await rejects(() => sn.load(bad), /^loadModel: expected a file path \(a non-empty string\), a URL, a Response, a Blob or the file's bytes, got /);
    }
  } finally {
    server.closeAllConnections();
    await new Promise((ok) => server.close(ok));
  }
});

test('model.download is for pages: in Node it names model.save(path), and checks its name first', () => {
  assert.throws(() => model.download('m.safetensors'), /^download: saving through a download needs a page \(a document\); in Node use model\.save\(path\)$/);
  assert.throws(() => model.download(''), /^download: expected a file name \(a non-empty string without \/ or \\\), got an empty string$/);
  assert.throws(() => model.download('a/b.safetensors'), /^download: expected a file name/);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
