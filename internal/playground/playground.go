// Package playground serves GraphiQL (with its explorer plugin) from assets
// built by web/playground and embedded in the binary: the page needs no
// CDN, so it works offline and under a strict Content-Security-Policy.
package playground

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html"
	"io/fs"
	"log/slog"
	"net/http"
)

// dist is web/playground's build output (npm run build there rewrites it).
//
//go:embed dist
var dist embed.FS

// configTag is the placeholder in dist/index.html that Register fills in.
const configTag = `<meta name="agentgraph-config" content="{}" />`

// Options configure the page.
type Options struct {
	// Endpoint is the GraphQL endpoint, relative to the page (WebSocket
	// on the same path).
	Endpoint string
	// Token, when set (dev mode only), mints the token the page starts
	// with; each page load gets a fresh one.
	Token func() (string, error)
}

// Register serves the page at GET / and its assets under /playground/.
func Register(mux *http.ServeMux, o Options) {
	assets, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	page, err := fs.ReadFile(assets, "index.html")
	if err != nil || !bytes.Contains(page, []byte(configTag)) {
		panic(fmt.Sprintf("playground: dist/index.html is missing or has no config tag (rebuild web/playground): %v", err))
	}
	files := http.StripPrefix("/playground/", http.FileServerFS(assets))
	mux.Handle("GET /playground/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Asset names carry content hashes: cache them for good.
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		files.ServeHTTP(w, r)
	}))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		cfg := map[string]string{"endpoint": o.Endpoint}
		if o.Token != nil {
			tok, err := o.Token()
			if err != nil {
				slog.Error("playground: mint dev token", "err", err)
			} else {
				cfg["token"] = tok
			}
		}
		b, _ := json.Marshal(cfg)
		tag := `<meta name="agentgraph-config" content="` + html.EscapeString(string(b)) + `" />`
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		// The page holds a token in dev mode: never cache it.
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(bytes.Replace(page, []byte(configTag), []byte(tag), 1))
	})
}
