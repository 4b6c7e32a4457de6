// examples/web as a person meets it: the built app, served by `vite preview`
// (which forwards /query, WebSocket included, to the server), opened in
// headless Chromium with a token in the URL. It lists the agents (two pages,
// "Load more"), sends one a message, shows the reply growing chunk by chunk,
// then the stored reply and the reply_done feed event. Driven by TestWebExampleInBrowser
// (../examples_test.go): SERVER_URL, TOKEN, AGENT_NAME, AGENT_ID, AGENT_COUNT,
// EXPECTED_REPLY, SCREENSHOT; the app must be built (examples/web/dist).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { launch, gql } from './browser.mjs';

const { SERVER_URL: server, TOKEN: token, AGENT_NAME, AGENT_COUNT, AGENT_ID, EXPECTED_REPLY, SCREENSHOT } = process.env;
const appDir = path.resolve('examples/web');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function freePort() {
  const srv = createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

// vite preview, a child of this process (and so in the Go test's process
// group): killed when the test ends.
const port = await freePort();
const preview = spawn(process.execPath,
  [path.join(appDir, 'node_modules/vite/bin/vite.js'), 'preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort'],
  { cwd: appDir, env: { ...process.env, AGENTGRAPH_URL: server }, stdio: ['ignore', 'inherit', 'inherit'] });
const app = `http://127.0.0.1:${port}`;
after(() => preview.kill('SIGKILL'));

for (let i = 0; ; i++) {
  const ok = await fetch(app).then((r) => r.ok, () => false);
  if (ok) break;
  if (preview.exitCode !== null || i > 100) throw new Error(`vite preview did not start on ${app}`);
  await sleep(100);
}

const browser = await launch();
after(() => browser.close());

test('the example app lists agents, streams a reply and shows the feed', { timeout: 45_000 }, async () => {
  const page = await browser.newPage({ viewport: { width: 1300, height: 700 } });
  page.on('pageerror', (e) => console.log('page error:', e.message));
  page.on('console', (m) => m.type() === 'error' && console.log('console:', m.text()));
  const external = [];
  page.on('request', (r) => { if (!r.url().startsWith(app)) external.push(r.url()); });

  // Every text the streaming reply shows, as the DOM changes.
  await page.addInitScript(() => {
    window.__streamed = [];
    new MutationObserver(() => {
      for (const el of document.querySelectorAll('[data-testid=streaming]')) {
        const text = el.firstChild?.nodeType === Node.TEXT_NODE ? el.firstChild.textContent : '';
        if (window.__streamed.at(-1) !== text) window.__streamed.push(text);
      }
    }).observe(document, { subtree: true, childList: true, characterData: true });
  });

  await page.goto(`${app}/?token=${encodeURIComponent(token)}`, { waitUntil: 'load' });
  assert.ok(!page.url().includes('token='), 'the token stays out of the address bar');

  // The first page of agents, then the rest through "Load more" (fetchMore,
  // merged by relayStylePagination).
  const agents = page.locator('[data-testid=agent]');
  await agents.first().waitFor({ timeout: 15_000 });
  assert.equal(await agents.count(), 5, 'a first page of five agents');
  await page.getByRole('button', { name: 'Load more' }).click();
  await page.locator('[data-testid=agent]:nth-child(6)').waitFor({ timeout: 10_000 });
  assert.equal(await agents.count(), Number(AGENT_COUNT), 'every agent after Load more');
  const agent = agents.filter({ hasText: AGENT_NAME });
  await agent.locator('button').click();
  await page.locator('[data-testid=chat-input]').waitFor();

  // Subscriptions start asynchronously on the server: post feed events
  // until one shows, so the socket and the ones sent before it are up.
  const ready = `ready ${Date.now()}`;
  let up = false;
  for (let i = 0; i < 20 && !up; i++) {
    await gql(server, token, 'mutation($in: FeedEventInput!) { createFeedEvent(input: $in) { id } }',
      { in: { agentId: AGENT_ID, type: 'web_ready', message: ready } });
    up = await page.locator('[data-testid=feed-event]', { hasText: ready }).first()
      .waitFor({ timeout: 500 }).then(() => true, () => false);
  }
  assert.ok(up, 'the feed subscription never showed an event');

  await page.locator('[data-testid=chat-input]').fill('What is on today?');
  await page.getByRole('button', { name: 'Send' }).click();
  await page.locator('[data-testid=message][data-role=USER]', { hasText: 'What is on today?' }).waitFor({ timeout: 10_000 });

  const stored = page.locator('[data-testid=message][data-role=ASSISTANT][data-status=COMPLETE]');
  await stored.waitFor({ timeout: 20_000 });
  assert.equal((await stored.innerText()).trim(), EXPECTED_REPLY);

  const states = await page.evaluate(() => window.__streamed);
  console.log('streamed states:', JSON.stringify(states));
  const partial = states.filter((s) => s && s !== EXPECTED_REPLY && EXPECTED_REPLY.startsWith(s));
  assert.ok(partial.length >= 2, `want at least two partial states of the reply, saw ${JSON.stringify(states)}`);
  assert.equal(await page.locator('[data-testid=streaming]').count(), 0, 'the streamed text gave way to the stored reply');

  await page.locator('[data-testid=feed-event][data-type=reply_done]').first().waitFor({ timeout: 10_000 });
  if (SCREENSHOT) await page.screenshot({ path: SCREENSHOT });
  assert.deepEqual(external, [], 'requests left the app origin');
});
