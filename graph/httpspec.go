package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"mime"
	"net/http"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// specHTTP makes gqlgen's GET and POST transports answer request errors
// (a body, document or variables that cannot run) as the GraphQL over HTTP
// spec says, which the graphql-http audit checks (e2e/audit.test.mjs):
//
//   - with application/json, status 200 (gqlgen answers 422): clients of
//     that media type read errors from the body, not the status;
//   - with application/graphql-response+json, gqlgen's 4xx stays;
//   - either way no "data" entry: nothing was executed, and `"data": null`
//     would say execution began and failed at the root.
//
// gqlgen calls DispatchError exactly for such errors, after it set the
// status and before it writes the body in one Write, so the executor
// below marks the request and the writer fixes both on the way out.
type specHTTP struct {
	graphql.Transport
}

func (t specHTTP) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	sw := &specWriter{ResponseWriter: w}
	t.Transport.Do(sw, r, specExecutor{GraphExecutor: exec, w: sw})
	sw.flush()
}

type specExecutor struct {
	graphql.GraphExecutor
	w *specWriter
}

func (e specExecutor) DispatchError(ctx context.Context, list gqlerror.List) *graphql.Response {
	e.w.requestError = true
	return e.GraphExecutor.DispatchError(ctx, list)
}

// specWriter holds the status back until the body shows whether this was
// a request error.
type specWriter struct {
	http.ResponseWriter
	status       int
	wrote        bool
	requestError bool
}

func (w *specWriter) WriteHeader(status int) {
	if !w.wrote && w.status == 0 {
		w.status = status
	}
}

func (w *specWriter) Write(b []byte) (int, error) {
	n := len(b)
	if !w.wrote && w.requestError {
		b = withoutData(b)
		if w.status == http.StatusUnprocessableEntity && w.mediaType() == "application/json" {
			w.status = http.StatusOK
		}
	}
	w.flushHeader()
	if _, err := w.ResponseWriter.Write(b); err != nil {
		return 0, err
	}
	return n, nil
}

func (w *specWriter) mediaType() string {
	mt, _, _ := mime.ParseMediaType(w.Header().Get("Content-Type"))
	return mt
}

func (w *specWriter) flushHeader() {
	if w.wrote {
		return
	}
	w.wrote = true
	if w.status != 0 {
		w.ResponseWriter.WriteHeader(w.status)
	}
}

// flush sends a status that no body followed.
func (w *specWriter) flush() { w.flushHeader() }

// withoutData drops the top-level "data" entry of a response body.
func withoutData(b []byte) []byte {
	var resp map[string]json.RawMessage
	if err := json.Unmarshal(b, &resp); err != nil {
		return b
	}
	if _, ok := resp["data"]; !ok {
		return b
	}
	delete(resp, "data")
	out, err := json.Marshal(resp)
	if err != nil {
		return b
	}
	return bytes.TrimSpace(out)
}
