import { useEffect, useState } from 'react';
import { gql } from '@apollo/client';
import { useMutation, useQuery, useSubscription } from '@apollo/client/react';
import { currentToken, saveToken } from './token.js';
import { tokenChanged } from './apollo.js';

const AGENTS = gql`
  query Agents($first: Int!, $after: String) {
    agents(first: $first, after: $after) {
      totalCount
      edges { cursor node { id name type level personality { model } } }
      pageInfo { hasNextPage endCursor }
    }
  }
`;
const THREAD = gql`
  query Thread($id: ID!) {
    thread(id: $id) { id messages(last: 20) { edges { node { id role content status } } } }
  }
`;
const SEND_MESSAGE = gql`
  mutation SendMessage($input: SendMessageInput!) {
    sendMessage(input: $input) { id threadId role content status }
  }
`;
const MESSAGE_ADDED = gql`
  subscription MessageAdded($threadId: ID!) {
    messageAdded(threadId: $threadId) { id threadId role content status }
  }
`;
const MESSAGE_STREAM = gql`
  subscription MessageStream($threadId: ID!) {
    messageStream(threadId: $threadId) { threadId messageId delta done restart }
  }
`;
const FEED = gql`
  query Feed { feed(first: 10) { edges { node { id type message createdAt agent { id name } } } } }
`;
const FEED_EVENT_ADDED = gql`
  subscription FeedEventAdded { feedEventAdded { id type message createdAt agent { id name } } }
`;

const PAGE = 5;

export default function App() {
  const [agentId, setAgentId] = useState(null);
  return (
    <div className="app">
      <header>
        <h1>agentgraph</h1>
        <TokenBox />
      </header>
      <main>
        <Agents selected={agentId} onSelect={setAgentId} />
        {agentId ? <Chat key={agentId} agentId={agentId} /> : <section className="chat empty">Choose an agent to chat with.</section>}
        <Feed />
      </main>
    </div>
  );
}

function TokenBox() {
  const [value, setValue] = useState(currentToken());
  return (
    <form
      className="token"
      onSubmit={(e) => {
        e.preventDefault();
        saveToken(value.trim());
        tokenChanged();
      }}
    >
      <input type="password" aria-label="access token" placeholder="access token (go run . token)" value={value} onChange={(e) => setValue(e.target.value)} />
      <button type="submit">Use token</button>
    </form>
  );
}

function Agents({ selected, onSelect }) {
  const { data, error, loading, fetchMore } = useQuery(AGENTS, { variables: { first: PAGE } });
  const [more, setMore] = useState(false);
  const conn = data?.agents;
  return (
    <section className="agents">
      <h2>Agents {conn ? <small>({conn.totalCount})</small> : null}</h2>
      {error ? <p className="error">{error.message}</p> : null}
      {loading && !conn ? <p>Loading…</p> : null}
      <ul>
        {conn?.edges.map(({ node }) => (
          <li key={node.id} data-testid="agent" className={node.id === selected ? 'selected' : ''}>
            <button onClick={() => onSelect(node.id)}>
              <strong>{node.name}</strong> <small>{node.type.toLowerCase()} · L{node.level} · {node.personality.model}</small>
            </button>
          </li>
        ))}
      </ul>
      {conn?.pageInfo.hasNextPage ? (
        <button
          disabled={more}
          onClick={async () => {
            setMore(true);
            try {
              // relayStylePagination appends the page to the cached list.
              await fetchMore({ variables: { after: conn.pageInfo.endCursor } });
            } finally {
              setMore(false);
            }
          }}
        >
          {more ? 'Loading…' : 'Load more'}
        </button>
      ) : null}
    </section>
  );
}

function Chat({ agentId }) {
  const threadId = `${agentId}:direct`;
  // Stored messages by id, in arrival order; replies still streaming by
  // messageId, until their stored message arrives on messageAdded.
  const [messages, setMessages] = useState([]);
  const [streaming, setStreaming] = useState({});
  const [text, setText] = useState('');
  const [sendError, setSendError] = useState(null);

  const history = useQuery(THREAD, { variables: { id: threadId }, fetchPolicy: 'network-only' });
  useEffect(() => {
    const stored = history.data?.thread?.messages.edges.map((e) => e.node) ?? [];
    if (stored.length) setMessages((prev) => merge(stored, prev));
  }, [history.data]);

  useSubscription(MESSAGE_STREAM, {
    variables: { threadId },
    ignoreResults: true,
    onData: ({ data }) => {
      const c = data.data?.messageStream;
      if (!c) return;
      setStreaming((prev) => {
        // restart: the reply is being generated again; drop what was shown.
        const before = c.restart ? '' : (prev[c.messageId]?.text ?? '');
        return { ...prev, [c.messageId]: { text: before + c.delta, done: c.done } };
      });
    },
  });
  useSubscription(MESSAGE_ADDED, {
    variables: { threadId },
    ignoreResults: true,
    onData: ({ data }) => {
      const m = data.data?.messageAdded;
      if (!m) return;
      setMessages((prev) => merge(prev, [m]));
      // The stored reply replaces its streamed text.
      if (m.role === 'ASSISTANT') {
        setStreaming((prev) => {
          const { [m.id]: _, ...rest } = prev;
          return rest;
        });
      }
    },
  });
  const [send, { loading: sending }] = useMutation(SEND_MESSAGE);

  const storedIds = new Set(messages.map((m) => m.id));
  const live = Object.entries(streaming).filter(([id]) => !storedIds.has(id));
  return (
    <section className="chat">
      <h2>Chat</h2>
      <ol className="messages">
        {messages.map((m) => (
          <li key={m.id} data-testid="message" data-role={m.role} data-status={m.status} className={m.role.toLowerCase()}>
            {m.content}
            {m.status !== 'COMPLETE' ? <small> ({m.status.toLowerCase()})</small> : null}
          </li>
        ))}
        {live.map(([id, s]) => (
          <li key={id} data-testid="streaming" data-message-id={id} className="assistant streaming">
            {s.text}
            <span className="cursor">▍</span>
          </li>
        ))}
      </ol>
      {sendError ? <p className="error">{sendError}</p> : null}
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          const content = text.trim();
          if (!content) return;
          setSendError(null);
          try {
            const { data } = await send({ variables: { input: { agentId, content } } });
            setMessages((prev) => merge(prev, [data.sendMessage]));
            setText('');
          } catch (err) {
            setSendError(err.message);
          }
        }}
      >
        <input data-testid="chat-input" placeholder="Message" value={text} onChange={(e) => setText(e.target.value)} />
        <button type="submit" disabled={sending}>Send</button>
      </form>
    </section>
  );
}

// merge adds or replaces messages by id, keeping the first order seen.
function merge(prev, next) {
  const out = [...prev];
  for (const m of next) {
    const i = out.findIndex((o) => o.id === m.id);
    if (i >= 0) out[i] = m;
    else out.push(m);
  }
  return out;
}

function Feed() {
  const { data } = useQuery(FEED);
  const [live, setLive] = useState([]);
  useSubscription(FEED_EVENT_ADDED, {
    ignoreResults: true,
    onData: ({ data }) => {
      const ev = data.data?.feedEventAdded;
      if (ev) setLive((prev) => [ev, ...prev.filter((p) => p.id !== ev.id)]);
    },
  });
  const seen = new Set(live.map((e) => e.id));
  const events = [...live, ...(data?.feed.edges.map((e) => e.node).filter((e) => !seen.has(e.id)) ?? [])];
  return (
    <section className="feed">
      <h2>Activity</h2>
      <ul>
        {events.map((ev) => (
          <li key={ev.id} data-testid="feed-event" data-type={ev.type}>
            <span className="type">{ev.type}</span> {ev.agent ? <strong>{ev.agent.name}: </strong> : null}
            {ev.message}
            <time>{new Date(ev.createdAt).toLocaleTimeString()}</time>
          </li>
        ))}
      </ul>
    </section>
  );
}
