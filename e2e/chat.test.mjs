// End-to-end chat with the clients a web app uses: Apollo Client 4, over HTTP
// for queries and mutations and over graphql-ws (graphql-transport-ws) for
// subscriptions, against a running agentgraph server.
//
//   SERVER_URL=http://127.0.0.1:8080 TOKEN=<access token> AGENT_ID=<agent id> \
//     node --test e2e/chat.test.mjs
//
// EXPECTED_REPLY, if set, is the reply the agent's model is known to give
// (TestNodeApolloE2E in ../server_test.go runs this against a stand-in LLM).
// E2E_TIMEOUT_MS bounds the whole test (default 20000).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

// Node 20 has no global WebSocket, and GraphQLWsLink looks for one when it
// classifies a socket error (a ReferenceError would hide the real error).
globalThis.WebSocket ??= WebSocket;

const { SERVER_URL, TOKEN, AGENT_ID, EXPECTED_REPLY } = process.env;
const TIMEOUT_MS = Number(process.env.E2E_TIMEOUT_MS || 20000);

const MESSAGE_STREAM = gql`
  subscription MessageStream($threadId: ID!) {
    messageStream(threadId: $threadId) { threadId messageId delta done }
  }
`;
const MESSAGE_ADDED = gql`
  subscription MessageAdded($threadId: ID!) {
    messageAdded(threadId: $threadId) { id threadId role content status agentName }
  }
`;
const FEED_EVENT_ADDED = gql`
  subscription FeedEventAdded($agentId: ID) {
    feedEventAdded(agentId: $agentId) { id type message }
  }
`;
const CREATE_FEED_EVENT = gql`
  mutation CreateFeedEvent($input: FeedEventInput!) {
    createFeedEvent(input: $input) { id type }
  }
`;
const SEND_MESSAGE = gql`
  mutation SendMessage($input: SendMessageInput!) {
    sendMessage(input: $input) { id threadId role content status }
  }
`;
const THREAD = gql`
  query Thread($id: ID!) {
    thread(id: $id) {
      id
      messages(last: 10) { edges { node { id role content status } } }
    }
  }
`;

/** Rejects with a message naming what was awaited when ms pass first. */
function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms}ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Subscribes and records every result; until(pred) resolves with the first
 * result, past or future, that pred accepts. An error or an early end of the
 * subscription rejects every wait.
 */
function watch(client, label, query, variables) {
  const values = [];
  const waiters = [];
  let failure;
  let stopped = false;
  const fail = (err) => {
    failure ??= err;
    for (const w of waiters.splice(0)) w.reject(failure);
  };
  const subscription = client.subscribe({ query, variables }).subscribe({
    next(result) {
      if (result.error) return fail(new Error(`${label}: ${result.error.message}`));
      values.push(result.data);
      for (const w of [...waiters]) {
        if (w.pred(result.data)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(result.data);
        }
      }
    },
    error(err) {
      fail(new Error(`${label}: ${err?.message ?? err}`));
    },
    complete() {
      if (!stopped) fail(new Error(`${label}: the server ended the subscription`));
    },
  });
  return {
    values,
    until(pred) {
      if (failure) return Promise.reject(failure);
      const found = values.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => waiters.push({ pred, resolve, reject }));
    },
    stop() {
      stopped = true;
      subscription.unsubscribe();
    },
  };
}

test('a streamed reply over graphql-ws equals the stored reply', { timeout: TIMEOUT_MS + 5000 }, async (t) => {
  assert.ok(SERVER_URL && TOKEN && AGENT_ID, 'set SERVER_URL, TOKEN and AGENT_ID');
  const deadline = Date.now() + TIMEOUT_MS;
  const left = () => Math.max(0, deadline - Date.now());

  const httpUrl = new URL('/query', SERVER_URL).href;
  const wsUrl = httpUrl.replace(/^http/, 'ws');
  const wsClient = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${TOKEN}` },
    retryAttempts: 0,
    on: {
      // Socket-level failures (a refused upgrade, a close code) surface in
      // Apollo only as "Socket closed": say what happened.
      error: (err) => t.diagnostic(`graphql-ws error: ${err?.message ?? err}`),
      closed: (ev) => ev?.code !== 1000 && t.diagnostic(`graphql-ws closed: ${ev?.code} ${ev?.reason ?? ''}`),
    },
  });
  const client = new ApolloClient({
    cache: new InMemoryCache(),
    link: ApolloLink.split(
      (operation) => operation.operationType === 'subscription',
      new GraphQLWsLink(wsClient),
      new HttpLink({ uri: httpUrl, headers: { Authorization: `Bearer ${TOKEN}` } }),
    ),
  });
  const watches = [];
  t.after(async () => {
    for (const w of watches) w.stop();
    client.stop();
    await wsClient.dispose();
  });

  const threadId = `${AGENT_ID}:direct`;
  const stream = watch(client, 'messageStream', MESSAGE_STREAM, { threadId });
  const added = watch(client, 'messageAdded', MESSAGE_ADDED, { threadId });
  const feed = watch(client, 'feedEventAdded', FEED_EVENT_ADDED, { agentId: AGENT_ID });
  watches.push(stream, added, feed);

  // The server registers subscriptions asynchronously: post feed events until
  // one comes back, then the subscriptions sent before it are in place too.
  const ready = feed.until((d) => d.feedEventAdded.type === 'e2e_ready');
  ready.catch(() => {});
  for (let attempt = 0; ; attempt++) {
    await client.mutate({
      mutation: CREATE_FEED_EVENT,
      variables: { input: { agentId: AGENT_ID, type: 'e2e_ready', message: 'subscriptions are up' } },
    });
    const got = await Promise.race([ready.then(() => true), sleep(300).then(() => false)]);
    if (got) break;
    assert.ok(attempt < 20 && left() > 0, 'the feed subscription never delivered the e2e_ready event');
  }

  const content = `Hello from Apollo Client ${Date.now()}`;
  const { data: sent } = await within(
    client.mutate({ mutation: SEND_MESSAGE, variables: { input: { agentId: AGENT_ID, content } } }),
    left(), 'sendMessage');
  assert.equal(sent.sendMessage.threadId, threadId);
  assert.equal(sent.sendMessage.role, 'USER');
  assert.equal(sent.sendMessage.content, content);

  await within(stream.until((d) => d.messageStream.done), left(), 'the last chunk of the streamed reply (done: true)');
  const chunks = stream.values.map((d) => d.messageStream);
  const messageIds = new Set(chunks.map((c) => c.messageId));
  assert.equal(messageIds.size, 1, `one messageId for the whole stream, got ${[...messageIds]}`);
  assert.equal(chunks.filter((c) => c.done).length, 1, 'exactly one done chunk');
  assert.ok(chunks.at(-1).done, 'the done chunk comes last');
  const streamed = chunks.map((c) => c.delta).join('');
  assert.ok(streamed.length > 0, 'the reply streamed some text');
  if (EXPECTED_REPLY) assert.equal(streamed, EXPECTED_REPLY);

  const replyId = [...messageIds][0];
  const reply = (await within(
    added.until((d) => d.messageAdded.role === 'ASSISTANT'), left(), 'the assistant message on messageAdded',
  )).messageAdded;
  assert.equal(reply.id, replyId, 'the stored reply has the stream messageId');
  assert.equal(reply.status, 'COMPLETE');
  assert.equal(reply.content, streamed);
  assert.ok(added.values.some((d) => d.messageAdded.id === sent.sendMessage.id), "the user's message came on messageAdded");

  const { data } = await within(
    client.query({ query: THREAD, variables: { id: threadId }, fetchPolicy: 'network-only' }),
    left(), 'the thread query');
  const messages = data.thread.messages.edges.map((e) => e.node);
  const user = messages.find((m) => m.id === sent.sendMessage.id);
  assert.ok(user, 'the thread holds the user message');
  assert.equal(user.role, 'USER');
  assert.equal(user.content, content);
  const last = messages.at(-1);
  assert.equal(last.id, replyId);
  assert.equal(last.role, 'ASSISTANT');
  assert.equal(last.status, 'COMPLETE');
  assert.equal(last.content, streamed, 'the persisted reply equals the streamed text');
});
