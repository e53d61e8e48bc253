// The README's example runs as written.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

test('the README example runs and prints a falling loss', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const code = readme.match(/```js\n([\s\S]*?)```/)[1];
  const dir = new URL('./tmp/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  const file = new URL('readme-example.mjs', dir);
  writeFileSync(file, code);
  // The runner may force colours on; numbers printed by console.log would then carry escapes.
  const out = execFileSync(process.execPath, [file.pathname], { encoding: 'utf8' }).replace(/\x1b\[[0-9;]*m/g, '');
  assert.ok(out.includes('Total params: 61,706'), out);
  const losses = [...out.matchAll(/epoch \d loss ([\d.]+)/g)].map((m) => Number(m[1]));
  assert.is(losses.length, 3, out);
  assert.ok(losses[2] < losses[0], `loss did not fall: ${losses}`);
  assert.match(out, /first image: \d predicted: \d/);
});

test.run();
