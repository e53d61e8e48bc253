// Shared by the headless Chromium tests: serves the repository over HTTP, opens Debian's Chromium
// (apt-get install -y chromium; never a downloaded browser) in a fresh profile, records page
// errors, console errors and failed requests, and makes sure no browser outlives the test.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveStatic } from '../scripts/static-server.js';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * Runs `use(page, origin)` in a fresh Chromium (`isolated`: the pages served cross-origin
 * isolated, as threads need) and returns `{ out, problems, requested }`: what
 * `use` returned, what went wrong in the page, and the paths the server was asked for. The
 * timeouts guard against a hung browser or page; they are not speed checks.
 */
export async function inChromium(what, { stepTimeoutMs, testTimeoutMs, context: contextOptions = {}, isolated = false }, use) {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: ${what} needs Debian's Chromium (apt-get install -y chromium)`);
  }
  const { chromium } = await import('playwright-core');
  const server = await serveStatic(ROOT, { isolated });
  const profile = await mkdtemp(join(tmpdir(), 'simdnet-chromium-'));
  const problems = [];
  let launching = null;
  let timer;
  try {
    const run = (async () => {
      launching = chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM, headless: true, timeout: stepTimeoutMs, args: FLAGS, ...contextOptions,
      });
      const context = await launching;
      const page = context.pages()[0] ?? await context.newPage();
      page.setDefaultTimeout(stepTimeoutMs);
      page.on('pageerror', (err) => problems.push(`page error: ${err.stack ?? err.message}`));
      page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`); });
      page.on('requestfailed', (req) => problems.push(`request failed: ${req.url()} ${req.failure()?.errorText}`));
      return use(page, server.origin);
    })();
    run.catch(() => {}); // if the deadline wins, closing the browser below rejects this; already reported
    const deadline = new Promise((_, fail) => {
      timer = setTimeout(() => fail(new Error(`${what} did not finish within ${testTimeoutMs / 1000} s`)), testTimeoutMs);
    });
    const out = await Promise.race([run, deadline]);
    return { out, problems, requested: server.requested };
  } finally {
    clearTimeout(timer);
    // A launch still under way when the deadline passed is waited for (its own timeout bounds
    // that) and closed, so no Chromium outlives the test.
    const context = await launching?.catch(() => null);
    await context?.close();
    await server.close();
    await rm(profile, { recursive: true, force: true });
  }
}
