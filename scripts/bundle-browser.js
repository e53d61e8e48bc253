// Builds dist/simdnet.browser.js: the whole library as one ES module for browsers, for
// `<script type="module">` pages and bundlers (package export "simdnet/browser").
import { build } from 'esbuild';

await build({
  entryPoints: ['ts/index.ts'],
  outfile: 'dist/simdnet.browser.js',
  bundle: true,
  format: 'esm',
  // '#platform' resolves through package.json's imports to the browser implementation (no
  // `node` condition here), so nothing from Node is reachable: a node:* import would fail the build.
  platform: 'browser',
  target: 'es2022',
  // Readable on purpose: the kernels are in the wasm, so minifying the glue saves little. Both
  // wasm builds are inside (base64); ready() decodes the one it picks.
  minify: false,
  sourcemap: true,
  // package.json's sideEffects names dist/ files; from ts/ every module would count as free of
  // them, and esbuild would drop the bare imports that register the layers (ts/layers/builtin.ts).
  ignoreAnnotations: true,
  logLevel: 'warning',
});
