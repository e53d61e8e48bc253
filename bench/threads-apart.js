// A child process of the threads section (bench/threads.js, apartCeiling): one network's training
// step at one batch size on one thread, in a process of its own. It warms up, prints "ready",
// then for each line it reads (a number of ms) runs steps for that long and prints
// {"imgPerSec": …}; it exits when its input ends.
//   node bench/threads-apart.js <network key> <batch>
import { createInterface } from 'node:readline';
import * as sn from 'simdnet';
import { netStepper } from './threads.js';

const [key, batchArg] = process.argv.slice(2);
const batch = Number(batchArg);
await sn.ready({ threads: 1 });
const stepper = netStepper(key, batch);
for (let i = 0; i < 3; i++) stepper.step();
createInterface({ input: process.stdin })
  .on('line', (line) => {
    const ms = Number(line);
    const start = performance.now();
    let steps = 0;
    while (steps < 2 || performance.now() - start < ms) {
      stepper.step();
      steps++;
    }
    console.log(JSON.stringify({ imgPerSec: (steps * batch * 1000) / (performance.now() - start) }));
  })
  .on('close', () => stepper.dispose());
console.log('ready');
