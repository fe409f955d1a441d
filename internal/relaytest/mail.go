package relaytest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/mutualcoop/mutual/internal/smtpcatch"
	"github.com/mutualcoop/mutual/relay/auth/smtp"
)

// From is the default sender of the code mails.
const From = "codes@mutual.test"

// newSender is the relay's SMTP sender for mail: STARTTLS, verified
// against mail's certificate, and AUTH.
func newSender(mail *smtpcatch.Server, from string) (*smtp.Sender, error) {
	if from == "" {
		from = From
	}
	return smtp.New(smtp.Config{
		Host: mail.Host(), Port: mail.Port(), TLS: smtp.StartTLS, RootCAs: mail.RootCAs(),
		Username: mail.Username, Password: mail.Password, From: from,
	})
}

// MailFlags sets up a relay run as a child process (`mutual serve`) to
// mail its codes to mail as Open's relay does: over STARTTLS, verifying
// the certificate, with AUTH. It writes two files into dir, the password
// (given with --smtp-password-file, as in production) and mail's
// certificate in PEM, and returns the arguments for `mutual serve` and
// the environment to add to the process's: SSL_CERT_FILE, naming the
// certificate, so that the relay trusts it as it would a real server's.
func MailFlags(mail *smtpcatch.Server, dir string) (args, env []string, err error) {
	pass := filepath.Join(dir, "smtp-password")
	if err := os.WriteFile(pass, []byte(mail.Password), 0o600); err != nil {
		return nil, nil, fmt.Errorf("relaytest: smtp password: %w", err)
	}
	ca := filepath.Join(dir, "smtp-ca.pem")
	if err := os.WriteFile(ca, mail.CertificatePEM(), 0o600); err != nil {
		return nil, nil, fmt.Errorf("relaytest: smtp certificate: %w", err)
	}
	args = []string{
		"--smtp-host", mail.Host(), "--smtp-port", strconv.Itoa(mail.Port()), "--smtp-tls", "starttls",
		"--smtp-user", mail.Username, "--smtp-password-file", pass, "--smtp-from", From,
	}
	return args, []string{"SSL_CERT_FILE=" + ca}, nil
}
