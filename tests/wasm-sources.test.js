// Where ready() takes the kernels from: the builds embedded in the package by default (no file
// fetched), a directory of builds (wasmPath), or a source per build (wasm: { simd, relaxedSimd }),
// over HTTP from 127.0.0.1 as a page would, or from disk in Node. A response that is not wasm (a
// dev server's index.html) is refused with what was fetched and how to fix it. ready() loads
// once per process, so each case runs in a fresh Node.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { decodeBase64 } from 'simdnet/internal';

const root = fileURLToPath(new URL('..', import.meta.url));
const builds = {
  simd: readFileSync(new URL('../build/simdnet.wasm', import.meta.url)),
  relaxedSimd: readFileSync(new URL('../build/simdnet-relaxed.wasm', import.meta.url)),
};
const PAGE = '<!doctype html><html><head><title>app</title></head><body><div id="app"></div></body></html>';

/**
 * Serves build/ under /build/, answers every path under /spa/ with an HTML page (as a dev server's
 * fallback does), and 404 elsewhere; records the paths asked for.
 */
async function serve() {
  const requested = [];
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://127.0.0.1').pathname;
    requested.push(path);
    const file = /^\/build\/(simdnet(-relaxed)?\.wasm)$/.exec(path);
    if (file) res.writeHead(200, { 'content-type': 'application/wasm' }).end(file[2] ? builds.relaxedSimd : builds.simd);
    else if (path.startsWith('/spa/')) res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    else res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return { origin: `http://127.0.0.1:${server.address().port}`, requested, close: () => new Promise((ok) => { server.closeAllConnections(); server.close(ok); }) };
}

/**
 * Runs `body` (the inside of an async function with sn, origin and a `tryReady(options)` that
 * gives 'loaded: relaxed|plain' or the Error's message) in a fresh Node; returns what it returns.
 */
async function child(body, { origin = '', plain = false } = {}) {
  const { SIMDNET_RELAXED_SIMD, ...env } = process.env;
  if (plain) env.SIMDNET_RELAXED_SIMD = '0';
  const script = `import * as sn from 'simdnet'; import { readFileSync } from 'node:fs';
    const origin = ${JSON.stringify(origin)};
    const tryReady = (options) => sn.ready(options).then((r) => 'loaded: ' + (r.relaxedSimd ? 'relaxed' : 'plain'), (e) => e.message);
    const out = await (async () => { ${body} })();
    console.log(JSON.stringify(out));`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env, cwd: root });
  return JSON.parse(stdout);
}

test('the embedded builds are the build/ files gzipped, and decode exactly by either platform\'s gunzip', async () => {
  const { platform: nodePlatform } = await import('../dist/platform/node.js');
  const { platform: browserPlatform } = await import('../dist/platform/browser.js');
  for (const [name, file] of [['simd', builds.simd], ['relaxed-simd', builds.relaxedSimd]]) {
    const { default: text } = await import(`../dist/runtime/embedded/${name}.js`);
    const packed = decodeBase64(text);
    assert.ok(packed.length < file.length / 2, `${name}: ${packed.length} bytes embedded for a build of ${file.length}`);
    assert.ok(Buffer.from(gunzipSync(packed)).equals(file), `${name}: run npm run build`);
    // Node inflates by zlib, a page by its DecompressionStream (Node has one too, so both run here).
    for (const [where, p] of [['node', nodePlatform], ['browser', browserPlatform]]) {
      assert.ok(Buffer.from(await p.gunzip(packed)).equals(file), `${name}: ${where} platform's gunzip`);
    }
  }
  // The training worker's script (sn.worker in a page) is embedded the same way.
  const { default: worker } = await import('../dist/runtime/embedded/worker.js');
  const script = new TextDecoder().decode(await browserPlatform.gunzip(decodeBase64(worker)));
  assert.ok(script.startsWith('/*simdnet training worker*/') && script.length > 100000, `the worker's script: ${script.slice(0, 60)}`);
  // An engine without DecompressionStream is told what to do instead.
  const saved = globalThis.DecompressionStream;
  try {
    delete globalThis.DecompressionStream;
    await browserPlatform.gunzip(decodeBase64(
      (await import('../dist/runtime/embedded/simd.js')).default)).then(() => assert.unreachable('inflated without DecompressionStream'), (err) => {
      assert.match(err.message, /^simdnet: this JavaScript engine has no DecompressionStream .* ready\(\{ wasmPath \}\)/);
    });
  } finally {
    globalThis.DecompressionStream = saved;
  }
  // Every length modulo 3 (padding), and all byte values.
  for (let n = 0; n < 300; n++) {
    const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 97 + n * 31) & 255);
    assert.equal([...decodeBase64(Buffer.from(bytes).toString('base64'))], [...bytes], `${n} bytes`);
  }
  assert.throws(() => decodeBase64('AG*z'), /invalid base64 character at 2/);
});

test('by default the embedded build is used, relaxed or plain as asked, with nothing fetched', async () => {
  const server = await serve();
  try {
    assert.is(await child('return tryReady();'), 'loaded: relaxed');
    assert.is(await child('return tryReady();', { plain: true }), 'loaded: plain');
    assert.is(await child('return tryReady({ relaxedSimd: false });'), 'loaded: plain');
    assert.equal(server.requested, []);
  } finally {
    await server.close();
  }
});

test('wasmPath: only the build picked is fetched, over HTTP or from a directory on disk', async () => {
  const server = await serve();
  try {
    assert.is(await child('return tryReady({ wasmPath: origin + "/build/" });', { origin: server.origin }), 'loaded: relaxed');
    assert.equal(server.requested, ['/build/simdnet-relaxed.wasm']);
    // Without the trailing slash, and as a URL object.
    assert.is(await child('return tryReady({ wasmPath: new URL(origin + "/build") });', { origin: server.origin, plain: true }), 'loaded: plain');
    assert.equal(server.requested, ['/build/simdnet-relaxed.wasm', '/build/simdnet.wasm']);
    assert.is(await child('return tryReady({ wasmPath: "build" });'), 'loaded: relaxed');
    assert.is(await child('return tryReady({ wasmPath: new URL("file://" + process.cwd() + "/build/") });', { plain: true }), 'loaded: plain');
    assert.is(server.requested.length, 2);
  } finally {
    await server.close();
  }
});

test('wasm: { simd, relaxedSimd } takes a URL, a Response, bytes or a Module per build', async () => {
  const server = await serve();
  try {
    const out = await child(`
      const got = {};
      got.url = await tryReady({ wasm: { simd: origin + '/build/simdnet.wasm', relaxedSimd: origin + '/build/simdnet-relaxed.wasm' } });
      return got;`, { origin: server.origin });
    assert.equal(out, { url: 'loaded: relaxed' });
    assert.equal(server.requested, ['/build/simdnet-relaxed.wasm']);
    const plain = await child(`return tryReady({ wasm: { simd: await fetch(origin + '/build/simdnet.wasm'), relaxedSimd: origin + '/build/simdnet-relaxed.wasm' } });`,
      { origin: server.origin, plain: true });
    assert.is(plain, 'loaded: plain');
    assert.equal(server.requested.slice(1), ['/build/simdnet.wasm'], 'the relaxed build is not fetched when the plain one is picked');
    // Only the plain build named: it is used, also where relaxed SIMD runs.
    assert.is(await child(`return tryReady({ wasm: { simd: new WebAssembly.Module(readFileSync('build/simdnet.wasm')) } });`), 'loaded: plain');
    assert.is(await child(`return tryReady({ wasm: { relaxedSimd: readFileSync('build/simdnet-relaxed.wasm') } });`), 'loaded: relaxed');
    // wasmPath for the build not named.
    assert.is(await child(`return tryReady({ wasmPath: origin + '/spa/', wasm: { relaxedSimd: readFileSync('build/simdnet-relaxed.wasm') } });`, { origin: server.origin }), 'loaded: relaxed');
    assert.is(server.requested.length, 2, 'wasmPath is not asked for a build given in wasm');
  } finally {
    await server.close();
  }
});

test('a page instead of wasm, a missing file, a swapped build or a wrong option: an Error that says so, and ready() still works after', async () => {
  const server = await serve();
  try {
    const out = await child(`
      const got = [];
      got.push(await tryReady({ wasmPath: origin + '/spa/' }));
      got.push(await tryReady({ wasm: origin + '/missing/simdnet.wasm' }));
      got.push(await tryReady({ wasm: new Response('<html></html>', { headers: { 'content-type': 'text/html' } }) }));
      got.push(await tryReady({ wasm: { relaxedSimd: readFileSync('build/simdnet.wasm') } }));
      got.push(await tryReady({ relaxedSimd: false, wasm: { relaxedSimd: readFileSync('build/simdnet-relaxed.wasm') } }));
      got.push(await tryReady({ wasm: { relaxed: 'x.wasm' } }));
      got.push(await tryReady({ wasm: { simd: 5 } }));
      got.push(await tryReady({ wasm: {} }));
      got.push(await tryReady({ wasm: 'a.wasm', wasmPath: '/b/' }));
      got.push(await tryReady({ wasmPath: 7 }));
      got.push(await tryReady({ wasmPaths: '/b/' }));
      got.push(await tryReady({ wasmPath: 'no-such-dir' }));
      got.push(await tryReady());
      got.push(await tryReady({ wasmPath: 'build/' }));
      return got;`, { origin: server.origin });
    const fallback = `${server.origin}/spa/simdnet-relaxed.wasm`;
    const expected = [
      new RegExp(`^simdnet: ready\\(\\{ wasmPath \\}\\): ${fallback.replace(/[.]/g, '\\.')} is not WebAssembly: it came as text/html, ${PAGE.length} bytes starting with "<!doctype html><"… \\(3c 21 64 6f 63 74 79 70 65 20 68 74 6d 6c 3e 3c\\), ` +
        'not with wasm\'s "\\\\0asm" \\(00 61 73 6d\\)\\. A server that answers a missing file with a page \\(a dev server\'s index\\.html\\) does this: ' +
        'serve simdnet\'s simdnet\\.wasm and simdnet-relaxed\\.wasm there \\(they are in node_modules/simdnet/build/, exported as simdnet/simdnet\\.wasm and simdnet/simdnet-relaxed\\.wasm\\), ' +
        'or leave out wasm and wasmPath to use the builds embedded in simdnet$'),
      new RegExp(`^simdnet: ready\\(\\{ wasm \\}\\): cannot fetch the wasm kernels from ${server.origin}/missing/simdnet\\.wasm: HTTP 404 Not Found$`),
      /^simdnet: ready\(\{ wasm \}\): a Response is not WebAssembly: it came as text\/html, 13 bytes starting with "<html><\/html>" \(3c 68 74 6d 6c 3e 3c 2f 68 74 6d 6c 3e\), not with wasm's/,
      /^simdnet: ready\(\{ wasm: \{ relaxedSimd \} \}\): that module is simdnet's plain SIMD build \(simdnet\.wasm\), not the relaxed-SIMD one \(simdnet-relaxed\.wasm\); pass it as wasm\.simd$/,
      /^simdnet: ready\(\{ wasm \}\): only the relaxed-SIMD build is given, and relaxedSimd is false \(or SIMDNET_RELAXED_SIMD=0\): add the plain SIMD build \(simdnet\.wasm\) as wasm\.simd$/,
      /^simdnet: ready\(\{ wasm \}\): unknown option 'relaxed' \(the options are simd, relaxedSimd\)$/,
      /^simdnet: ready\(\{ wasm: \{ simd \} \}\): expected the module's bytes \(an ArrayBuffer or a typed array\), a URL, a Response, or a WebAssembly\.Module, got 5$/,
      /^simdnet: ready\(\{ wasm \}\): the object names no build; give simd or relaxedSimd \(or leave wasm out for the embedded builds\)$/,
      /^simdnet: ready\(\{ wasm, wasmPath \}\): one wasm module and a directory of builds exclude each other; pass one, or name the module's build: \{ wasm: \{ simd: … \} \}$/,
      /^simdnet: ready\(\{ wasmPath \}\): expected the URL \(or, in Node, the path\) of a directory holding simdnet\.wasm and simdnet-relaxed\.wasm, got 7$/,
      /^simdnet: ready\(options\): unknown option 'wasmPaths'; did you mean 'wasmPath'\?/,
      /^simdnet: ready\(\{ wasmPath \}\): cannot read the relaxed-SIMD build \(simdnet-relaxed\.wasm\) from no-such-dir\/simdnet-relaxed\.wasm: ENOENT/,
      /^loaded: relaxed$/,
      /^simdnet: ready\(\{ wasmPath \}\): the kernels are already loaded \(the relaxed-SIMD build\); where the wasm comes from is chosen at the first ready\(\) call$/,
    ];
    assert.is(out.length, expected.length, out.join('\n'));
    expected.forEach((re, i) => assert.match(out[i], re, `case ${i}: ${out[i]}`));
  } finally {
    await server.close();
  }
});

test.run();
