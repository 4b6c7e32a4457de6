// GraphiQL as a person meets it: the embedded playground, opened in
// headless Chromium against the real server in dev mode, runs the first
// example query over HTTP and the feed subscription over
// graphql-transport-ws, and receives an event posted meanwhile. Driven by
// TestPlaygroundInBrowser (../newcomer_test.go): SERVER_URL, TOKEN (the
// dev user's, the one the page was given), SCREENSHOT.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, gql } from './browser.mjs';

const server = process.env.SERVER_URL;
const token = process.env.TOKEN;
const screenshot = process.env.SCREENSHOT;

const browser = await launch();

// waitForText polls an element's text: Monaco splits lines into token spans,
// so text locators miss what innerText shows.
async function waitForText(locator, want, timeout) {
  const end = Date.now() + timeout;
  for (;;) {
    // Monaco renders spaces as no-break spaces.
    const text = (await locator.innerText().catch(() => '')).replaceAll('\u00a0', ' ');
    if (text.includes(want)) return text;
    if (Date.now() > end) throw new Error(`no "${want}" within ${timeout} ms; text:\n${text}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
after(() => browser.close());

test('the playground runs a query and a subscription', { timeout: 90_000 }, async () => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const failed = [];
  page.on('requestfailed', (r) => failed.push(r.url()));
  page.on('pageerror', (e) => console.log('page error:', e.message));
  await page.goto(`${server}/`, { waitUntil: 'load' });

  // Every asset comes from the server itself: no CDN.
  const external = [];
  page.on('request', (r) => { if (!r.url().startsWith(server) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) external.push(r.url()); });

  const response = page.locator('.graphiql-response');
  const run = page.locator('.graphiql-execute-button');
  await run.waitFor({ timeout: 30_000 });
  await waitForText(page.locator('.graphiql-query-editor'), 'query Agents', 30_000);

  // Tab 1: the Agents query, with the dev token the page was given.
  await run.click();
  const text = await waitForText(response, 'totalCount', 20_000);
  assert.doesNotMatch(text, /UNAUTHENTICATED/);

  // Tab 2: the feed subscription; an event posted now arrives on the page.
  await page.locator('.graphiql-tab').nth(1).click();
  // GraphiQL learns the tab's operation name when its editor parses the
  // query, a moment after the switch; running before would send "Agents".
  await page.waitForTimeout(1500);
  await run.click();
  await page.waitForTimeout(1000); // let the socket subscribe
  const message = `seen in the playground ${Date.now()}`;
  // Post until it shows (the subscription may still be starting).
  let seen = false;
  for (let i = 0; i < 10 && !seen; i++) {
    await gql(server, token, 'mutation($m: String!) { createFeedEvent(input: {type: "note", message: $m}) { id } }', { m: message });
    seen = await waitForText(response, message, 2_000).then(() => true, () => false);
  }
  assert.ok(seen, `the subscription never showed "${message}"; response pane:\n${await response.innerText()}`);
  if (screenshot) await page.screenshot({ path: screenshot });
  assert.deepEqual(external, [], 'requests left the server');
  assert.deepEqual(failed.filter((u) => !u.startsWith('ws')), [], 'failed requests');
});
