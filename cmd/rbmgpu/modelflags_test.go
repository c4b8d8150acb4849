package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/rbmgpu/rbmgpu/engine"
)

// Every engine kind's settings are flags of train with the engine's
// defaults (or the kind CLI's own), owned by the kind; --model lists every
// kind with its summary.
func TestKindSettingsAreFlags(t *testing.T) {
	cmd := newTrainCmd()
	fl := cmd.Flags()
	usage := fl.Lookup("model").Usage
	for _, name := range engine.KindNames() {
		k, _ := engine.LookupKind(name)
		if !strings.Contains(usage, name+": "+k.Summary()) {
			t.Errorf("--model usage lacks %s: %q", name, usage)
		}
		opts := k.NewOptions()
		if opts == nil {
			continue
		}
		for _, s := range opts.Settings() {
			p := fl.Lookup(s.Name)
			if p == nil {
				t.Errorf("%s: no flag --%s", name, s.Name)
				continue
			}
			if want := s.Value.String(); p.DefValue != want {
				t.Errorf("--%s default %q, want the engine's %q", s.Name, p.DefValue, want)
			}
			if !strings.Contains(p.Usage, s.Usage) {
				t.Errorf("--%s usage %q lacks the kind's %q", s.Name, p.Usage, s.Usage)
			}
		}
	}
	if !strings.Contains(usage, dbnModel+": ") {
		t.Errorf("--model usage lacks dbn: %q", usage)
	}
}

// The learning rates the CLI picks are today's for every model: a
// Gaussian RBM always the kind's rate, the others 0.1 on bars-and-stripes
// and the engine's default on files.
func TestDataDefaultsLR(t *testing.T) {
	f := &trainFlags{}
	newTrainCmdWith(f)
	for model, want := range map[string][2]float64{"rbm": {0.1, 0.05}, "bm": {0.1, 0.05}, "grbm": {0.01, 0.01}, "dbn": {0.1, 0.05}} {
		for i, data := range []string{"bas:4x4", "train.csv"} {
			f.Model, f.Data, f.LR = model, data, 0
			f.fillDefaults()
			if f.LR != want[i] {
				t.Errorf("--model %s --data %s: lr %g, want %g", model, data, f.LR, want[i])
			}
		}
	}
}

// One check rejects a flag the model does not own, naming the flag, the
// model and the owners; borrowed settings follow their condition.
func TestModelFlagCheck(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // "" for accepted
	}{
		{[]string{"--sweeps", "2"}, "--sweeps applies to --model bm, not to --model rbm"},
		{[]string{"--model", "bm", "--sweeps", "2"}, ""},
		{[]string{"--model", "grbm", "--lateral", "none"}, "--lateral applies to --model bm, not to --model grbm"},
		{[]string{"--model", "dbn", "--sigma-floor", "0.5"}, "not to --model dbn without --gaussian-bottom"},
		{[]string{"--model", "dbn", "--gaussian-bottom", "--sigma-floor", "0.5"}, ""},
		{[]string{"--model", "bm", "--png"}, "--png does not apply to --model bm"},
		{[]string{"--model", "rbm", "--png"}, ""},
		{[]string{"--layers", "16,8"}, "--layers applies to --model dbn, not to --model rbm"},
	} {
		f := &trainFlags{}
		cmd := newTrainCmdWith(f)
		if err := cmd.Flags().Parse(tc.args); err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		err := f.models.check(cmd.Flags(), f.Model)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: %v", tc.args, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: %v, want %q", tc.args, err, tc.want)
		}
	}
}

// The settings a run takes round-trip through config.json under their
// flag names with '_'.
func TestSettingsConfigJSON(t *testing.T) {
	f := &trainFlags{}
	cmd := newTrainCmdWith(f)
	if err := cmd.Flags().Parse([]string{"--model", "bm", "--lateral", "hidden", "--sweeps", "3", "--mean-field"}); err != nil {
		t.Fatal(err)
	}
	obj := map[string]json.RawMessage{}
	if err := f.models.save(obj, "bm"); err != nil {
		t.Fatal(err)
	}
	if string(obj["lateral"]) != `"hidden"` || string(obj["sweeps"]) != "3" || string(obj["mean_field"]) != "true" {
		t.Errorf("saved %v", obj)
	}
	if _, ok := obj["sigma_floor"]; ok {
		t.Errorf("a bm run saved the grbm setting sigma_floor: %v", obj)
	}
	b, _ := json.Marshal(obj)
	g := &trainFlags{}
	newTrainCmdWith(g)
	if err := g.models.load(b); err != nil {
		t.Fatal(err)
	}
	o := g.models.lookup("bm").opts.(*engine.BMOptions)
	if o.Lateral.String() != "hidden" || o.Sweeps != 3 || !o.MeanField {
		t.Errorf("loaded %+v", o)
	}
}
