package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/coop"
)

func TestCoopPlanFlag(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []coop.Plan
		err  string
	}{
		{"one", []string{"--coop-plan", "monthly=500/month"}, []coop.Plan{{Name: "monthly", Amount: 500, Interval: "month"}}, ""},
		{"repeated", []string{"--coop-plan", "monthly=500/month", "--coop-plan", "yearly=5000/year"},
			[]coop.Plan{{Name: "monthly", Amount: 500, Interval: "month"}, {Name: "yearly", Amount: 5000, Interval: "year"}}, ""},
		{"comma-separated", []string{"--coop-plan", "monthly=500/month, supporter-2=2000/month"},
			[]coop.Plan{{Name: "monthly", Amount: 500, Interval: "month"}, {Name: "supporter-2", Amount: 2000, Interval: "month"}}, ""},
		{"no equals", []string{"--coop-plan", "monthly"}, nil, "no ="},
		{"no interval", []string{"--coop-plan", "monthly=500"}, nil, "no /INTERVAL"},
		{"weekly", []string{"--coop-plan", "monthly=500/week"}, nil, "month or year"},
		{"decimal amount", []string{"--coop-plan", "monthly=5.00/month"}, nil, "whole number of minor units"},
		{"zero amount", []string{"--coop-plan", "monthly=0/month"}, nil, "positive whole number"},
		{"negative amount", []string{"--coop-plan", "monthly=-5/month"}, nil, "positive whole number"},
		{"huge amount", []string{"--coop-plan", "monthly=99999999999999/month"}, nil, "positive whole number"},
		{"upper-case name", []string{"--coop-plan", "Monthly=500/month"}, nil, "lower-case letters"},
		{"empty name", []string{"--coop-plan", "=500/month"}, nil, "lower-case letters"},
		{"name with a space", []string{"--coop-plan", "per month=500/month"}, nil, "lower-case letters"},
		{"twice", []string{"--coop-plan", "monthly=500/month", "--coop-plan", "monthly=700/month"}, nil, `plan "monthly" is given twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c coopFlags
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			var stderr bytes.Buffer
			fs.SetOutput(&stderr)
			c.register(fs)
			err := fs.Parse(tt.args)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one saying %q", err, tt.err)
				}
				if !strings.Contains(err.Error(), "NAME=AMOUNT/INTERVAL") && !strings.Contains(err.Error(), "twice") {
					t.Fatalf("error %v does not say what is wanted", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := []coop.Plan(c.plans); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("plans %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCoopSecrets(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		enabled []coop.ProviderName
		err     string
	}{
		{"none", nil, nil, ""},
		{"stripe", map[string]string{envStripeSecretKey: "sk_test_1", envStripeWebhookSecret: "whsec_1"}, []coop.ProviderName{coop.Stripe}, ""},
		{"stripe rotating", map[string]string{envStripeSecretKey: "sk_test_1", envStripeWebhookSecret: "whsec_1, whsec_2"}, []coop.ProviderName{coop.Stripe}, ""},
		{"gocardless", map[string]string{envGoCardlessToken: "tok", envGoCardlessWebhookKey: "sec"}, []coop.ProviderName{coop.GoCardless}, ""},
		{"both", map[string]string{envStripeSecretKey: "sk", envStripeWebhookSecret: "wh", envGoCardlessToken: "tok", envGoCardlessWebhookKey: "sec"},
			[]coop.ProviderName{coop.Stripe, coop.GoCardless}, ""},
		{"stripe key alone", map[string]string{envStripeSecretKey: "sk"}, nil, envStripeWebhookSecret},
		{"stripe webhook alone", map[string]string{envStripeWebhookSecret: "wh"}, nil, envStripeSecretKey},
		{"stripe webhook of commas", map[string]string{envStripeSecretKey: "sk", envStripeWebhookSecret: " , "}, nil, envStripeWebhookSecret},
		{"gocardless token alone", map[string]string{envGoCardlessToken: "tok"}, nil, envGoCardlessWebhookKey},
		{"gocardless secret alone", map[string]string{envGoCardlessWebhookKey: "sec"}, nil, envGoCardlessToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := coopSecretsFrom(func(k string) string { return tt.env[k] })
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one naming %s", err, tt.err)
				}
				for _, v := range tt.env {
					if strings.TrimSpace(v) != "" && strings.Contains(err.Error(), v) {
						t.Fatalf("error %q shows a secret", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := s.enabled(); !reflect.DeepEqual(got, tt.enabled) {
				t.Fatalf("enabled %v, want %v", got, tt.enabled)
			}
		})
	}
	s, _ := coopSecretsFrom(func(k string) string {
		return map[string]string{envStripeSecretKey: "sk", envStripeWebhookSecret: "whsec_old,whsec_new"}[k]
	})
	if !reflect.DeepEqual(s.stripeWebhooks, []string{"whsec_old", "whsec_new"}) {
		t.Fatalf("webhook secrets %q, want both while rotating", s.stripeWebhooks)
	}
}

func TestCoopConfig(t *testing.T) {
	stripe := []coop.ProviderName{coop.Stripe}
	tests := []struct {
		name    string
		args    []string
		names   []string // --public-name
		enabled []coop.ProviderName
		check   func(t *testing.T, c coop.Config)
		err     string
	}{
		{name: "defaults", check: func(t *testing.T, c coop.Config) {
			want := coop.Config{Name: "Mutual", Currency: "GBP", Plans: []coop.Plan{}, Grace: 14 * 24 * time.Hour, ContributorWindow: 90 * 24 * time.Hour}
			if !reflect.DeepEqual(c, want) {
				t.Fatalf("config %+v, want %+v", c, want)
			}
		}},
		{name: "everything", enabled: stripe,
			args: []string{"--coop-name", "Mutual Co-op", "--coop-currency", "eur", "--coop-plan", "monthly=500/month,yearly=5000/year",
				"--coop-grace", "72h", "--coop-contributor-window", "720h", "--coop-notice-day", "12-01", "--public-url", "https://chat.example.org/"},
			check: func(t *testing.T, c coop.Config) {
				want := coop.Config{Name: "Mutual Co-op", Currency: "EUR",
					Plans: []coop.Plan{
						{Name: "monthly", Amount: 500, Currency: "EUR", Interval: "month"},
						{Name: "yearly", Amount: 5000, Currency: "EUR", Interval: "year"},
					},
					PublicURL: "https://chat.example.org", Grace: 72 * time.Hour, ContributorWindow: 720 * time.Hour, NoticeDay: "12-01"}
				if !reflect.DeepEqual(c, want) {
					t.Fatalf("config %+v, want %+v", c, want)
				}
			}},
		{name: "public url from the public name", names: []string{"chat.example.org", "mutual.example.org"}, enabled: stripe,
			args: []string{"--coop-plan", "monthly=500/month"},
			check: func(t *testing.T, c coop.Config) {
				if c.PublicURL != "https://chat.example.org" {
					t.Fatalf("public URL %q", c.PublicURL)
				}
			}},
		{name: "http on loopback", args: []string{"--public-url", "http://127.0.0.1:8080"}, check: func(t *testing.T, c coop.Config) {
			if c.PublicURL != "http://127.0.0.1:8080" {
				t.Fatalf("public URL %q", c.PublicURL)
			}
		}},
		{name: "http elsewhere", args: []string{"--public-url", "http://chat.example.org"}, err: "--public-url"},
		{name: "public url with a query", args: []string{"--public-url", "https://chat.example.org/?a=b"}, err: "--public-url"},
		{name: "public url without a host", args: []string{"--public-url", "chat.example.org"}, err: "--public-url"},
		{name: "provider without plans", enabled: stripe, args: []string{"--public-url", "https://chat.example.org"}, err: "--coop-plan"},
		{name: "provider without a public url", enabled: stripe, args: []string{"--coop-plan", "monthly=500/month"}, err: "--public-url"},
		{name: "bad currency", args: []string{"--coop-currency", "pounds"}, err: "ISO 4217"},
		{name: "currency with a digit", args: []string{"--coop-currency", "GB1"}, err: "ISO 4217"},
		{name: "no grace", args: []string{"--coop-grace", "0s"}, err: "--coop-grace"},
		{name: "negative window", args: []string{"--coop-contributor-window", "-1h"}, err: "--coop-contributor-window"},
		{name: "notice day 13-01", args: []string{"--coop-notice-day", "13-01"}, err: "--coop-notice-day"},
		{name: "notice day 02-30", args: []string{"--coop-notice-day", "02-30"}, err: "--coop-notice-day"},
		{name: "notice day 02-29", args: []string{"--coop-notice-day", "02-29"}, err: "--coop-notice-day"},
		{name: "notice day 1-12", args: []string{"--coop-notice-day", "1-12"}, err: "--coop-notice-day"},
		{name: "notice day with a year", args: []string{"--coop-notice-day", "2026-12-01"}, err: "--coop-notice-day"},
		{name: "empty name", args: []string{"--coop-name", " "}, err: "--coop-name"},
		{name: "bad stripe api", args: []string{"--stripe-api", "api.stripe.com"}, err: "--stripe-api"},
		{name: "bad gocardless api", args: []string{"--gocardless-api", "ftp://api.gocardless.com"}, err: "--gocardless-api"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c coopFlags
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			c.register(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			cfg, err := c.config(tt.names, tt.enabled)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one about %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, cfg)
		})
	}
}

// TestServeCoopRefusals: `mutual serve` stops at start, saying why, on
// co-op settings it cannot use, before it opens anything.
func TestServeCoopRefusals(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"bad plan", []string{"--coop-plan", "monthly=5.00/month"}, nil, "NAME=AMOUNT/INTERVAL"},
		{"bad plan in the environment", nil, map[string]string{"MUTUAL_COOP_PLAN": "monthly"}, "MUTUAL_COOP_PLAN"},
		{"half of stripe", nil, map[string]string{envStripeSecretKey: "sk_test_secret"}, envStripeWebhookSecret},
		{"stripe without plans", nil, map[string]string{envStripeSecretKey: "sk_test_secret", envStripeWebhookSecret: "whsec_secret"}, "--coop-plan"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{envStripeSecretKey, envStripeWebhookSecret, envGoCardlessToken, envGoCardlessWebhookKey} {
				t.Setenv(k, "")
			}
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			args := append([]string{"serve", "--dev", "--listen", "127.0.0.1:0", "--metrics-addr", "", "--data", t.TempDir()}, tt.args...)
			var out, errb bytes.Buffer
			if code := run(args, &out, &errb); code == 0 {
				t.Fatalf("exit 0, want failure")
			}
			if !strings.Contains(errb.String(), tt.want) {
				t.Fatalf("stderr %q does not mention %q", errb.String(), tt.want)
			}
			if strings.Contains(errb.String(), "sk_test_secret") || strings.Contains(errb.String(), "whsec_secret") {
				t.Fatalf("stderr shows a secret: %q", errb.String())
			}
		})
	}
}

// TestCoopProviders: the providers whose secrets are set are made, and
// only those.
func TestCoopProviders(t *testing.T) {
	var c coopFlags
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	c.register(fs)
	for _, tt := range []struct {
		name    string
		secrets coopSecrets
		want    []coop.ProviderName
	}{
		{"none", coopSecrets{}, nil},
		{"stripe", coopSecrets{stripeKey: "sk_test_1", stripeWebhooks: []string{"whsec_1", "whsec_2"}}, []coop.ProviderName{coop.Stripe}},
		{"gocardless", coopSecrets{gcToken: "tok", gcWebhook: "sec"}, []coop.ProviderName{coop.GoCardless}},
		{"both", coopSecrets{stripeKey: "sk", stripeWebhooks: []string{"wh"}, gcToken: "tok", gcWebhook: "sec"}, []coop.ProviderName{coop.Stripe, coop.GoCardless}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ps, err := c.providers(tt.secrets)
			if err != nil {
				t.Fatal(err)
			}
			var got []coop.ProviderName
			for _, p := range ps {
				got = append(got, p.Name())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("providers %v, want %v", got, tt.want)
			}
		})
	}
}

// TestServeCoop runs the binary with both providers' secrets in its
// environment: it says at start which providers are enabled, runs the
// co-op of its flags (its public figures, its webhooks, which refuse a
// forged signature), and its log holds none of the secrets.
func TestServeCoop(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "mutual")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	secrets := map[string]string{
		envStripeSecretKey:      "sk_test_canary1",
		envStripeWebhookSecret:  "whsec_canary2,whsec_canary3",
		envGoCardlessToken:      "gc_canary4",
		envGoCardlessWebhookKey: "gc_canary5",
	}
	cmd := exec.Command(bin, "serve", "--dev", "--listen", "127.0.0.1:0", "--metrics-addr", "", "--data", t.TempDir(), "--log-format", "json",
		"--coop-plan", "monthly=500/month", "--public-url", "http://127.0.0.1:8080", "--coop-name", "Mutual Co-op", "--coop-currency", "eur")
	cmd.Env = os.Environ()
	for k, v := range secrets {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stderr, _ := startDev(t, cmd)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	addr := waitForLog(ctx, t, stderr, regexp.MustCompile(`"addr":"http://([^"]+)"`))
	if got := waitForLog(ctx, t, stderr, regexp.MustCompile(`"msg":"co-op: payments enabled","providers":"([^"]+)"`)); got != "stripe and gocardless" {
		t.Fatalf("providers %q, want stripe and gocardless", got)
	}

	resp, err := http.Get("http://" + addr + "/coop.json")
	if err != nil {
		t.Fatal(err)
	}
	var figures struct {
		Name, Currency string
		Months         []struct{ Month string }
	}
	err = json.NewDecoder(resp.Body).Decode(&figures)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/coop.json: %s, %v", resp.Status, err)
	}
	if figures.Name != "Mutual Co-op" || figures.Currency != "EUR" || len(figures.Months) == 0 {
		t.Fatalf("/coop.json: %+v", figures)
	}
	for provider, status := range map[string]int{"stripe": http.StatusBadRequest, "gocardless": 498} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/v1/coop/webhooks/"+provider, strings.NewReader(`{"id":"evt_1"}`))
		req.Header.Set("Stripe-Signature", "t=1,v1=00")
		req.Header.Set("Webhook-Signature", "00")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != status {
			t.Fatalf("a forged %s webhook: %s, want %d", provider, resp.Status, status)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
	}
	log := stderr.String()
	for _, v := range secrets {
		for _, one := range strings.Split(v, ",") {
			if strings.Contains(log, one) {
				t.Fatalf("the log holds the secret %s:\n%s", one, log)
			}
		}
	}
}
