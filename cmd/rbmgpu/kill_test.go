package main

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rbmgpu/rbmgpu/engine"
)

// killArgs train long enough never to finish on their own, checkpointing
// after every epoch (a few milliseconds each), so a kill can land anywhere:
// in start-up, in a training step, in the middle of writing a checkpoint.
var killArgs = []string{"train", "--data", "bas:4x4", "--pcd", "2", "--hidden", "300",
	"--epochs", "1000000", "--eval-every", "1000000", "--quiet"}

// startKill starts the binary with args in dir and SIGKILLs it after delay.
// It reports whether the process was still running when killed.
func startKill(t *testing.T, dir string, delay time.Duration, args ...string) bool {
	t.Helper()
	landed, finished := kill(t, dir, delay, args...)
	if finished {
		t.Fatalf("%q exited normally before the kill", args)
	}
	return landed
}

// startKillMaybe is startKill for runs that may finish before the kill.
func startKillMaybe(t *testing.T, dir string, delay time.Duration, args ...string) bool {
	t.Helper()
	landed, _ := kill(t, dir, delay, args...)
	return landed
}

// kill starts the binary with args in dir and SIGKILLs it after delay. It
// reports whether the kill landed and whether the run had exited normally.
func kill(t *testing.T, dir string, delay time.Duration, args ...string) (landed, finished bool) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = nil, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(delay)
	cmd.Process.Kill() // SIGKILL: no handler runs, no clean-up, no final save
	err := cmd.Wait()
	if err == nil {
		return false, true
	}
	ee, ok := err.(*exec.ExitError)
	return ok && !ee.Exited(), false
}

// runFiles are the names a training run writes; anything else in its
// directory must be a temporary file of an atomic write (".NAME.tmp-*").
var runFiles = map[string]bool{modelFile: true, metricsFile: true, configFile: true}

// checkRunDir checks what a killed run left in dir: model.safetensors is
// absent or a checkpoint that loads; other files are the run's own or
// temporary files that no reader opens. It returns the checkpoint's epoch
// (-1 when there is none) and the number of temporary files.
func checkRunDir(t *testing.T, dir string) (epoch, temps int) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, e := range ents {
		n := e.Name()
		switch {
		case runFiles[n]:
		case strings.HasPrefix(n, ".") && strings.Contains(n, ".tmp-"):
			base := strings.TrimPrefix(n[:strings.Index(n, ".tmp-")], ".")
			if !runFiles[base] {
				t.Errorf("%s: temporary file %s of an unknown file", dir, n)
			}
			temps++
		default:
			t.Errorf("%s: unexpected file %s", dir, n)
		}
	}
	path := filepath.Join(dir, modelFile)
	if _, err := os.Stat(path); os.IsNotExist(err) {
		return -1, temps
	}
	snap, _, err := engine.LoadSnapshot(path)
	if err != nil {
		t.Fatalf("checkpoint corrupt after SIGKILL: %v", err)
	}
	if snap.Batch != 0 {
		t.Errorf("%s: checkpoint of a killed run is mid-epoch (batch %d); only epoch ends are saved", path, snap.Batch)
	}
	return snap.Epoch, temps
}

// resumeTo continues the run in dir to `epochs` epochs and checks the
// result: exit 0, a checkpoint at that epoch, one metrics record per epoch.
func resumeTo(t *testing.T, work, dir string, epochs int) {
	t.Helper()
	args := []string{"train", "--resume", dir, "--epochs", strconv.Itoa(epochs), "--quiet"}
	r := runCLI(t, work, args...)
	noPanic(t, r, args)
	if r.code != 0 {
		t.Fatalf("%q: exit %d: %s", args, r.code, r.stderr)
	}
	snap, _, err := engine.LoadSnapshot(filepath.Join(work, dir, modelFile))
	if err != nil {
		t.Fatal(err)
	}
	if snap.Epoch != epochs {
		t.Errorf("resumed checkpoint at epoch %d, want %d", snap.Epoch, epochs)
	}
	m, err := os.ReadFile(filepath.Join(work, dir, metricsFile))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(m), "\n"); n != epochs {
		t.Errorf("metrics.jsonl has %d records after resuming to %d epochs", n, epochs)
	}
}

// SIGKILL at random moments never leaves a corrupt checkpoint: after every
// kill model.safetensors is absent or loads, temporary files are never
// taken for data, and --resume continues from whatever is there, including
// after a kill of a resumed run.
func TestKillNeverCorrupts(t *testing.T) {
	kills, resumes := 30, 6
	if testing.Short() {
		kills, resumes = 8, 2
	}
	rng := rand.New(rand.NewPCG(2024, 11))
	work := t.TempDir()
	var (
		tried, landed, loaded, absent, temps, resumed, lost int
		maxEpoch                                            int
	)
	for i := range kills {
		dir := "run" + strconv.Itoa(i)
		// Delays from 0 to 600 ms: the early ones land in start-up, the
		// later ones in training, often in a checkpoint write.
		delay := time.Duration(rng.IntN(600)) * time.Millisecond
		tried++
		if startKill(t, work, delay, append(killArgs, "--out", dir)...) {
			landed++
		}
		ep, tmp := checkRunDir(t, filepath.Join(work, dir))
		temps += tmp
		if ep < 0 {
			absent++
			continue
		}
		loaded++
		maxEpoch = max(maxEpoch, ep)
		if resumed >= resumes {
			continue
		}
		// Kill a resumed run too; its checkpoint must not go back in time.
		tried++
		if startKill(t, work, time.Duration(rng.IntN(400))*time.Millisecond,
			"train", "--resume", dir, "--epochs", "1000000", "--quiet") {
			landed++
		}
		ep2, tmp := checkRunDir(t, filepath.Join(work, dir))
		temps += tmp
		if ep2 < ep {
			lost++
			t.Errorf("%s: checkpoint went from epoch %d back to %d after killing the resumed run", dir, ep, ep2)
			continue
		}
		loaded++
		resumeTo(t, work, dir, ep2+2)
		resumed++
	}
	t.Logf("SIGKILL: %d kills tried (%d landed on a running process), %d checkpoints loaded, %d runs killed before their first checkpoint, %d resumed with --resume, %d temporary files left (never read), %d lost, last epoch reached %d",
		tried, landed, loaded, absent, resumed, temps, lost, maxEpoch)
	if loaded == 0 {
		t.Error("no kill came after a checkpoint; the delays are too short for this machine")
	}
}

// Checkpoints wait a second after a quick write and nine times a slow
// write's duration after it: at most a tenth of the run goes to writing.
func TestNextCheckpointWait(t *testing.T) {
	for _, tc := range []struct{ write, want time.Duration }{
		{0, time.Second},
		{10 * time.Millisecond, time.Second},
		{111 * time.Millisecond, time.Second},
		{200 * time.Millisecond, 1800 * time.Millisecond},
		{time.Second, 9 * time.Second},
	} {
		if got := nextCheckpointWait(tc.write); got != tc.want {
			t.Errorf("after a %v write: wait %v, want %v", tc.write, got, tc.want)
		}
	}
}
