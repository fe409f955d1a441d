package coop

import (
	"errors"
	"io"
	"net/http"
)

// MaxWebhookBody is the most a provider's webhook may carry: more is
// refused with 413 before anything is verified.
const MaxWebhookBody = 1 << 20

// Webhook returns the handler of the provider's webhooks (the server
// mounts it at POST /v1/coop/webhooks/{name}). It reads at most
// MaxWebhookBody bytes (413 beyond), has the provider verify the
// signature before anything is parsed (a bad one is answered with the
// provider's BadSignatureStatus, and nothing changes), then applies
// every event of the body: 200 "{}" once all of them are applied or
// were before, 500 when the store failed (the provider sends the
// webhook again). A provider that is not configured answers 404.
func (s *Service) Webhook(name ProviderName) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		prov, ok := s.prov[name]
		if !ok {
			http.Error(w, "no such provider", http.StatusNotFound)
			return
		}
		outcome := func(o string) {
			if f := s.cfg.Metrics.Webhook; f != nil {
				f(name, o)
			}
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxWebhookBody))
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			outcome("malformed")
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		case err != nil:
			outcome("malformed")
			http.Error(w, "could not read the body", http.StatusBadRequest)
			return
		}
		events, err := prov.Events(r.Header, body, s.cfg.Now())
		switch {
		case errors.Is(err, ErrBadSignature):
			outcome("bad_signature")
			http.Error(w, "bad signature", prov.BadSignatureStatus())
			return
		case err != nil:
			outcome("malformed")
			s.cfg.Logger.Info("coop: webhook not understood", "provider", name, "err", err)
			http.Error(w, "malformed webhook", http.StatusBadRequest)
			return
		}
		for _, ev := range events {
			if ev.ID == "" {
				// Without an ID it could not be applied once only.
				outcome("malformed")
				s.cfg.Logger.Warn("coop: webhook event without an ID skipped", "provider", name)
				continue
			}
			ev.Provider = name
			applied, err := s.apply(r.Context(), prov, ev)
			if err != nil {
				outcome("failed")
				s.cfg.Logger.Error("coop: webhook event not applied", "provider", name, "err", err)
				http.Error(w, "internal error", http.StatusInternalServerError)
				return
			}
			if applied {
				outcome("applied")
			} else {
				outcome("duplicate")
			}
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, "{}")
	})
}
