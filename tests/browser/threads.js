// ResNet-20 trained for two steps on 1, 2 and 3 threads in a page: the weights' bits hashed, and
// how many kernel calls were split, for tests/threads-chromium.test.js to compare with Node's.
import * as sn from '../../dist/simdnet.browser.js';
import { trainedWeightsHash } from './threads-train.js';

const result = { runs: [] };
try {
  result.isolated = self.crossOriginIsolated;
  for (const threads of [1, 2, 3]) {
    const info = await sn.ready({ threads });
    const before = info.splitCalls;
    const hash = trainedWeightsHash(sn);
    const after = sn.backendInfo();
    result.runs.push({ threads, hash, splitCalls: after.splitCalls - before, info: after });
  }
} catch (err) {
  result.error = `${err.message}\n${err.stack}`;
}
window.simdnetResult = result;
