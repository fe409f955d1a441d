package wire

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite the fuzz seed corpus in testdata/fuzz")

// TestSeedCorpus keeps testdata/fuzz in step with sampleFrames: run with
// -update-corpus after changing the format.
func TestSeedCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecodeFrame")
	for i, f := range sampleFrames() {
		name := filepath.Join(dir, fmt.Sprintf("%02d-%s", i, f.Body.Type()))
		want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", Encode(f))
		if *updateCorpus {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(name, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(name)
		if err != nil || string(got) != want {
			t.Errorf("%s is missing or stale: run go test -run TestSeedCorpus -update-corpus", name)
		}
	}
}
