import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from '@apollo/client';
import { SetContextLink } from '@apollo/client/link/context';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { relayStylePagination } from '@apollo/client/utilities';
import { OperationTypeNode } from 'graphql';
import { createClient } from 'graphql-ws';
import { getToken } from './token.js';

const httpURL = new URL('/query', window.location.href).href;
const wsURL = httpURL.replace(/^http/, 'ws');

// connectionParams is a function: graphql-ws calls it on every connect and
// reconnect, so a socket always starts with a fresh token.
export const wsClient = createClient({
  url: wsURL,
  connectionParams: async () => {
    const token = await getToken();
    return token ? { Authorization: `Bearer ${token}` } : {};
  },
  retryAttempts: Infinity,
  shouldRetry: () => true,
});

const auth = new SetContextLink(async (prev) => {
  const token = await getToken();
  return { headers: { ...prev.headers, ...(token ? { Authorization: `Bearer ${token}` } : {}) } };
});

export const client = new ApolloClient({
  cache: new InMemoryCache({
    typePolicies: {
      Query: {
        fields: {
          // Pages of agents(first, after) merge into one list; status and
          // type filters are separate lists.
          agents: relayStylePagination(['status', 'type']),
        },
      },
    },
  }),
  link: ApolloLink.split(
    ({ operationType }) => operationType === OperationTypeNode.SUBSCRIPTION,
    new GraphQLWsLink(wsClient),
    ApolloLink.from([auth, new HttpLink({ uri: httpURL })]),
  ),
});

// After the token changes: drop the socket (it reconnects with the new
// token) and refetch everything as the new viewer.
export async function tokenChanged() {
  wsClient.terminate();
  await client.resetStore();
}
