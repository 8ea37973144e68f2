package sample

import (
	"os"
	"testing"
)

func TestPasses(t *testing.T) { t.Log("quiet when it passes") }

func TestSkips(t *testing.T) { t.Skip("needs a thing this machine lacks") }

func TestFailsWhenAsked(t *testing.T) {
	if os.Getenv("SAMPLE_FAIL") != "" {
		t.Fatal("asked to fail")
	}
}
