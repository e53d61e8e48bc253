// Builds dist/simdnet.browser.js: the whole library as one ES module for browsers, for
// `<script type="module">` pages and bundlers (package export "simdnet/browser").
import { build } from 'esbuild';

await build({
  entryPoints: ['ts/index.ts'],
  outfile: 'dist/simdnet.browser.js',
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  // Readable on purpose: the kernels are in the wasm, so minifying the glue saves little.
  minify: false,
  sourcemap: true,
  // node:* modules are imported only inside Node-only functions (file loading, MNIST from disk,
  // the relaxed-SIMD flag), which a browser never calls; left as imports they are never fetched.
  external: ['node:*'],
  // The wasm files stay in build/; from dist/ that is one level up, not two as from dist/runtime/.
  define: { SIMDNET_BUILD_DIR: JSON.stringify('../build/') },
  logLevel: 'warning',
});
