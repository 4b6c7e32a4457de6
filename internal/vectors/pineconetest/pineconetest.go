// Package pineconetest is a loopback stand-in for a Pinecone index's data
// plane, so tests run the real go-pinecone client end to end. go-pinecone
// speaks gRPC (service VectorService) to the index host, in plaintext when the
// host is given as http://; its message descriptors are in protobuf's global
// registry (linked in with go-pinecone), so this server decodes and answers
// them with dynamicpb, without importing go-pinecone's internal packages.
//
// It keeps vectors per namespace and implements Upsert, Query (cosine, with
// metadata filters of $eq, $in and $and) and Delete by id. It can fail every
// call with a gRPC code, or stall until the caller gives up.
//
//	srv := pineconetest.NewServer(t)
//	p, _ := vectors.NewPinecone("key", srv.Host())
package pineconetest

import (
	"fmt"
	"math"
	"net"
	"sort"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/structpb"

	// go-pinecone registers VectorService's descriptors when linked in.
	_ "github.com/pinecone-io/go-pinecone/v5/pinecone"
)

// Record is a stored vector.
type Record struct {
	Values   []float32
	Metadata map[string]any
}

// Call is one request as the server received it.
type Call struct {
	Method    string // Upsert, Query, Delete …
	Namespace string
	APIKey    string
	// Filter is a query's or delete's metadata filter.
	Filter map[string]any
	// IDs are the ids of an upsert's vectors or a delete's.
	IDs []string
	// Failed: the call was failed or stalled on demand.
	Failed bool
}

// Server is the stand-in; its controls are safe for concurrent use.
type Server struct {
	addr    string
	methods map[string]protoreflect.MethodDescriptor

	mu    sync.Mutex
	ns    map[string]map[string]Record
	calls []Call
	fail  codes.Code
	stall bool
}

// NewServer starts a server on loopback, stopped when the test ends.
func NewServer(t testing.TB) *Server {
	t.Helper()
	d, err := protoregistry.GlobalFiles.FindDescriptorByName("VectorService")
	if err != nil {
		t.Fatalf("pineconetest: VectorService not registered: %v", err)
	}
	sd := d.(protoreflect.ServiceDescriptor)
	s := &Server{methods: map[string]protoreflect.MethodDescriptor{}, ns: map[string]map[string]Record{}}
	for i := 0; i < sd.Methods().Len(); i++ {
		m := sd.Methods().Get(i)
		s.methods["/"+string(sd.FullName())+"/"+string(m.Name())] = m
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	gs := grpc.NewServer(grpc.UnknownServiceHandler(s.handle))
	go func() { _ = gs.Serve(ln) }()
	t.Cleanup(gs.Stop)
	return s
}

// Host is the index host to give go-pinecone: http:// selects plaintext gRPC.
func (s *Server) Host() string { return "http://" + s.addr }

// Fail makes every call fail with code (codes.OK: succeed again).
func (s *Server) Fail(code codes.Code) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = code
}

// Stall makes every call hang until its caller gives up (false: answer again).
func (s *Server) Stall(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stall = on
}

// Calls returns the requests received so far, oldest first.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Namespace returns a copy of the vectors of a namespace by id.
func (s *Server) Namespace(ns string) map[string]Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]Record, len(s.ns[ns]))
	for id, r := range s.ns[ns] {
		out[id] = r
	}
	return out
}

// Count is the number of vectors in all namespaces.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, m := range s.ns {
		n += len(m)
	}
	return n
}

func (s *Server) handle(_ any, stream grpc.ServerStream) error {
	name, _ := grpc.MethodFromServerStream(stream)
	md, ok := s.methods[name]
	if !ok {
		return status.Errorf(codes.Unimplemented, "unknown method %s", name)
	}
	in := dynamicpb.NewMessage(md.Input())
	if err := stream.RecvMsg(in); err != nil {
		return err
	}
	call := Call{Method: string(md.Name())}
	if m, ok := metadata.FromIncomingContext(stream.Context()); ok && len(m.Get("api-key")) > 0 {
		call.APIKey = m.Get("api-key")[0]
	}
	if f := field(in, "namespace"); f != nil {
		call.Namespace = in.Get(f).String()
	}
	if f := field(in, "filter"); f != nil && in.Has(f) {
		call.Filter = toStruct(in.Get(f).Message()).AsMap()
	}
	switch md.Name() {
	case "Upsert":
		list := in.Get(field(in, "vectors")).List()
		for i := 0; i < list.Len(); i++ {
			v := list.Get(i).Message()
			call.IDs = append(call.IDs, v.Get(field(v, "id")).String())
		}
	case "Delete":
		list := in.Get(field(in, "ids")).List()
		for i := 0; i < list.Len(); i++ {
			call.IDs = append(call.IDs, list.Get(i).String())
		}
	}
	s.mu.Lock()
	fail, stall := s.fail, s.stall
	call.Failed = stall || fail != codes.OK
	s.calls = append(s.calls, call)
	s.mu.Unlock()
	if stall {
		<-stream.Context().Done()
		return status.FromContextError(stream.Context().Err()).Err()
	}
	if fail != codes.OK {
		return status.Errorf(fail, "pineconetest: failing on demand")
	}
	out := dynamicpb.NewMessage(md.Output())
	var err error
	switch md.Name() {
	case "Upsert":
		err = s.upsert(call.Namespace, in, out)
	case "Query":
		err = s.query(call.Namespace, call.Filter, in, out)
	case "Delete":
		err = s.delete(call.Namespace, in)
	default:
		err = status.Errorf(codes.Unimplemented, "pineconetest: %s not implemented", md.Name())
	}
	if err != nil {
		return err
	}
	return stream.SendMsg(out)
}

func (s *Server) upsert(ns string, in, out *dynamicpb.Message) error {
	list := in.Get(field(in, "vectors")).List()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ns[ns] == nil {
		s.ns[ns] = map[string]Record{}
	}
	for i := 0; i < list.Len(); i++ {
		v := list.Get(i).Message()
		id := v.Get(field(v, "id")).String()
		if id == "" {
			return status.Error(codes.InvalidArgument, "vector id is required")
		}
		r := Record{Values: floats(v.Get(field(v, "values")).List())}
		if f := field(v, "metadata"); v.Has(f) {
			r.Metadata = toStruct(v.Get(f).Message()).AsMap()
		}
		s.ns[ns][id] = r
	}
	out.Set(field(out, "upserted_count"), protoreflect.ValueOfUint32(uint32(list.Len())))
	return nil
}

func (s *Server) query(ns string, filter map[string]any, in, out *dynamicpb.Message) error {
	q := floats(in.Get(field(in, "vector")).List())
	k := int(in.Get(field(in, "top_k")).Uint())
	withMeta := in.Get(field(in, "include_metadata")).Bool()
	type match struct {
		id    string
		score float64
		r     Record
	}
	var ms []match
	s.mu.Lock()
	wrong := 0
	for id, r := range s.ns[ns] {
		if len(r.Values) != len(q) {
			wrong = len(r.Values)
			continue
		}
		if filter != nil && !matches(r.Metadata, filter) {
			continue
		}
		ms = append(ms, match{id, cosine(q, r.Values), r})
	}
	s.mu.Unlock()
	if wrong != 0 {
		return status.Errorf(codes.InvalidArgument, "query has %d dimensions, index %d", len(q), wrong)
	}
	sort.Slice(ms, func(i, j int) bool {
		if ms[i].score != ms[j].score {
			return ms[i].score > ms[j].score
		}
		return ms[i].id < ms[j].id
	})
	if len(ms) > k {
		ms = ms[:k]
	}
	lf := field(out, "matches")
	list := out.Mutable(lf).List()
	for _, m := range ms {
		sv := list.NewElement().Message()
		sv.Set(field(sv, "id"), protoreflect.ValueOfString(m.id))
		sv.Set(field(sv, "score"), protoreflect.ValueOfFloat32(float32(m.score)))
		if withMeta && m.r.Metadata != nil {
			st, err := structpb.NewStruct(m.r.Metadata)
			if err != nil {
				return status.Error(codes.Internal, err.Error())
			}
			mf := field(sv, "metadata")
			dm := sv.Mutable(mf).Message()
			b, _ := proto.Marshal(st)
			if err := proto.Unmarshal(b, dm.Interface()); err != nil {
				return status.Error(codes.Internal, err.Error())
			}
		}
		list.Append(protoreflect.ValueOfMessage(sv))
	}
	out.Set(field(out, "namespace"), protoreflect.ValueOfString(ns))
	return nil
}

func (s *Server) delete(ns string, in *dynamicpb.Message) error {
	ids := in.Get(field(in, "ids")).List()
	s.mu.Lock()
	defer s.mu.Unlock()
	if in.Get(field(in, "delete_all")).Bool() {
		delete(s.ns, ns)
		return nil
	}
	for i := 0; i < ids.Len(); i++ {
		delete(s.ns[ns], ids.Get(i).String())
	}
	return nil
}

func field(m protoreflect.Message, name string) protoreflect.FieldDescriptor {
	return m.Descriptor().Fields().ByName(protoreflect.Name(name))
}

func floats(l protoreflect.List) []float32 {
	out := make([]float32, l.Len())
	for i := range out {
		out[i] = float32(l.Get(i).Float())
	}
	return out
}

// toStruct converts a dynamic google.protobuf.Struct to the concrete type.
func toStruct(m protoreflect.Message) *structpb.Struct {
	st := &structpb.Struct{}
	b, err := proto.Marshal(m.Interface())
	if err == nil {
		_ = proto.Unmarshal(b, st)
	}
	return st
}

func cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}

// matches evaluates a Pinecone metadata filter: {"f": v}, {"f": {"$eq": v}},
// {"f": {"$in": [...]}}, {"$and": [...]}.
func matches(md map[string]any, filter map[string]any) bool {
	for k, cond := range filter {
		if k == "$and" {
			for _, sub := range cond.([]any) {
				if !matches(md, sub.(map[string]any)) {
					return false
				}
			}
			continue
		}
		v := md[k]
		ops, ok := cond.(map[string]any)
		if !ok {
			ops = map[string]any{"$eq": cond}
		}
		for op, arg := range ops {
			switch op {
			case "$eq":
				if fmt.Sprint(v) != fmt.Sprint(arg) {
					return false
				}
			case "$in":
				found := false
				for _, a := range arg.([]any) {
					if fmt.Sprint(v) == fmt.Sprint(a) {
						found = true
					}
				}
				if !found {
					return false
				}
			default:
				return false
			}
		}
	}
	return true
}
