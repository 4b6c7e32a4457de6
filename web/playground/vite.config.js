import { defineConfig } from 'vite';

// Builds into the Go package that embeds it. base is where the server
// serves the assets (internal/playground); file names carry content hashes
// so they can be cached for good.
export default defineConfig({
  base: '/playground/',
  build: {
    outDir: '../../internal/playground/dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 8000,
    sourcemap: false,
    rollupOptions: {
      // React libraries mark modules "use client", which means nothing in
      // a plain bundle; the warning for each would drown real ones.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
  worker: { format: 'es' },
});
