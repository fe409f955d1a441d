package gocardlesstest

import (
	"bytes"
	"encoding/json"
	"html/template"
	"io"
	"mime"
	"net/http"
	"strings"
)

// request is what an API handler gets: the request, and its body
// unwrapped from {"name": ...}.
type request struct {
	r    *http.Request
	body json.RawMessage
}

// decode reads the request's fields into v, refusing fields GoCardless
// does not have.
func (q request) decode(v any) *apiError {
	if q.body == nil {
		return invalid("", "the request has no body")
	}
	d := json.NewDecoder(bytes.NewReader(q.body))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return invalid("", "invalid fields: "+err.Error())
	}
	return nil
}

// answer is an API handler's outcome: the resource to return (wrapped
// in the resource's name), and the events to send after answering.
type answer struct {
	status   int
	resource any
	events   []event
}

// routes serves the API and the hosted flow page.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /billing_requests", s.api("billing_requests", true, s.createBillingRequest))
	mux.Handle("GET /billing_requests/{id}", s.api("billing_requests", false, s.get("billing_requests")))
	mux.Handle("POST /billing_request_flows", s.api("billing_request_flows", true, s.createFlow))
	mux.Handle("POST /subscriptions", s.api("subscriptions", true, s.createSubscription))
	mux.Handle("GET /subscriptions/{id}", s.api("subscriptions", false, s.get("subscriptions")))
	mux.Handle("POST /subscriptions/{id}/actions/cancel", s.api("data", false, s.cancelSubscription))
	mux.Handle("GET /mandates/{id}", s.api("mandates", false, s.get("mandates")))
	mux.Handle("POST /mandates/{id}/actions/cancel", s.api("data", false, s.cancelMandate))
	mux.Handle("GET /payments/{id}", s.api("payments", false, s.get("payments")))
	mux.HandleFunc("GET /flow/{id}", s.flowPage)
	mux.HandleFunc("POST /flow/{id}", s.flowConfirm)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		(&apiError{status: http.StatusNotFound, typ: "invalid_api_usage", reason: "path_not_found", message: "Path not found"}).write(w)
	})
	return mux
}

// api checks what GoCardless checks of every request (the access token,
// the version; for a POST a JSON body wrapped in wrap; for a create an
// Idempotency-Key), runs h, answers, and then sends h's events.
func (s *Server) api(wrap string, create bool, h func(request) (answer, *apiError)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, err := s.check(r, wrap, create, h)
		if err != nil {
			err.write(w)
			return
		}
		name := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")[0]
		writeJSON(w, a.status, map[string]any{name: a.resource})
		s.emit(a.events, false)
	})
}

func (s *Server) check(r *http.Request, wrap string, create bool, h func(request) (answer, *apiError)) (answer, *apiError) {
	if r.Header.Get("Authorization") != "Bearer "+s.opts.AccessToken {
		return answer{}, &apiError{status: http.StatusUnauthorized, typ: "invalid_api_usage", reason: "unauthorized", message: "Authentication failed"}
	}
	switch v := r.Header.Get("GoCardless-Version"); v {
	case Version:
	case "":
		return answer{}, &apiError{status: http.StatusBadRequest, typ: "invalid_api_usage", reason: "missing_version_header", message: "GoCardless-Version header is required"}
	default:
		return answer{}, &apiError{status: http.StatusBadRequest, typ: "invalid_api_usage", reason: "version_not_found", message: "Version " + v + " not found"}
	}
	q := request{r: r}
	if r.Method == http.MethodPost {
		if create && r.Header.Get("Idempotency-Key") == "" {
			return answer{}, &apiError{status: http.StatusBadRequest, typ: "invalid_api_usage", reason: "missing_idempotency_key", message: "This stand-in wants an Idempotency-Key on every create"}
		}
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
			return answer{}, &apiError{status: http.StatusUnsupportedMediaType, typ: "invalid_api_usage", reason: "invalid_content_type", message: "Content-Type must be application/json"}
		}
		b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, 1<<20))
		if err != nil {
			return answer{}, &apiError{status: http.StatusBadRequest, typ: "invalid_api_usage", reason: "invalid_document_structure", message: "Body too large or unreadable"}
		}
		var env map[string]json.RawMessage
		if err := json.Unmarshal(b, &env); err != nil || len(env) != 1 || env[wrap] == nil {
			return answer{}, &apiError{status: http.StatusBadRequest, typ: "invalid_api_usage", reason: "invalid_document_structure", message: "The body must be {\"" + wrap + "\": {...}}"}
		}
		q.body = env[wrap]
	}
	return h(q)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

func (s *Server) get(kind string) func(request) (answer, *apiError) {
	return func(q request) (answer, *apiError) {
		id := q.r.PathValue("id")
		s.mu.Lock()
		defer s.mu.Unlock()
		r := s.state.lookup(kind, id)
		if r == nil {
			return answer{}, notFound(id)
		}
		return answer{status: http.StatusOK, resource: clone(r)}, nil
	}
}

// clone returns a copy of a resource through JSON, so that it is
// encoded after s.mu is released without racing changes.
func clone(r any) json.RawMessage {
	b, err := json.Marshal(r)
	if err != nil {
		panic(err) // the resources always encode
	}
	return b
}

func (s *Server) createBillingRequest(q request) (answer, *apiError) {
	var p billingRequestParams
	if err := q.decode(&p); err != nil {
		return answer{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	br, err := s.state.createBillingRequest(q.r.Header.Get("Idempotency-Key"), p)
	if err != nil {
		return answer{}, err
	}
	return answer{status: http.StatusCreated, resource: clone(br)}, nil
}

func (s *Server) createFlow(q request) (answer, *apiError) {
	var p flowParams
	if err := q.decode(&p); err != nil {
		return answer{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.state.createFlow(q.r.Header.Get("Idempotency-Key"), s.URL, p)
	if err != nil {
		return answer{}, err
	}
	return answer{status: http.StatusCreated, resource: clone(f)}, nil
}

func (s *Server) createSubscription(q request) (answer, *apiError) {
	var p subscriptionParams
	if err := q.decode(&p); err != nil {
		return answer{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, evs, err := s.state.createSubscription(q.r.Header.Get("Idempotency-Key"), p)
	if err != nil {
		return answer{}, err
	}
	return answer{status: http.StatusCreated, resource: clone(sub), events: evs}, nil
}

// actionParams is an action's body: {"data": {"metadata": {...}}}.
type actionParams struct {
	Metadata map[string]string `json:"metadata"`
}

func (s *Server) cancelSubscription(q request) (answer, *apiError) {
	var p actionParams
	if err := q.decode(&p); err != nil {
		return answer{}, err
	}
	id := q.r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	evs, err := s.state.cancelSubscription(id, "api")
	if err != nil {
		return answer{}, err
	}
	return answer{status: http.StatusOK, resource: clone(s.state.subscriptions[id]), events: evs}, nil
}

func (s *Server) cancelMandate(q request) (answer, *apiError) {
	var p actionParams
	if err := q.decode(&p); err != nil {
		return answer{}, err
	}
	id := q.r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	evs, err := s.state.cancelMandate(id)
	if err != nil {
		return answer{}, err
	}
	return answer{status: http.StatusOK, resource: clone(s.state.mandates[id]), events: evs}, nil
}

// page is the hosted flow page.
var page = template.Must(template.New("flow").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Set up a Direct Debit</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main>
<h1>Set up a Direct Debit</h1>
<p>A stand-in for GoCardless's payment page: no bank details are asked for.</p>
<form method="post" action="/flow/{{.ID}}"><button type="submit" id="confirm">Confirm</button></form>
{{if .ExitURI}}<p><a id="exit" href="{{.ExitURI}}">Cancel</a></p>{{end}}
</main></body></html>
`))

func (s *Server) flowPage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	f, ok := s.state.flows[r.PathValue("id")]
	var v billingRequestFlow
	if ok {
		v = *f
	}
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	page.Execute(w, v)
}

// flowConfirm fulfils the flow's billing request, sends the webhook of
// its events, waiting for the answer, and redirects to redirect_uri.
func (s *Server) flowConfirm(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	f, evs, apiErr := s.state.fulfil(r.PathValue("id"))
	var redirect string
	if apiErr == nil {
		redirect = f.RedirectURI
	}
	s.mu.Unlock()
	if apiErr != nil {
		http.Error(w, apiErr.message, apiErr.status)
		return
	}
	if err := s.emit(evs, true); err != nil {
		http.Error(w, "The Direct Debit was set up but its webhook failed: "+err.Error(), http.StatusBadGateway)
		return
	}
	http.Redirect(w, r, redirect, http.StatusSeeOther)
}
