// Where the app's access token comes from. A real app asks its auth client
// each time (with Supabase: (await supabase.auth.getSession()).data.session
// ?.access_token, which refreshes an expiring token); this example keeps one
// in localStorage, set from ?token=… in the URL, the token box, or
// VITE_AGENTGRAPH_TOKEN at build time (`go run . token` prints one in dev mode).
const KEY = 'agentgraph.token';

export function initToken() {
  const url = new URL(window.location.href);
  const fromURL = url.searchParams.get('token');
  if (fromURL) {
    localStorage.setItem(KEY, fromURL);
    // Keep the token out of the address bar and history.
    url.searchParams.delete('token');
    window.history.replaceState(null, '', url);
  }
}

export function currentToken() {
  return localStorage.getItem(KEY) || import.meta.env.VITE_AGENTGRAPH_TOKEN || '';
}

export function saveToken(token) {
  if (token) localStorage.setItem(KEY, token);
  else localStorage.removeItem(KEY);
}

// getToken is what the links call for every request and every (re)connect.
export async function getToken() {
  return currentToken();
}
