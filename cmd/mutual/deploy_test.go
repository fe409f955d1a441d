package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The units and the container recipe an operator installs.
var (
	units         = []string{"../../deploy/systemd/mutual.service", "../../deploy/systemd/mutual-router.service"}
	containerfile = "../../deploy/Containerfile"
)

// unitCommand is what a unit's ExecStart runs: mutual and its arguments.
var unitCommand = regexp.MustCompile(`(?m)^ExecStart=/usr/local/bin/mutual (\S+)(.*)$`)

// TestDeployedSettingsExist: every setting the units and the container
// recipe give the relay (MUTUAL_* variables, ExecStart flags) is one the
// command accepts, so that a renamed flag cannot silently break a deployed
// service.
func TestDeployedSettingsExist(t *testing.T) {
	envVar := regexp.MustCompile(`\bMUTUAL_[A-Z_]+\b`)
	flagName := regexp.MustCompile(`--([a-z-]+)`)
	for _, file := range append(units, containerfile) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			text := settings(t, file)
			command := "serve"
			if m := unitCommand.FindSubmatch(text); m != nil {
				command = string(m[1])
				for _, f := range flagName.FindAllSubmatch(m[2], -1) {
					if !strings.Contains(commandUsage(t, command), "-"+string(f[1])+" ") {
						t.Errorf("ExecStart passes --%s, which mutual %s does not accept", f[1], command)
					}
				}
			}
			help := commandUsage(t, command)
			for _, v := range envVar.FindAll(text, -1) {
				if !strings.Contains(help, "($"+string(v)+")") {
					t.Errorf("%s sets %s, which mutual %s does not read", filepath.Base(file), v, command)
				}
			}
		})
	}
}

// settings returns a unit's or recipe's lines without its comments.
func settings(t *testing.T, file string) []byte {
	t.Helper()
	text, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, line := range strings.Split(string(text), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.Bytes()
}

// commandUsage returns what `mutual COMMAND -h` prints.
func commandUsage(t *testing.T, command string) string {
	t.Helper()
	var out, errb bytes.Buffer
	run([]string{command, "-h"}, &out, &errb)
	if !strings.Contains(errb.String()+out.String(), "Usage of "+command) {
		t.Fatalf("mutual %s -h printed no usage:\n%s%s", command, out.String(), errb.String())
	}
	return out.String() + errb.String()
}

// TestSystemdUnits checks the units with systemd's own verifier (it needs
// no running systemd, only its package). The verifier wants the ExecStart program to exist,
// so it checks a copy whose ExecStart points at a freshly built binary.
func TestSystemdUnits(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatal("systemd-analyze is not installed: scripts/deps.sh test installs it (make test runs it first)")
	}
	bin := filepath.Join(t.TempDir(), "mutual")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	dir := t.TempDir()
	for _, unit := range units {
		text, err := os.ReadFile(unit)
		if err != nil {
			t.Fatal(err)
		}
		if !unitCommand.Match(text) {
			t.Fatalf("%s: no ExecStart=/usr/local/bin/mutual", unit)
		}
		text = bytes.ReplaceAll(text, []byte("ExecStart=/usr/local/bin/mutual"), []byte("ExecStart="+bin))
		copyPath := filepath.Join(dir, filepath.Base(unit))
		if err := os.WriteFile(copyPath, text, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(analyze, "verify", copyPath).CombinedOutput()
		if err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("systemd-analyze verify %s: %v\n%s", filepath.Base(unit), err, out)
		}
	}
}

// TestSystemdHardening: the units keep the protections an operator
// expects; a later edit that drops one fails here rather than in review.
func TestSystemdHardening(t *testing.T) {
	want := []string{
		"DynamicUser=yes", "NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes",
		"Restart=on-failure", "LimitNOFILE=", "TimeoutStopSec=", "CapabilityBoundingSet=",
	}
	for _, unit := range units {
		text, err := os.ReadFile(unit)
		if err != nil {
			t.Fatal(err)
		}
		settings := map[string]bool{}
		sc := bufio.NewScanner(bytes.NewReader(text))
		for sc.Scan() {
			settings[strings.TrimSpace(sc.Text())] = true
		}
		for _, w := range want {
			found := false
			for s := range settings {
				if s == w || strings.HasSuffix(w, "=") && strings.HasPrefix(s, w) {
					found = true
				}
			}
			if !found {
				t.Errorf("%s: no %s", filepath.Base(unit), w)
			}
		}
	}
	relay, err := os.ReadFile(units[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"StateDirectory=mutual", "LoadCredential=smtp-password:", "--smtp-password-file %d/smtp-password"} {
		if !bytes.Contains(relay, []byte(w)) {
			t.Errorf("mutual.service: no %s", w)
		}
	}
}
