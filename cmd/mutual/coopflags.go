package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mutualcoop/mutual/relay/auth"
	"github.com/mutualcoop/mutual/relay/coop"
	"github.com/mutualcoop/mutual/relay/coop/gocardless"
	"github.com/mutualcoop/mutual/relay/coop/stripe"
)

// The environment variables holding the payment providers' secrets:
// never flags, which other users of the machine can read.
const (
	envStripeSecretKey      = "MUTUAL_STRIPE_SECRET_KEY"
	envStripeWebhookSecret  = "MUTUAL_STRIPE_WEBHOOK_SECRET" // several, comma-separated, while one is rotated
	envGoCardlessToken      = "MUTUAL_GOCARDLESS_ACCESS_TOKEN"
	envGoCardlessWebhookKey = "MUTUAL_GOCARDLESS_WEBHOOK_SECRET"
)

// maxPlanAmount bounds a plan's amount, in minor units.
const maxPlanAmount = 1_000_000_000_000

// coopFlags are the co-op's settings of `mutual serve`: its name,
// currency and plans, how long grace and a contribution last, the day of
// the yearly notice, and where the payment providers' APIs are.
type coopFlags struct {
	name      string
	currency  string
	plans     planList
	grace     time.Duration
	window    time.Duration
	noticeDay string
	publicURL string
	stripeAPI string
	gcAPI     string
}

func (c *coopFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.name, "coop-name", "Mutual", "the co-op's name, on its public page /coop and in the app")
	fs.StringVar(&c.currency, "coop-currency", "GBP", "the co-op's currency (ISO 4217) for its costs, dues and plans")
	fs.Var(&c.plans, "coop-plan", "a way to pay dues, NAME=AMOUNT/INTERVAL with AMOUNT in minor units and INTERVAL month or year, such as monthly=500/month (repeatable, or comma-separated)")
	fs.DurationVar(&c.grace, "coop-grace", 14*24*time.Hour, "how long a member stays one after a failed payment")
	fs.DurationVar(&c.window, "coop-contributor-window", 90*24*time.Hour, "how recent a merged commit makes a contributor")
	fs.StringVar(&c.noticeDay, "coop-notice-day", "", "send every user's yearly co-op notice on this day, MM-DD such as 12-01 (default: each user's own day, spread over the year)")
	fs.StringVar(&c.publicURL, "public-url", "", "the web app's address, such as https://chat.example.org, where checkouts return (default: https:// and the first --public-name)")
	fs.StringVar(&c.stripeAPI, "stripe-api", "https://api.stripe.com", "Stripe's API (secret key and webhook signing secrets: "+envStripeSecretKey+" and "+envStripeWebhookSecret+")")
	fs.StringVar(&c.gcAPI, "gocardless-api", "https://api.gocardless.com", "GoCardless's API, or its sandbox https://api-sandbox.gocardless.com (access token and webhook secret: "+envGoCardlessToken+" and "+envGoCardlessWebhookKey+")")
}

// coopSecrets are the payment providers' secrets, from the environment.
// A provider is enabled when its secrets are set.
type coopSecrets struct {
	stripeKey      string
	stripeWebhooks []string // the webhook signing secrets: more than one while rotating
	gcToken        string
	gcWebhook      string
}

// coopSecretsFrom reads the providers' secrets with getenv (os.Getenv).
// A provider given half its secrets is an error: it could take payments
// it would never hear about, or hear of payments it cannot make.
func coopSecretsFrom(getenv func(string) string) (coopSecrets, error) {
	s := coopSecrets{
		stripeKey: strings.TrimSpace(getenv(envStripeSecretKey)),
		gcToken:   strings.TrimSpace(getenv(envGoCardlessToken)),
		gcWebhook: strings.TrimSpace(getenv(envGoCardlessWebhookKey)),
	}
	for _, w := range strings.Split(getenv(envStripeWebhookSecret), ",") {
		if w = strings.TrimSpace(w); w != "" {
			s.stripeWebhooks = append(s.stripeWebhooks, w)
		}
	}
	if (s.stripeKey == "") != (len(s.stripeWebhooks) == 0) {
		return coopSecrets{}, fmt.Errorf("payments through Stripe need both %s and %s: one is set without the other", envStripeSecretKey, envStripeWebhookSecret)
	}
	if (s.gcToken == "") != (s.gcWebhook == "") {
		return coopSecrets{}, fmt.Errorf("payments through GoCardless need both %s and %s: one is set without the other", envGoCardlessToken, envGoCardlessWebhookKey)
	}
	return s, nil
}

// enabled names the providers whose secrets are set.
func (s coopSecrets) enabled() []coop.ProviderName {
	var names []coop.ProviderName
	if s.stripeKey != "" {
		names = append(names, coop.Stripe)
	}
	if s.gcToken != "" {
		names = append(names, coop.GoCardless)
	}
	return names
}

// config checks the co-op's flags and returns its configuration, without
// its providers; publicNames are the relay's --public-name, the default
// of --public-url. enabled providers need plans and a public URL, to
// which checkouts return.
func (c *coopFlags) config(publicNames []string, enabled []coop.ProviderName) (coop.Config, error) {
	cur, err := parseCurrency(c.currency)
	if err != nil {
		return coop.Config{}, err
	}
	if c.grace <= 0 {
		return coop.Config{}, fmt.Errorf("--coop-grace %v: want a positive duration, such as 336h", c.grace)
	}
	if c.window <= 0 {
		return coop.Config{}, fmt.Errorf("--coop-contributor-window %v: want a positive duration, such as 2160h", c.window)
	}
	if err := checkNoticeDay(c.noticeDay); err != nil {
		return coop.Config{}, err
	}
	name := strings.TrimSpace(c.name)
	if name == "" || len(name) > 100 {
		return coop.Config{}, fmt.Errorf("--coop-name: want 1 to 100 bytes, not %d", len(name))
	}
	public := c.publicURL
	if public == "" && len(publicNames) > 0 {
		public = "https://" + publicNames[0]
	}
	if public != "" {
		if public, err = checkPublicURL(public); err != nil {
			return coop.Config{}, err
		}
	}
	for _, api := range []struct{ flag, url string }{{"--stripe-api", c.stripeAPI}, {"--gocardless-api", c.gcAPI}} {
		if _, err := checkAPIURL(api.url); err != nil {
			return coop.Config{}, fmt.Errorf("%s: %w", api.flag, err)
		}
	}
	plans := make([]coop.Plan, len(c.plans))
	for i, p := range c.plans {
		p.Currency = cur
		plans[i] = p
	}
	if len(enabled) > 0 {
		if len(plans) == 0 {
			return coop.Config{}, fmt.Errorf("payments through %s need at least one --coop-plan, such as --coop-plan monthly=500/month", providerList(enabled))
		}
		if public == "" {
			return coop.Config{}, errors.New("payments need --public-url (or --public-name), the address checkouts return to")
		}
	}
	return coop.Config{
		Name:              name,
		Currency:          cur,
		Plans:             plans,
		PublicURL:         public,
		Grace:             c.grace,
		ContributorWindow: c.window,
		NoticeDay:         c.noticeDay,
	}, nil
}

// providerList names providers for people: "stripe and gocardless".
func providerList(names []coop.ProviderName) string {
	s := make([]string, len(names))
	for i, n := range names {
		s[i] = string(n)
	}
	return strings.Join(s, " and ")
}

// parseCurrency checks an ISO 4217 code and returns it in upper case.
func parseCurrency(s string) (string, error) {
	c := strings.ToUpper(strings.TrimSpace(s))
	if len(c) != 3 || strings.Trim(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		return "", fmt.Errorf("--coop-currency %q: want a three-letter ISO 4217 code, such as GBP or EUR", s)
	}
	return c, nil
}

// checkNoticeDay checks --coop-notice-day: empty, or MM-DD of a day that
// every year has.
func checkNoticeDay(s string) error {
	if s == "" {
		return nil
	}
	if len(s) != 5 || s == "02-29" {
		return fmt.Errorf("--coop-notice-day %q: want MM-DD of a day every year has, such as 12-01", s)
	}
	// 2025 is not a leap year: a day it has, every year has.
	if _, err := time.Parse("2006-01-02", "2025-"+s); err != nil {
		return fmt.Errorf("--coop-notice-day %q: want MM-DD of a day every year has, such as 12-01", s)
	}
	return nil
}

// checkPublicURL checks --public-url: https (http only for a loopback
// host, in development), with a host and no query; it returns it without
// a trailing slash.
func checkPublicURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil ||
		(u.Scheme != "https" && !(u.Scheme == "http" && auth.IsLoopback(u.Host))) {
		return "", fmt.Errorf("--public-url %q: want https://host[/path] (http only on a loopback address)", s)
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

// checkAPIURL checks a provider's API address: http or https, with a
// host.
func checkAPIURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil {
		return "", fmt.Errorf("%q is not an http(s) URL", s)
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

// planList is the --coop-plan flag: plans NAME=AMOUNT/INTERVAL, repeated
// or comma-separated (so that one environment variable can hold several).
type planList []coop.Plan

func (p *planList) String() string {
	s := make([]string, len(*p))
	for i, pl := range *p {
		s[i] = fmt.Sprintf("%s=%d/%s", pl.Name, pl.Amount, pl.Interval)
	}
	return strings.Join(s, ",")
}

func (p *planList) Set(v string) error {
	for _, one := range strings.Split(v, ",") {
		pl, err := parsePlan(strings.TrimSpace(one))
		if err != nil {
			return err
		}
		for _, have := range *p {
			if have.Name == pl.Name {
				return fmt.Errorf("plan %q is given twice", pl.Name)
			}
		}
		*p = append(*p, pl)
	}
	return nil
}

// parsePlan parses NAME=AMOUNT/INTERVAL: NAME of lower-case letters,
// digits and dashes, AMOUNT a positive whole number of minor units,
// INTERVAL month or year.
func parsePlan(s string) (coop.Plan, error) {
	bad := func(why string) error {
		return fmt.Errorf("plan %q: %s; want NAME=AMOUNT/INTERVAL, such as monthly=500/month (AMOUNT in minor units: 500 is 5.00)", s, why)
	}
	name, rest, ok := strings.Cut(s, "=")
	if !ok {
		return coop.Plan{}, bad("no =")
	}
	amount, interval, ok := strings.Cut(rest, "/")
	if !ok {
		return coop.Plan{}, bad("no /INTERVAL")
	}
	if name == "" || len(name) > 32 || strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
		return coop.Plan{}, bad("the name is 1 to 32 lower-case letters, digits and dashes")
	}
	n, err := strconv.ParseInt(amount, 10, 64)
	if err != nil || n <= 0 || n > maxPlanAmount {
		return coop.Plan{}, bad("the amount is a positive whole number of minor units")
	}
	if interval != "month" && interval != "year" {
		return coop.Plan{}, bad("the interval is month or year")
	}
	return coop.Plan{Name: name, Amount: n, Interval: interval}, nil
}

// providers makes the providers whose secrets are set.
func (c *coopFlags) providers(s coopSecrets) ([]coop.Provider, error) {
	var ps []coop.Provider
	if s.stripeKey != "" {
		p, err := stripe.New(stripe.Config{SecretKey: s.stripeKey, WebhookSecrets: s.stripeWebhooks, APIURL: c.stripeAPI})
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	if s.gcToken != "" {
		p, err := gocardless.New(gocardless.Config{AccessToken: s.gcToken, WebhookSecret: s.gcWebhook, API: c.gcAPI})
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, nil
}

// coopConfig checks the co-op's flags and the providers' secrets in the
// environment, makes the providers, and logs which are enabled (never
// their secrets).
func (f *serveFlags) coopConfig(log *slog.Logger) (coop.Config, error) {
	secrets, err := coopSecretsFrom(os.Getenv)
	if err != nil {
		return coop.Config{}, err
	}
	enabled := secrets.enabled()
	cfg, err := f.coop.config(f.names, enabled)
	if err != nil {
		return coop.Config{}, err
	}
	if cfg.Providers, err = f.coop.providers(secrets); err != nil {
		return coop.Config{}, err
	}
	if len(enabled) == 0 {
		log.Info("co-op: no payment provider enabled, joining is unavailable (set " + envStripeSecretKey + " and " + envStripeWebhookSecret + ", or " + envGoCardlessToken + " and " + envGoCardlessWebhookKey + ")")
	} else {
		log.Info("co-op: payments enabled", "providers", providerList(enabled), "plans", f.coop.plans.String(), "currency", cfg.Currency)
	}
	return cfg, nil
}
