package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rbmgpu/rbmgpu/engine"
	"github.com/rbmgpu/rbmgpu/models"
)

// SIGKILL at random moments of a DBN run never leaves a corrupt layer
// checkpoint: every layerN.safetensors present loads, and --resume finishes
// the run (a DBN file that loads, one metrics record per layer epoch).
func TestKillDBNNeverCorrupts(t *testing.T) {
	kills, resumes := 12, 4
	if testing.Short() {
		kills, resumes = 4, 1
	}
	const epochs = 60
	args := []string{"train", "--model", "dbn", "--data", "bas:4x4", "--layers", "16,200,200", "--epochs", strconv.Itoa(epochs),
		"--batch", "5", "--quiet"}
	rng := rand.New(rand.NewPCG(2026, 11))
	work := t.TempDir()
	layersSeen, resumed := 0, 0
	for i := range kills {
		dir := "dbn" + strconv.Itoa(i)
		delay := time.Duration(rng.IntN(1500)) * time.Millisecond
		if !startKillMaybe(t, work, delay, append(args, "--out", dir)...) {
			continue // finished before the kill: nothing to check
		}
		for l := 0; l < 2; l++ {
			path := filepath.Join(work, dir, fmt.Sprintf("layer%d.safetensors", l))
			if _, err := os.Stat(path); os.IsNotExist(err) {
				continue
			}
			if _, _, err := engine.LoadSnapshot(path); err != nil {
				t.Fatalf("kill %d: layer checkpoint corrupt after SIGKILL: %v", i, err)
			}
			layersSeen++
		}
		if resumed < resumes {
			r := runCLI(t, work, "train", "--resume", dir, "--quiet")
			noPanic(t, r, nil)
			if r.code != 0 {
				t.Fatalf("kill %d: resume: exit %d: %s", i, r.code, r.stderr)
			}
			if _, err := models.LoadDBN(filepath.Join(work, dir, dbnFile)); err != nil {
				t.Fatalf("kill %d: resumed DBN: %v", i, err)
			}
			m, _ := os.ReadFile(filepath.Join(work, dir, metricsFile))
			if n := strings.Count(string(m), "\n"); n != 2*epochs {
				t.Errorf("kill %d: metrics.jsonl has %d records after resuming, want %d", i, n, 2*epochs)
			}
			resumed++
		}
	}
	t.Logf("%d kills, %d layer checkpoints loaded, %d runs resumed to completion, 0 lost", kills, layersSeen, resumed)
}
