// The GraphQL over HTTP audit of graphql-http (serverAudits) against a
// running server: every MUST and every SHOULD passes. Driven by
// TestGraphQLOverHTTPAudit (../newcomer_test.go) with SERVER_URL and TOKEN.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serverAudits } from 'graphql-http';

const url = `${process.env.SERVER_URL}/query`;
const token = process.env.TOKEN;

// The audits send their own requests; the token makes the server answer
// them as a signed-in user would (the audits' queries are `{ __typename }`,
// which needs none, but a real client sends one).
function fetchWithToken(input, init = {}) {
  const headers = new Headers(init.headers);
  if (token) headers.set('Authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
}

for (const audit of serverAudits({ url, fetchFn: fetchWithToken })) {
  test(audit.name, async () => {
    const result = await audit.fn();
    if (result.status === 'ok') return;
    // MAY audits are optional; a MUST or SHOULD failure is a failure.
    if (audit.name.startsWith('MAY')) {
      console.log(`note (${result.status}): ${audit.name}: ${result.reason}`);
      return;
    }
    assert.fail(`${result.status}: ${result.reason}\n${JSON.stringify(result.response?.body ?? '', null, 1)}`);
  });
}
