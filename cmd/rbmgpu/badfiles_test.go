package main

import (
	"bytes"
	bin "encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rbmgpu/rbmgpu/engine"
	"github.com/rbmgpu/rbmgpu/models"
	"github.com/rbmgpu/rbmgpu/models/safetensors"
)

// Every command that reads a checkpoint (eval, plot, sample, train
// --resume) turns every kind of damaged or wrong file into exit status 1
// and one line naming the file — never a panic, never a partial output.
func TestCorruptCheckpointsEverywhere(t *testing.T) {
	dir := t.TempDir()
	if r := runCLI(t, dir, "train", "--epochs", "2", "--hidden", "8", "--out", "good"); r.code != 0 {
		t.Fatalf("train: %s", r.stderr)
	}
	good, err := os.ReadFile(filepath.Join(dir, "good", modelFile))
	if err != nil {
		t.Fatal(err)
	}
	config, _ := os.ReadFile(filepath.Join(dir, "good", configFile))
	hlen := bin.LittleEndian.Uint64(good[:8])
	header := string(good[8 : 8+hlen])

	variants := map[string][]byte{}
	// A flipped byte inside a metadata string can leave a valid file (a
	// renamed, ignored field); flipped where the structure lives, it must not.
	flip := append([]byte(nil), good...)
	flip[8+strings.Index(header, `"data_offsets":[`)+len(`"data_offsets":`)] ^= 0x20 // '[' → '{'
	variants["flipped-header-byte"] = flip
	variants["bad-header-json"] = append(append(append([]byte(nil), good[:8]...), bytes.Repeat([]byte("{"), int(hlen))...), good[8+hlen:]...)
	huge := append([]byte(nil), good...)
	bin.LittleEndian.PutUint64(huge[:8], uint64(len(good))*4)
	variants["header-length-beyond-file"] = huge
	variants["truncated"] = good[:len(good)-7]
	variants["empty"] = nil
	variants["wrong-dtype"] = append(append(append([]byte(nil), good[:8]...), strings.Replace(header, `"F32"`, `"I32"`, 1)...), good[8+hlen:]...)
	// NaN weights: a structurally valid file whose W holds a NaN.
	snap, meta, err := engine.LoadSnapshot(filepath.Join(dir, "good", modelFile))
	if err != nil {
		t.Fatal(err)
	}
	tensors, md, err := safetensors.Read(filepath.Join(dir, "good", modelFile))
	if err != nil {
		t.Fatal(err)
	}
	var list []safetensors.Tensor
	for name, tt := range tensors {
		tt.Name = name
		if name == models.TensorW {
			tt.Data = append([]float32(nil), tt.Data...)
			tt.Data[3] = float32(math.NaN())
		}
		list = append(list, tt)
	}
	nanPath := filepath.Join(dir, "nan.safetensors")
	if err := safetensors.Write(nanPath, list, md); err != nil {
		t.Fatal(err)
	}
	variants["nan-weights"], _ = os.ReadFile(nanPath)
	// A DBN where an RBM run is expected.
	dbn, _ := models.NewDBN([]*models.RBM{snap.RBM(), mustRBM(t, 8, 4)}, 0)
	dbnPath := filepath.Join(dir, "dbn.safetensors")
	if err := models.SaveDBN(dbnPath, dbn); err != nil {
		t.Fatal(err)
	}
	variants["dbn-as-run"], _ = os.ReadFile(dbnPath)
	_ = meta
	// Gaussian RBM checkpoints with a NaN log variance, a zero data scale,
	// a missing log-variance tensor.
	grbmMD := map[string]string{}
	for k, v := range md {
		grbmMD[k] = strings.Replace(v, `"kind":"rbm"`, `"kind":"grbm"`, 1)
	}
	grbmMD["kind"] = models.KindGRBM
	V := snap.RBM().V
	ones := func() []float32 {
		x := make([]float32, V)
		for i := range x {
			x[i] = 1
		}
		return x
	}
	for name, mod := range map[string]func(lv, mean, std []float32) (drop string){
		"grbm-nan-logvar":      func(lv, _, _ []float32) string { lv[1] = float32(math.NaN()); return "" },
		"grbm-zero-std":        func(_, _, std []float32) string { std[0] = 0; return "" },
		"grbm-missing-logvar":  func(_, _, _ []float32) string { return models.TensorLogVar },
		"grbm-missing-datastd": func(_, _, _ []float32) string { return models.TensorDataStd },
	} {
		lv, mean, std := make([]float32, V), make([]float32, V), ones()
		drop := mod(lv, mean, std)
		gl := append([]safetensors.Tensor(nil), list...)
		for i := range gl {
			if gl[i].Name == models.TensorW {
				gl[i].Data = snap.RBM().W
			}
		}
		for _, tt := range []safetensors.Tensor{{Name: models.TensorLogVar, Shape: []int{V}, Data: lv},
			{Name: models.TensorDataMean, Shape: []int{V}, Data: mean}, {Name: models.TensorDataStd, Shape: []int{V}, Data: std}} {
			if tt.Name != drop {
				gl = append(gl, tt)
			}
		}
		p := filepath.Join(dir, name+".safetensors")
		if err := safetensors.Write(p, gl, grbmMD); err != nil {
			t.Fatal(err)
		}
		variants[name], _ = os.ReadFile(p)
	}

	cases := 0
	for name, b := range variants {
		run := filepath.Join(dir, "run-"+name)
		if err := os.MkdirAll(run, 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, run, modelFile, b)
		writeFile(t, run, configFile, config)
		for _, args := range [][]string{
			{"eval", "--model", run},
			{"plot", "--model", run, "--out", filepath.Join(dir, "pics-"+name)},
			{"sample", "--model", filepath.Join(run, modelFile), "--png", filepath.Join(dir, "s-"+name+".png")},
			{"train", "--resume", run, "--epochs", "4"},
		} {
			if name == "dbn-as-run" && args[0] == "sample" {
				continue // a DBN file is a valid sample model
			}
			cases++
			r := runCLI(t, dir, args...)
			noPanic(t, r, args)
			if r.code != 1 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, modelFile) {
				t.Errorf("%s: %q: exit %d, stderr %q; want exit 1 and one line naming %s", name, args[0], r.code, r.stderr, modelFile)
			}
		}
		for _, leftover := range []string{filepath.Join(dir, "s-"+name+".png"), filepath.Join(dir, "pics-"+name, "filters.png")} {
			if _, err := os.Stat(leftover); err == nil {
				t.Errorf("%s: %s was written from a bad checkpoint", name, leftover)
			}
		}
	}
	t.Logf("%d bad-checkpoint cases over eval, plot, sample and train --resume", cases)
}

func mustRBM(t *testing.T, v, h int) *models.RBM {
	m, err := models.NewRBM(v, h, 1)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// A full disk (simulated with a file-size limit) while writing the
// checkpoint is a one-line failure; no checkpoint that is not complete is
// ever left where a complete one is expected.
func TestFullDisk(t *testing.T) {
	dir := t.TempDir()
	// ulimit -f counts 1024-byte blocks: 4 KiB is less than one checkpoint
	// of a 16×64 RBM with its momentum (≈ 9 KiB).
	cmd := exec.Command("bash", "-c", `ulimit -f 4; exec "$0" train --epochs 3 --out full`, binary)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	stderr, _ := splitNotes(errb.String())
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit %v, stderr %q; want exit status 1", err, stderr)
	}
	if strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "file too large") {
		t.Errorf("stderr %q: want one line saying the file is too large", stderr)
	}
	noPanic(t, result{code: 1, stdout: out.String(), stderr: stderr}, nil)
	if _, err := os.Stat(filepath.Join(dir, "full", modelFile)); err == nil {
		t.Error("a checkpoint was left behind although none could be written completely")
	}
}
