// The bundler test's second app: only `ready`, `load` and `tensor` imported by name, so a bundler
// may drop every export the app does not use. It loads model.safetensors (written by the test: a
// model that names every built-in layer type) and runs it in eval mode. sn.load rebuilds layers
// through the registry they add themselves to, so they must all have stayed in the bundle.
import { ready, load, tensor } from 'simdnet';

async function run() {
  await ready();
  const model = await load(new URL('model.safetensors', document.baseURI));
  model.eval();
  const x = tensor(Float32Array.from({ length: 2 * 2 * 6 * 6 }, (_, i) => Math.sin(i * 0.7) * 2), [2, 2, 6, 6]);
  return { description: String(model), output: Array.from(model.forward(x).toArray()) };
}

window.simdnetResult = run().catch((err) => ({ error: String(err?.stack ?? err) }));
