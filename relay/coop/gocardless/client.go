package gocardless

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/mutualcoop/mutual/relay/coop"
)

// APIVersion is the version of GoCardless's API this package speaks,
// sent as the GoCardless-Version header of every request.
const APIVersion = "2015-07-06"

// maxResponse bounds the body of a response read from the API: a
// resource is a few kilobytes.
const maxResponse = 1 << 20

// apiError is GoCardless's error body: {"error": {...}}.
type apiError struct {
	Error struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Code    int    `json:"code"`
		Errors  []struct {
			Reason  string `json:"reason"`
			Message string `json:"message"`
			Field   string `json:"field"`
			Links   struct {
				ConflictingResourceID string `json:"conflicting_resource_id"`
			} `json:"links"`
		} `json:"errors"`
	} `json:"error"`
}

// requestError is a request GoCardless refused: its status and error
// body. It wraps coop.ErrProvider.
type requestError struct {
	status int
	body   apiError
}

func (e *requestError) Error() string {
	msg := e.body.Error.Message
	if msg == "" {
		msg = http.StatusText(e.status)
	}
	for _, d := range e.body.Error.Errors {
		if d.Message != "" && d.Message != msg {
			msg += "; " + d.Message
		}
	}
	if e.body.Error.Type != "" {
		return fmt.Sprintf("gocardless: %s (%d %s)", msg, e.status, e.body.Error.Type)
	}
	return fmt.Sprintf("gocardless: %s (%d)", msg, e.status)
}

func (e *requestError) Unwrap() error { return coop.ErrProvider }

// conflict returns the ID of the resource an earlier request with the
// same Idempotency-Key created, when e says so.
func (e *requestError) conflict() (string, bool) {
	if e.status != http.StatusConflict {
		return "", false
	}
	for _, d := range e.body.Error.Errors {
		if d.Reason == "idempotent_creation_conflict" && d.Links.ConflictingResourceID != "" {
			return d.Links.ConflictingResourceID, true
		}
	}
	return "", false
}

// invalidState says whether GoCardless refused the request because of
// the resource's state (cancelling what is cancelled already).
func (e *requestError) invalidState() bool { return e.body.Error.Type == "invalid_state" }

// create POSTs fields to /resource, wrapped in the resource's name as
// GoCardless wants them, with key as the Idempotency-Key, and decodes
// the created resource into out. When GoCardless answers that key
// created a resource already, it reads that one: a retry creates
// nothing twice.
func (p *Provider) create(ctx context.Context, resource, key string, fields, out any) error {
	err := p.do(ctx, http.MethodPost, "/"+resource, key, resource, fields, out)
	var re *requestError
	if errors.As(err, &re) {
		if id, ok := re.conflict(); ok {
			return p.get(ctx, resource, id, out)
		}
	}
	return err
}

// get reads /resource/id into out.
func (p *Provider) get(ctx context.Context, resource, id string, out any) error {
	return p.do(ctx, http.MethodGet, "/"+resource+"/"+url.PathEscape(id), "", resource, nil, out)
}

// action POSTs to /resource/id/actions/name (an action's body is
// wrapped in "data") and decodes the resource it returns into out.
func (p *Provider) action(ctx context.Context, resource, id, name string, out any) error {
	path := "/" + resource + "/" + url.PathEscape(id) + "/actions/" + name
	return p.do(ctx, http.MethodPost, path, "", "data", struct{}{}, out)
}

// do sends one request. A body (fields, unless nil) is wrapped as
// {wrap: fields}; the response's {resource: ...} is decoded into out. A
// refusal is a *requestError, a failure to reach GoCardless or to read
// its answer wraps coop.ErrProvider.
func (p *Provider) do(ctx context.Context, method, path, key, wrap string, fields, out any) error {
	var body io.Reader
	if fields != nil {
		b, err := json.Marshal(map[string]any{wrap: fields})
		if err != nil {
			return fmt.Errorf("gocardless: encode %s: %w", wrap, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.api+path, body)
	if err != nil {
		return fmt.Errorf("gocardless: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+p.token)
	req.Header.Set("GoCardless-Version", APIVersion)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return fmt.Errorf("%w: gocardless: %s %s: %w", coop.ErrProvider, method, resourcePath(path), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return fmt.Errorf("%w: gocardless: read %s: %w", coop.ErrProvider, resourcePath(path), err)
	}
	if len(b) > maxResponse {
		return fmt.Errorf("%w: gocardless: answer to %s over %d bytes", coop.ErrProvider, resourcePath(path), maxResponse)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		re := &requestError{status: resp.StatusCode}
		// An error body that is not JSON still leaves the status.
		_ = json.Unmarshal(b, &re.body)
		return re
	}
	var env map[string]json.RawMessage
	if err := json.Unmarshal(b, &env); err != nil {
		return fmt.Errorf("%w: gocardless: answer to %s: %w", coop.ErrProvider, resourcePath(path), err)
	}
	name := strings.Split(strings.TrimPrefix(path, "/"), "/")[0]
	raw, ok := env[name]
	if !ok {
		return fmt.Errorf("%w: gocardless: answer to %s lacks %q", coop.ErrProvider, resourcePath(path), name)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%w: gocardless: answer to %s: %w", coop.ErrProvider, resourcePath(path), err)
	}
	return nil
}

// resourcePath is path for an error message: the resource's name, and
// the action, without IDs.
func resourcePath(path string) string {
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if len(parts) >= 4 && parts[2] == "actions" {
		return parts[0] + " " + parts[3]
	}
	return parts[0]
}
