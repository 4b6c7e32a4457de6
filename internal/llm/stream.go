package llm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	openai "github.com/sashabaranov/go-openai"
)

// Message is one turn of a conversation. Role is system, user or assistant.
type Message struct {
	Role    string
	Content string
}

// Request is a chat completion request. MaxTokens 0 leaves the provider's
// default.
type Request struct {
	Model     string
	Messages  []Message
	MaxTokens int
}

// Usage is what a call consumed. Estimated is true when the provider did not
// report it (the stream was cut, or the server ignores stream_options) and
// the counts are characters/4.
type Usage struct {
	InputTokens  int
	OutputTokens int
	Estimated    bool
}

// Stream is a reply being generated. Recv it until it returns an error
// (io.EOF at the normal end), then read Usage; always Close it. Recv and
// Usage must not be called concurrently; Close may be called from any
// goroutine to abandon the stream.
type Stream struct {
	client   *Client
	provider Provider
	model    string

	ctx    context.Context
	cancel context.CancelCauseFunc // ends the call; its cause tells why
	stopTO context.CancelFunc      // releases the Timeout timer
	idle   *time.Timer             // cancels ctx with ErrStalled when it fires

	st        *openai.ChatCompletionStream
	closeOnce sync.Once

	err         error // sticky: once Recv failed or ended, it keeps saying so
	finished    bool  // the provider sent a finish_reason or the usage chunk
	usage       *openai.Usage
	promptChars int
	outputChars int
}

// Stream starts a streaming chat completion. It fails before sending anything
// when the model's provider is not configured (LLM_UNAVAILABLE). Errors from
// the provider (HTTP status, stall, timeout) are classified: see
// IsUnavailable.
func (c *Client) Stream(ctx context.Context, req Request) (*Stream, error) {
	api, err := c.api(req.Model)
	if err != nil {
		return nil, err
	}
	if len(req.Messages) == 0 {
		return nil, errors.New("llm: request has no messages")
	}
	msgs := make([]openai.ChatCompletionMessage, len(req.Messages))
	prompt := 0
	for i, m := range req.Messages {
		switch m.Role {
		case openai.ChatMessageRoleSystem, openai.ChatMessageRoleUser, openai.ChatMessageRoleAssistant:
		default:
			return nil, fmt.Errorf("llm: message %d: unknown role %q", i, m.Role)
		}
		msgs[i] = openai.ChatCompletionMessage{Role: m.Role, Content: m.Content}
		prompt += utf8.RuneCountInString(m.Content)
	}
	oreq := openai.ChatCompletionRequest{
		Model:    req.Model,
		Messages: msgs,
		Stream:   true,
		// Without this the provider never reports token counts for a stream.
		StreamOptions: &openai.StreamOptions{IncludeUsage: true},
	}
	setMaxTokens(&oreq, req.MaxTokens)

	s := &Stream{client: c, provider: ProviderFor(req.Model), model: req.Model, promptChars: prompt}
	tctx, stopTO := context.WithTimeoutCause(ctx, c.cfg.Timeout, ErrTimeout)
	s.ctx, s.cancel = context.WithCancelCause(tctx)
	s.stopTO = stopTO
	// The idle timer also covers the wait for response headers: a provider
	// that accepts the connection and then says nothing is a stall too.
	s.idle = time.AfterFunc(c.cfg.IdleTimeout, func() { s.cancel(ErrStalled) })

	st, err := api.CreateChatCompletionStream(s.ctx, oreq)
	s.idle.Stop()
	if err != nil {
		err = c.classify(s.ctx, s.provider, s.model, err)
		s.release()
		return nil, err
	}
	s.st = st
	return s, nil
}

// setMaxTokens uses max_tokens where it works and max_completion_tokens for
// the reasoning models that reject max_tokens (o1, o3, o4, gpt-5 …). go-openai
// refuses such a request client-side, so ask its own validator rather than
// keep a second list of model names here. max_tokens stays the default,
// deprecated or not, because compatible servers (Ollama, Gemini's endpoint)
// know it better than max_completion_tokens.
func setMaxTokens(r *openai.ChatCompletionRequest, n int) {
	if n <= 0 {
		return
	}
	//lint:ignore SA1019 see above
	probe := openai.ChatCompletionRequest{Model: r.Model, MaxTokens: n}
	if errors.Is(openai.NewReasoningValidator().Validate(probe), openai.ErrReasoningModelMaxTokensDeprecated) {
		r.MaxCompletionTokens = n
		return
	}
	//lint:ignore SA1019 see above
	r.MaxTokens = n
}

// Recv returns the next piece of the reply. It returns io.EOF once the
// provider has finished; any other error means the reply is incomplete, and
// what Recv returned before is all there is.
func (s *Stream) Recv() (string, error) {
	if s.err != nil {
		return "", s.err
	}
	for {
		s.idle.Reset(s.client.cfg.IdleTimeout)
		resp, err := s.st.Recv()
		s.idle.Stop()
		if err != nil {
			s.fail(err)
			return "", s.err
		}
		if resp.Usage != nil {
			s.usage = resp.Usage
			s.finished = true
		}
		var delta strings.Builder
		for _, ch := range resp.Choices {
			if ch.FinishReason != "" {
				s.finished = true
			}
			delta.WriteString(ch.Delta.Content)
		}
		// Role-only, finish and usage chunks carry no text; the caller only
		// wants text, so keep reading.
		if delta.Len() > 0 {
			d := delta.String()
			s.outputChars += utf8.RuneCountInString(d)
			return d, nil
		}
	}
}

// fail records how the stream ended and releases the connection.
func (s *Stream) fail(err error) {
	switch {
	case errors.Is(err, io.EOF) && s.finished:
		s.err = io.EOF
	case errors.Is(err, io.EOF) && context.Cause(s.ctx) == nil:
		// go-openai answers io.EOF both for "data: [DONE]" and for a body
		// that simply ended, so a connection closed mid-reply would look
		// like success. Only a finish_reason or the usage chunk proves the
		// provider finished.
		s.err = s.client.classify(s.ctx, s.provider, s.model, ErrIncomplete)
	default:
		if _, isHTTP := httpStatus(err); !isHTTP && context.Cause(s.ctx) == nil {
			// A read error that is neither a provider error event nor our
			// cancellation: the connection broke mid-reply.
			err = fmt.Errorf("%w: %w", ErrIncomplete, err)
		}
		s.err = s.client.classify(s.ctx, s.provider, s.model, err)
	}
	s.release()
}

// Usage returns the provider's token counts from the stream's final chunk,
// or, if the stream ended without one, an estimate (characters/4 of the
// prompt and of the text received) with Estimated set. Call it after Recv
// returned an error, or after Close.
func (s *Stream) Usage() Usage {
	if s.usage != nil {
		return Usage{InputTokens: s.usage.PromptTokens, OutputTokens: s.usage.CompletionTokens}
	}
	return Usage{InputTokens: estimateTokens(s.promptChars), OutputTokens: estimateTokens(s.outputChars), Estimated: true}
}

// estimateTokens is the usual rule of thumb for English text: about four
// characters a token, rounded up so that any text costs something.
func estimateTokens(chars int) int {
	return (chars + 3) / 4
}

// Close abandons the stream (if it is still running) and releases its
// connection. It is safe to call more than once and from any goroutine.
func (s *Stream) Close() error {
	s.release()
	return nil
}

func (s *Stream) release() {
	s.closeOnce.Do(func() {
		s.idle.Stop()
		s.cancel(errClosed)
		s.stopTO()
		if s.st != nil {
			_ = s.st.Close()
		}
	})
}
