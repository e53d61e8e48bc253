// The same random batch for every framework: fixed-seed standard-normal pixels and labels 0..9.
// (The Python side draws its own with the same recipe; the values only have to be realistic,
// not identical, for timing.) `pixels` is the size of one image: 784 for LeNet-5's 1×28×28,
// 3072 for the CIFAR nets' 3×32×32.

export function inputs(batch, seed = 1234, pixels = 784, classes = 10) {
  let s = seed >>> 0;
  const uniform = () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return (s + 0.5) / 2 ** 32; };
  const x = new Float32Array(batch * pixels);
  for (let i = 0; i < x.length; i++) x[i] = Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  const labels = new Int32Array(batch);
  for (let i = 0; i < batch; i++) labels[i] = Math.floor(uniform() * classes);
  return { x, labels };
}

/**
 * Distinct batches that a throughput loop cycles through. One batch trained on for thousands of
 * steps is fitted exactly: its gradients and Adam's moments sink into subnormal floats, which
 * the CPU computes many times slower (wasm cannot flush them to zero), and the loop would time
 * that instead of training. Over `images` random images with random labels the loss stays up.
 */
export function inputPool(batch, images = 1024, pixels = 784, classes = 10) {
  const count = Math.max(1, Math.ceil(images / batch));
  const { x, labels } = inputs(batch * count, 1234, pixels, classes);
  return Array.from({ length: count }, (_, i) => ({
    x: x.subarray(i * batch * pixels, (i + 1) * batch * pixels),
    labels: labels.subarray(i * batch, (i + 1) * batch),
  }));
}
