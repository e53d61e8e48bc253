// tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter kernel, so the gradient of every conv2d
// weight fails there. To still compare training, the harness can register that kernel for wasm
// as a composition of kernels the backend has: for stride 1,
//   dW[kh,kw,c,o] = Σ_{n,oh,ow} x[n, oh+kh-p, ow+kw-p, c] · dy[n,oh,ow,o]
// is itself a convolution of x with the channels as the batch (x → [C,H,W,N]) by dy used as the
// filter (dy → [OH,OW,N,O]), which gives [C,KH,KW,O]; one transpose puts it in [KH,KW,C,O].

export const MISSING_KERNEL = 'Conv2DBackpropFilter';

/** Whether this backend lacks the kernel (wasm 4.22 does). */
export function lacksBackpropFilter(tf, backend) { return !tf.getKernel(MISSING_KERNEL, backend); }

export function registerComposedBackpropFilter(tf, backend = 'wasm') {
  const asTensor = (t) => (t instanceof tf.Tensor ? t : tf.engine().makeTensorFromTensorInfo(t));
  tf.registerKernel({
    kernelName: MISSING_KERNEL,
    backendName: backend,
    kernelFunc: ({ inputs, attrs }) => {
      const { strides, pad, dataFormat } = attrs;
      const [sh, sw] = typeof strides === 'number' ? [strides, strides] : strides;
      if (sh !== 1 || sw !== 1 || (dataFormat && dataFormat !== 'NHWC') || !(typeof pad === 'number' || pad === 'valid')) {
        throw new Error(`${MISSING_KERNEL} (composed for ${backend}): only stride 1, NHWC and numeric or 'valid' padding, got strides ${strides}, pad ${pad}, ${dataFormat}`);
      }
      return tf.tidy(() => {
        const xT = tf.transpose(asTensor(inputs.x), [3, 1, 2, 0]);
        const dyT = tf.transpose(asTensor(inputs.dy), [1, 2, 0, 3]);
        // Explicit padding: tfjs 4.22 sizes the output of a numeric `pad` from the filter height
        // alone, which is wrong (and overruns wasm memory) for the non-square filters dy can make.
        const p = pad === 'valid' ? 0 : pad;
        return tf.transpose(tf.conv2d(xT, dyT, 1, [[0, 0], [p, p], [p, p], [0, 0]]), [1, 2, 0, 3]);
      });
    },
  });
}

/**
 * Largest difference between tf.conv2d's weight gradient on the current backend and a plain
 * float64 loop, on small random data: the composed kernel must compute the real gradient.
 */
export function checkBackpropFilter(tf) {
  const [N, H, W, C, O, K, P] = [2, 6, 5, 3, 4, 3, 1];
  const rand = (n, seed) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 131 + i * 7.13));
  const x = rand(N * H * W * C, 1), w = rand(K * K * C * O, 2);
  const OH = H + 2 * P - K + 1, OW = W + 2 * P - K + 1;
  const dy = rand(N * OH * OW * O, 3);
  const got = tf.tidy(() => {
    const f = (filter) => tf.sum(tf.mul(tf.conv2d(tf.tensor4d(x, [N, H, W, C]), filter, 1, P), tf.tensor4d(dy, [N, OH, OW, O])));
    return tf.grad(f)(tf.tensor4d(w, [K, K, C, O])).dataSync();
  });
  let worst = 0;
  for (let kh = 0; kh < K; kh++) for (let kw = 0; kw < K; kw++) for (let c = 0; c < C; c++) for (let o = 0; o < O; o++) {
    let s = 0;
    for (let n = 0; n < N; n++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
      const ih = oh + kh - P, iw = ow + kw - P;
      if (ih >= 0 && ih < H && iw >= 0 && iw < W) s += x[((n * H + ih) * W + iw) * C + c] * dy[((n * OH + oh) * OW + ow) * O + o];
    }
    worst = Math.max(worst, Math.abs(s - got[((kh * K + kw) * C + c) * O + o]));
  }
  return worst;
}
