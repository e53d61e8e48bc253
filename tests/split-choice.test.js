// A split pass timed both ways (runtime/split-choice.ts): the trial's calls alternate split and
// whole, the faster way by median holds until the next trial, and results are the same bits
// whichever way each pass runs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { rt, SplitChoice, splitTuning, splitChoices, clearSplitChoices } from 'simdnet/internal';
import { rng, randn, bits } from './helpers.js';

await sn.ready({ threads: 2 });

/** What next() says over `times.length` calls, each then recorded with its time in ms (split time, whole time). */
function drive(choice, times) {
  return times.map(([split, whole]) => {
    const s = choice.next();
    choice.record(s ? split : whole);
    return s;
  });
}

test('a trial alternates split and whole, four calls each; the faster by median holds for recheckAfter calls, then a new trial', () => {
  const { trials, recheckAfter } = splitTuning;
  assert.is(trials, 3);
  const choice = new SplitChoice();
  assert.is(choice.decided, null);
  // Whole faster: 2 ms against 3, except one slow whole call (an outlier the median ignores) and
  // untimed first calls that would decide the other way.
  const trial = [[3, 50], [50, 2], [3, 2], [3, 9], [3, 2], [3, 2], [3, 2], [3, 2]];
  assert.equal(drive(choice, trial), [true, false, true, false, true, false, true, false]);
  assert.is(choice.decided, 'whole');
  const held = drive(choice, Array.from({ length: recheckAfter }, () => [1, 100]));
  assert.ok(held.every((s) => !s), 'the choice holds, whatever the whole calls now take');
  // The next trial: split faster now.
  assert.equal(drive(choice, Array.from({ length: 8 }, () => [1, 100])), [true, false, true, false, true, false, true, false]);
  assert.is(choice.decided, 'split');
  assert.ok(drive(choice, Array.from({ length: 20 }, () => [1, 100])).every((s) => s));
});

test('whole is chosen only when its median is under wholeBelow (0.9) of split\'s', () => {
  assert.is(splitTuning.wholeBelow, 0.9);
  for (const [whole, decided] of [[2, 'split'], [1.85, 'split'], [1.79, 'whole']]) {
    const choice = new SplitChoice();
    drive(choice, Array.from({ length: 8 }, () => [2, whole]));
    assert.is(choice.decided, decided, `split 2 ms, whole ${whole} ms`);
  }
});

/** LeNet-5's parameters as bits after `steps` SGD steps on `threads` threads, and the workers' hand-offs in each step. */
async function train(threads, steps) {
  sn.setNumThreads(threads);
  await rt().pool.whenStarted();
  clearSplitChoices();
  sn.manualSeed(1);
  const model = sn.models.lenet5();
  const opt = new sn.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  const lossFn = new sn.CrossEntropyLoss();
  // Batch 129: each convolution's forward and weight gradient, and the first Linear, split.
  const x = sn.tensor(randn(129 * 784, rng(5)), [129, 1, 28, 28]);
  const labels = Array.from({ length: 129 }, (_, i) => i % 10);
  const handOffs = [];
  try {
    for (let s = 0; s < steps; s++) {
      const runs = rt().pool.runs;
      lossFn.forward(model.forward(x), labels).backward();
      opt.step();
      opt.zeroGrad();
      handOffs.push(rt().pool.runs - runs);
    }
    return { weights: model.parameters().flatMap((p) => bits(p.data.toArray())), handOffs };
  } finally {
    opt.dispose();
    model.dispose();
  }
}

test('LeNet-5 trains to the same bits on 1 thread as on 2 with each pass tried split and whole, then run as chosen', async () => {
  assert.ok(splitTuning.enabled, 'on by default');
  const one = await train(1, 12);
  assert.ok(one.handOffs.every((n) => n === 0));
  const two = await train(2, 12);
  // Each pass's calls alternate in its trial: every split pass hands off at odd steps, none at even ones.
  assert.ok(two.handOffs[0] >= 4, `the first step splits its passes: ${two.handOffs}`);
  assert.equal([two.handOffs[1], two.handOffs[3], two.handOffs[5], two.handOffs[7]], [0, 0, 0, 0], `${two.handOffs}`);
  assert.equal([two.handOffs[2], two.handOffs[4], two.handOffs[6]], [two.handOffs[0], two.handOffs[0], two.handOffs[0]]);
  const chosen = Object.values(splitChoices()).reduce((n, c) => n + c.split + c.whole, 0);
  assert.is(chosen, two.handOffs[0], 'every pass that split in the first step has chosen');
  const a = one.weights, b = two.weights;
  assert.is(a.length, b.length);
  const differ = a.filter((v, i) => v !== b[i]).length;
  assert.is(differ, 0, `${differ} of ${a.length} weights differ from one thread's`);
});

test.run();
