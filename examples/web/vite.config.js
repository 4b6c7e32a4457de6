import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The app talks to /query on its own origin; Vite forwards it (HTTP and the
// WebSocket upgrade) to the server, so no CORS setting is needed.
// AGENTGRAPH_URL says where the server is (default: `go run .` on :8080).
// The Host header is passed on unchanged (no changeOrigin): the server
// accepts a browser's WebSocket when its Origin is the request's Host.
const target = process.env.AGENTGRAPH_URL || 'http://localhost:8080';
const proxy = { '/query': { target, ws: true } };

export default defineConfig({
  plugins: [react()],
  server: { proxy },
  preview: { proxy },
});
