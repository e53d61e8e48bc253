// Throwaway browser apps that use simdnet as a user's would, built with the bundlers of the
// project's devDependencies in their default configuration: Vite (build and dev server), webpack
// 5 and esbuild. The package goes in as `npm pack` makes it, extracted into the app's
// node_modules (simdnet has no runtime dependencies, so nothing is fetched from a registry).
// Used by tests/bundlers.test.js and scripts/bundle-sizes.js.
import { spawn, execFile } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'node_modules', '.bin');

/** A page that loads `script` (a module unless `classic`), with no favicon request (a 404 would count). */
function html(script, classic = false) {
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>simdnet app</title></head>\n` +
    `<body><script${classic ? '' : ' type="module"'} src="${script}"></script></body></html>\n`;
}

/** Runs a command to the end; rejects with its output when it fails. Resolves to { stdout, stderr }. */
export async function run(file, args, cwd) {
  try {
    return await promisify(execFile)(file, args, { cwd, encoding: 'utf8', maxBuffer: 16 << 20, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } });
  } catch (err) {
    throw new Error(`${file} ${args.join(' ')} failed in ${cwd}:\n${err.stdout ?? ''}${err.stderr ?? err.message}`);
  }
}

/** `npm pack --ignore-scripts` of the built repository into `dir`; resolves to the tarball's path. */
export async function pack(dir) {
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], ROOT);
  return join(dir, stdout.trim().split('\n').at(-1));
}

/**
 * Makes an app in `dir` with simdnet from `tarball` in its node_modules and `source` as
 * src/index.js, plus `extra` files ({ relative path: text }). The page each bundler serves is
 * written as that bundler expects it: index.html at the root for Vite, dist/index.html for webpack
 * and esbuild (whose output is dist/main.js).
 */
export async function makeApp(dir, bundler, tarball, source, extra = {}) {
  const pkgDir = join(dir, 'node_modules', 'simdnet');
  await mkdir(pkgDir, { recursive: true });
  await mkdir(join(dir, 'src'), { recursive: true });
  await mkdir(join(dir, 'dist'), { recursive: true });
  await run('tar', ['-xzf', tarball, '-C', pkgDir, '--strip-components=1'], dir);
  const files = {
    'package.json': JSON.stringify({ name: `simdnet-${bundler}-app`, private: true, type: 'module' }, null, 2) + '\n',
    'src/index.js': source,
    ...(bundler === 'vite' ? { 'index.html': html('/src/index.js') } : {}),
    ...(bundler === 'webpack' ? { 'dist/index.html': html('main.js', true) } : {}),
    ...(bundler === 'esbuild' ? { 'dist/index.html': html('main.js') } : {}),
    ...extra,
  };
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

/**
 * Builds the app in `dir` as its bundler's documentation says, with no configuration file: `vite
 * build`, `webpack --mode production` (src/index.js → dist/main.js), and `esbuild --bundle
 * --platform=browser --format=esm` for each of `esbuildEntries` (src name → dist name).
 * Resolves to the build's output (for warnings) and the output directory.
 */
export async function build(dir, bundler, { esbuildEntries = { 'index.js': 'main.js' } } = {}) {
  let log = '';
  if (bundler === 'vite') {
    const { stdout, stderr } = await run(join(BIN, 'vite'), ['build'], dir);
    log = stdout + stderr;
  } else if (bundler === 'webpack') {
    const { stdout, stderr } = await run(join(BIN, 'webpack'), ['--mode', 'production'], dir);
    log = stdout + stderr;
  } else {
    for (const [from, to] of Object.entries(esbuildEntries)) {
      const { stdout, stderr } = await run(join(BIN, 'esbuild'), [`src/${from}`, '--bundle', '--platform=browser', '--format=esm', `--outfile=dist/${to}`], dir);
      log += stdout + stderr;
    }
  }
  return { log, outDir: join(dir, 'dist') };
}

/** A port that was free a moment ago, on 127.0.0.1. */
async function freePort() {
  const server = createServer();
  await new Promise((ok, fail) => { server.once('error', fail); server.listen(0, '127.0.0.1', ok); });
  const { port } = server.address();
  await new Promise((ok) => server.close(ok));
  return port;
}

/**
 * Starts `vite` (the dev server) in `dir` on 127.0.0.1; resolves to { origin, output, close }
 * once it listens. `close()` ends the process this started (and only it).
 */
export async function startViteDev(dir, { timeoutMs = 30_000 } = {}) {
  const port = await freePort();
  const child = spawn(join(BIN, 'vite'), ['--host', '127.0.0.1', '--port', String(port), '--strictPort'], {
    cwd: dir, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise((ok) => child.once('exit', ok));
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  try {
    await new Promise((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`vite did not start within ${timeoutMs / 1000} s:\n${output}`)), timeoutMs);
      const read = (chunk) => {
        output += chunk;
        if (output.includes(`http://127.0.0.1:${port}/`)) { clearTimeout(timer); ok(); }
      };
      child.stdout.on('data', read);
      child.stderr.on('data', read);
      child.once('exit', (code) => { clearTimeout(timer); fail(new Error(`vite exited with ${code}:\n${output}`)); });
    });
  } catch (err) {
    await close();
    throw err;
  }
  return { origin: `http://127.0.0.1:${port}`, output: () => output, close };
}

/** Every file under `dir`, as paths relative to it. */
export async function filesUnder(dir, prefix = '') {
  const out = [];
  for (const entry of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...await filesUnder(dir, rel));
    else out.push(rel);
  }
  return out;
}
