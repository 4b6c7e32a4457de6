// The example operations opened in tabs on a first visit (GraphiQL keeps
// the tabs in localStorage afterwards). They are the README's first query
// and subscription, and what `go run . seed` fills in.
export const exampleTabs = [
  {
    query: `# Your agents, with their skills and this month's usage.
# Run it with the ▶ button (or Ctrl-Enter). Dev mode filled in a token
# (headers tab below); \`go run . seed\` gives the demo user data to see.
query Agents {
  viewer { id headAgent { name } }
  agents(first: 10) {
    totalCount
    edges {
      node {
        id name type level xp isHead
        personality { model tone }
        skills { name level }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
`,
  },
  {
    query: `# The live activity feed. Start it, then run "Post to the feed" in the
# next tab (or send an agent a message): events arrive here as they happen.
subscription Feed {
  feedEventAdded {
    id type message createdAt
    agent { name }
  }
}
`,
  },
  {
    query: `mutation PostToFeed {
  createFeedEvent(input: { type: "note", message: "Hello from GraphiQL" }) {
    id type message createdAt
  }
}
`,
  },
  {
    query: `# Recent threads and their latest messages (newest last).
query Threads {
  threads(first: 5) {
    edges {
      node {
        id updatedAt
        agent { name }
        messages(last: 4) { totalCount edges { node { role agentName content createdAt } } }
      }
    }
  }
}
`,
  },
  {
    query: `# What the agents cost, day by day, and the month's budget.
query Usage {
  viewer { budget { monthlyCents spentCents remainingCents } }
  usage(groupBy: DAY) { totals { calls inputTokens outputTokens costCents } buckets { key calls costCents } }
}
`,
  },
];
