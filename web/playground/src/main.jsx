// GraphiQL for agentgraph: the explorer plugin, example operations in tabs,
// queries and mutations over HTTP, subscriptions over graphql-transport-ws.
// Everything is bundled (vite build) and embedded in the server binary, so
// the page works without internet and under a CSP without third parties.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import { explorerPlugin } from '@graphiql/plugin-explorer';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { createClient } from 'graphql-ws';
import { getOperationAST, parse } from 'graphql';
import 'graphiql/setup-workers/vite';
import 'graphiql/style.css';
import '@graphiql/plugin-explorer/style.css';
import { exampleTabs } from './examples.js';

// The server writes {endpoint, token?} into a meta tag rather than an
// inline script, so a strict Content-Security-Policy needs no exception.
const config = JSON.parse(document.querySelector('meta[name="agentgraph-config"]')?.content || '{}');
const endpoint = new URL(config.endpoint || '/query', window.location.href);
const wsEndpoint = new URL(endpoint);
wsEndpoint.protocol = endpoint.protocol === 'https:' ? 'wss:' : 'ws:';
const auth = config.token ? { Authorization: `Bearer ${config.token}` } : {};

const http = createGraphiQLFetcher({ url: endpoint.href, headers: auth });

// One socket per Authorization value: a subscription uses the token of the
// headers editor (or dev mode's), sent in connection_init as the server
// expects; changing the header opens a new socket.
let socket = null;
let socketAuth;
function socketFor(authorization) {
  if (!socket || socketAuth !== authorization) {
    socket?.dispose();
    socketAuth = authorization;
    socket = createClient({
      url: wsEndpoint.href,
      connectionParams: () => (authorization ? { Authorization: authorization } : {}),
    });
  }
  return socket;
}

function isSubscription(query, operationName) {
  try {
    return getOperationAST(parse(query), operationName || undefined)?.operation === 'subscription';
  } catch {
    return false; // let the server report the syntax error
  }
}

function fetcher(params, opts) {
  if (isSubscription(params.query, params.operationName)) {
    const headers = { ...auth, ...(opts?.headers || {}) };
    return socketFor(headers.Authorization || headers.authorization).iterate(params);
  }
  return http(params, opts);
}

const plugins = [explorerPlugin()];
const headers = JSON.stringify(auth, null, 2);

createRoot(document.getElementById('root')).render(
  <StrictMode>
    <GraphiQL
      fetcher={fetcher}
      plugins={plugins}
      defaultTabs={exampleTabs.map((t) => ({ ...t, headers }))}
      defaultHeaders={headers}
      defaultEditorToolsVisibility={config.token ? false : 'headers'}
    />
  </StrictMode>,
);
