package graph

import (
	"bytes"
	"context"
	"net/http"

	"github.com/99designs/gqlgen/graphql"
)

// rawData writes a response's data as gqlgen's executor wrote it. gqlgen's
// HTTP transports json.Marshal the whole response, which validates and
// compacts the data (a json.RawMessage the executor has just written
// compact) byte by byte again: about a tenth of the server's CPU for a
// page of 50 messages (BENCHMARKS.md, "Against PostGraphile"). For a
// response with data and nothing else (no errors, extensions or
// incremental fields), the executor below hands the transport the response
// without its data, whose encoding is then exactly `{"data":null}` plus
// nothing, and the writer puts the data in its place. Any other response
// is written by gqlgen as it is.
type rawData struct {
	graphql.Transport
}

func (t rawData) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	rw := &rawDataWriter{ResponseWriter: w}
	t.Transport.Do(rw, r, rawDataExecutor{GraphExecutor: exec, w: rw})
}

type rawDataExecutor struct {
	graphql.GraphExecutor
	w *rawDataWriter
}

func (e rawDataExecutor) DispatchOperation(ctx context.Context, rc *graphql.OperationContext) (graphql.ResponseHandler, context.Context) {
	next, ctx := e.GraphExecutor.DispatchOperation(ctx, rc)
	return func(ctx context.Context) *graphql.Response {
		resp := next(ctx)
		if resp == nil || resp.Data == nil || e.w.data != nil || len(resp.Errors) > 0 || len(resp.Extensions) > 0 ||
			resp.Label != "" || resp.Path != nil || resp.HasNext != nil {
			return resp
		}
		e.w.data = resp.Data
		return &graphql.Response{}
	}, ctx
}

// emptyData is how encoding/json writes a graphql.Response holding nothing.
var emptyData = []byte(`{"data":null}`)

// rawDataWriter writes the data the executor set aside in place of the
// null of the body gqlgen writes for it (in one Write, as its transports
// do).
type rawDataWriter struct {
	http.ResponseWriter
	data []byte
}

func (w *rawDataWriter) Write(b []byte) (int, error) {
	if w.data == nil || !bytes.Equal(b, emptyData) {
		return w.ResponseWriter.Write(b)
	}
	data := w.data
	w.data = nil
	// net/http buffers the three writes as one body.
	for _, part := range [][]byte{emptyData[:len(`{"data":`)], data, emptyData[len(emptyData)-1:]} {
		if _, err := w.ResponseWriter.Write(part); err != nil {
			return 0, err
		}
	}
	return len(b), nil
}
