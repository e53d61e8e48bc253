// Loads TensorFlow.js (core, cpu and wasm backends) for the comparison, or says why it cannot.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);

/**
 * Returns { tf, wasm, version, gradientsFrom } or { error } when the packages are not installed.
 * The Node build of tfjs-core registers no gradients (the `@tensorflow/tfjs` umbrella package does
 * that in its own bundle), and its ESM files use extensionless imports that Node cannot load, so
 * tfjs-core's own register_all_gradients is bundled once with esbuild into a temporary file. The
 * gradient and kernel registries are process-wide globals, so the bundle's copy registers into
 * the same engine.
 */
export async function loadTfjs() {
  let tf, wasm;
  try {
    tf = require('@tensorflow/tfjs-core');
    require('@tensorflow/tfjs-backend-cpu');
    wasm = require('@tensorflow/tfjs-backend-wasm');
  } catch (err) {
    return { error: `TensorFlow.js is not installed (${err.code ?? err.message}); npm install --save-dev @tensorflow/tfjs-core@4.22 @tensorflow/tfjs-backend-cpu@4.22 @tensorflow/tfjs-backend-wasm@4.22` };
  }
  tf.enableProdMode(); // no debug checks, and no console notice about tfjs-node
  if (!tf.getGradient('Conv2D')) {
    const entry = require.resolve('@tensorflow/tfjs-core/dist/register_all_gradients.js');
    const bundle = join(tmpdir(), `simdnet-bench-tfjs-${tf.version_core}-gradients.cjs`);
    if (!existsSync(bundle)) {
      let esbuild;
      try { esbuild = await import('esbuild'); } catch {
        return { error: 'cannot register tfjs-core gradients: esbuild (a devDependency) is needed to bundle them' };
      }
      await esbuild.build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'cjs', outfile: bundle, logLevel: 'error' });
    }
    require(bundle);
  }
  // In Node the wasm backend runs on one thread (no cross-origin-isolated workers); ask for it anyway.
  wasm.setThreadsCount?.(1);
  return { tf, wasm, version: tf.version_core };
}

/** Switches to a backend and reports the backend's own view of its features. */
export async function useBackend(loaded, name) {
  const { tf, wasm } = loaded;
  if (!(await tf.setBackend(name))) throw new Error(`TensorFlow.js backend ${name} failed to initialise`);
  await tf.ready();
  if (name !== 'wasm') return { backend: name, threads: 1 };
  return {
    backend: name,
    simd: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'),
    threads: wasm.getThreadsCount?.() ?? 1,
  };
}
