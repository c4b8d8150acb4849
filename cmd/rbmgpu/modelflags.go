package main

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/rbmgpu/rbmgpu/engine"
	"github.com/rbmgpu/rbmgpu/engine/data"
)

// Flags by model. The shared flags of `rbmgpu train` are train.go's; every
// other flag belongs to a model: an engine kind's flags are its settings
// (engine.Kind.NewOptions().Settings()), bound to the options struct that
// becomes Config.Options, and a model the CLI builds itself (the DBN,
// train_dbn.go) brings its own settings table the same way. modelFlags
// registers them, records which models own each flag, and rejects in one
// check a flag set on the command line that the chosen --model does not
// take. The kinds' CLI files (grbm.go, train_bm.go, train_dbn.go) add what
// the engine cannot say, in a modelCLI.

// modelCLI is a model's part of `rbmgpu train` beyond the shared flags and
// its engine kind; every field is optional, and a kind with none trains as
// a plain single-model run.
type modelCLI struct {
	// summary and newOptions describe a model that is not an engine kind
	// (an engine kind's come from its engine.Kind).
	summary    string
	newOptions func() engine.Options
	// requires maps a setting of the model to a boolean flag of the model
	// that must be set for it to apply.
	requires map[string]string
	// borrows maps an engine kind to a boolean flag of the model: with it
	// set, the model takes that kind's settings too.
	borrows map[string]string
	// refuses lists shared flags the model does not take, each with why
	// ("" for no reason).
	refuses map[string]string
	// realValued reports whether the run models real-valued data, which
	// keep their units (see prepareData); nil means binary data.
	realValued func(f *trainFlags) bool
	// prepare completes the flags of a single-model run before it is
	// configured; shape adjusts the run (its banner, its resume checks).
	prepare func(f *trainFlags)
	shape   func(r *modelRun, f *trainFlags)
	// run trains the model instead of the single-model run.
	run func(cmd *cobra.Command, f *trainFlags) error
	// loadData reads --data for the model instead of prepareData (nil:
	// prepareData); loadData splits off the held-out part as for any.
	loadData func(f *trainFlags) (*data.Dataset, error)
}

// modelCLIs are the registered modelCLIs by model name.
var modelCLIs = map[string]*modelCLI{}

// registerModelCLI is called from the init of a model's CLI file.
func registerModelCLI(name string, m *modelCLI) { modelCLIs[name] = m }

// trainModel is one value of --model in a train command.
type trainModel struct {
	name, summary string
	kind          bool           // an engine kind (Config.Model = name)
	opts          engine.Options // its settings, bound to the flags; nil: none
	cli           *modelCLI      // never nil
}

// flagOwner is a model that takes a flag, when its boolean flag with
// ("" for none) is set.
type flagOwner struct{ model, with string }

// modelSetting is a model's setting registered as a flag.
type modelSetting struct {
	engine.Setting
	model string // the model whose options the setting binds
	kind  bool   // an engine kind's setting (see validate)
}

// modelFlags are the models of a train command, the flags they own and
// their settings.
type modelFlags struct {
	models   []*trainModel // engine.DefaultKind first, the other kinds, then the CLI's models
	byName   map[string]*trainModel
	owners   map[string][]flagOwner // flag → the models that take it; absent: a shared flag
	settings map[string]*modelSetting
	order    []string // settings in registration order
}

// modelList returns the values of --model without their options:
// engine.DefaultKind first, the other registered engine kinds, then the
// models the CLI builds itself (sorted), each with its summary and CLI part.
func modelList() []*trainModel {
	cliOf := func(name string) *modelCLI {
		if c := modelCLIs[name]; c != nil {
			return c
		}
		return &modelCLI{}
	}
	var list []*trainModel
	names := engine.KindNames()
	if i := slices.Index(names, engine.DefaultKind); i > 0 {
		names = append([]string{engine.DefaultKind}, slices.Delete(names, i, i+1)...)
	}
	for _, n := range names {
		k, _ := engine.LookupKind(n)
		list = append(list, &trainModel{name: n, summary: k.Summary(), kind: true, cli: cliOf(n)})
	}
	var cliNames []string
	for n := range modelCLIs {
		if !slices.Contains(names, n) {
			cliNames = append(cliNames, n)
		}
	}
	slices.Sort(cliNames)
	for _, n := range cliNames {
		list = append(list, &trainModel{name: n, summary: modelCLIs[n].summary, cli: modelCLIs[n]})
	}
	return list
}

// modelNames lists the names of modelList.
func modelNames() []string {
	var names []string
	for _, m := range modelList() {
		names = append(names, m.name)
	}
	return names
}

// addModelFlags creates the options of every model and registers their
// settings as flags of fl.
func addModelFlags(fl *pflag.FlagSet) *modelFlags {
	mf := &modelFlags{byName: map[string]*trainModel{}, owners: map[string][]flagOwner{}, settings: map[string]*modelSetting{}}
	for _, m := range modelList() {
		if m.kind {
			k, _ := engine.LookupKind(m.name)
			m.opts = k.NewOptions()
		} else if m.cli.newOptions != nil {
			m.opts = m.cli.newOptions()
		}
		mf.add(m)
	}
	for _, m := range mf.models {
		for kind, with := range m.cli.borrows {
			for _, s := range mf.byName[kind].settingList() {
				mf.owners[s.Name] = append(mf.owners[s.Name], flagOwner{m.name, with})
			}
		}
	}
	for _, name := range mf.order {
		s := mf.settings[name]
		fl.Var(settingValue{s.Setting}, name, mf.ownerList(name, ", ")+": "+s.Usage)
		if s.Bool {
			fl.Lookup(name).NoOptDefVal = "true"
		}
	}
	return mf
}

// add records m and its settings, at the CLI's defaults.
func (mf *modelFlags) add(m *trainModel) {
	mf.models = append(mf.models, m)
	mf.byName[m.name] = m
	for _, s := range m.settingList() {
		if _, dup := mf.settings[s.Name]; dup {
			panic("rbmgpu: flag --" + s.Name + " registered by two models")
		}
		mf.settings[s.Name] = &modelSetting{Setting: s, model: m.name, kind: m.kind}
		mf.order = append(mf.order, s.Name)
		mf.owners[s.Name] = append(mf.owners[s.Name], flagOwner{m.name, m.cli.requires[s.Name]})
	}
}

func (m *trainModel) settingList() []engine.Setting {
	if m == nil || m.opts == nil {
		return nil
	}
	return m.opts.Settings()
}

// lookup returns the model called name, nil when there is none.
func (mf *modelFlags) lookup(name string) *trainModel { return mf.byName[name] }

// names lists the models for messages: "rbm, bm, grbm or dbn".
func (mf *modelFlags) names() string {
	n := modelNames()
	return strings.Join(n[:len(n)-1], ", ") + " or " + n[len(n)-1]
}

// help is the usage of --model: every model with its summary.
func (mf *modelFlags) help() string {
	var b strings.Builder
	b.WriteString("the model to train —")
	for i, m := range mf.models {
		if i > 0 {
			b.WriteString(";")
		}
		fmt.Fprintf(&b, " %s: %s", m.name, m.summary)
	}
	return b.String()
}

// ownerList names the owners of flag: "grbm, dbn --gaussian-bottom".
func (mf *modelFlags) ownerList(flag, sep string) string {
	var parts []string
	for _, o := range mf.owners[flag] {
		p := o.model
		if o.with != "" {
			p += " --" + o.with
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, sep)
}

// isSet reports whether the boolean setting name is on.
func (mf *modelFlags) isSet(name string) bool {
	s := mf.settings[name]
	return s != nil && s.Value.String() == "true"
}

// takes reports whether model takes the flag.
func (mf *modelFlags) takes(model, flag string) bool {
	owners, owned := mf.owners[flag]
	if !owned {
		m := mf.byName[model]
		if m == nil {
			return true
		}
		_, refused := m.cli.refuses[flag]
		return !refused
	}
	for _, o := range owners {
		if o.model == model && (o.with == "" || mf.isSet(o.with)) {
			return true
		}
	}
	return false
}

// check is the one check of flags against the model: the first flag set
// on the command line that model does not take is a usage error naming
// the flag, the model and the models that take it.
func (mf *modelFlags) check(fl *pflag.FlagSet, model string) error {
	var err error
	fl.Visit(func(p *pflag.Flag) {
		if err != nil || mf.takes(model, p.Name) {
			return
		}
		owners, owned := mf.owners[p.Name]
		if !owned {
			why := mf.byName[model].cli.refuses[p.Name]
			if why != "" {
				why = ": " + why
			}
			err = usagef("train: --%s does not apply to --model %s%s", p.Name, model, why)
			return
		}
		not := "--model " + model
		for _, o := range owners {
			if o.model == model {
				not += " without --" + o.with
				break
			}
		}
		err = usagef("train: --%s applies to --model %s, not to %s", p.Name, mf.ownerList(p.Name, " or --model "), not)
	})
	return err
}

// validate checks the engine kinds' settings set on the command line, one
// at a time, so that an error names the flag: a typed zero is a mistake
// (zero means the engine's default), and the kind validates the value
// with its other settings at their defaults.
func (mf *modelFlags) validate(fl *pflag.FlagSet) error {
	var err error
	fl.Visit(func(p *pflag.Flag) {
		s := mf.settings[p.Name]
		if err != nil || s == nil || !s.kind {
			return
		}
		v := p.Value.String()
		if x, perr := strconv.ParseFloat(v, 64); perr == nil && x == 0 && !s.Bool && !s.ZeroOK {
			err = usagef("train: --%s %s: want a positive value (leave the flag out for the default)", p.Name, v)
			return
		}
		k, _ := engine.LookupKind(s.model)
		opts := k.NewOptions()
		for _, t := range opts.Settings() {
			if t.Name == p.Name {
				if serr := t.Value.Set(v); serr != nil {
					err = usagef("train: --%s %s: %v", p.Name, v, serr)
					return
				}
			}
		}
		if verr := (engine.Config{Model: s.model, Options: opts}).Defaults().Validate(); verr != nil {
			err = usagef("train: --%s %s: %v", p.Name, v, verr)
		}
	})
	return err
}

// jsonName is the config.json key of a setting: its flag name with '_'
// for '-'.
func jsonName(flag string) string { return strings.ReplaceAll(flag, "-", "_") }

// save adds the settings model takes to obj (config.json): booleans and
// numbers as JSON values, anything else as a string.
func (mf *modelFlags) save(obj map[string]json.RawMessage, model string) error {
	for _, name := range mf.order {
		if !mf.takes(model, name) {
			continue
		}
		s := mf.settings[name]
		v := s.Value.String()
		raw := json.RawMessage(v)
		if _, err := strconv.ParseFloat(v, 64); (err != nil && !s.Bool) || !json.Valid(raw) {
			b, err := json.Marshal(v)
			if err != nil {
				return err
			}
			raw = b
		}
		obj[jsonName(name)] = raw
	}
	return nil
}

// load sets the settings saved in a config.json (b) by save; settings it
// lacks keep their defaults.
func (mf *modelFlags) load(b []byte) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		return err
	}
	for _, name := range mf.order {
		raw, ok := obj[jsonName(name)]
		if !ok || string(raw) == "null" {
			continue
		}
		v := string(raw)
		if strings.HasPrefix(v, `"`) {
			if err := json.Unmarshal(raw, &v); err != nil {
				return fmt.Errorf("%s: %v", jsonName(name), err)
			}
		}
		if err := mf.settings[name].Value.Set(v); err != nil {
			return fmt.Errorf("%s: %v", jsonName(name), err)
		}
	}
	return nil
}

// settingValue is a setting as a pflag.Value.
type settingValue struct{ engine.Setting }

func (s settingValue) String() string     { return s.Value.String() }
func (s settingValue) Set(v string) error { return s.Value.Set(v) }

// Type names the value in --help: bool, int, float or string.
func (s settingValue) Type() string {
	if s.Bool {
		return "bool"
	}
	switch reflect.Indirect(reflect.ValueOf(s.Value)).Kind() {
	case reflect.Float32, reflect.Float64:
		return "float"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if _, err := strconv.Atoi(s.Value.String()); err == nil {
			return "int"
		}
	}
	return "string"
}

// stringSetting binds a string field, for the settings of the CLI's own
// models (engine.BoolSetting and its siblings bind the others).
func stringSetting(name, usage string, p *string) engine.Setting {
	return engine.Setting{Name: name, Usage: usage, Value: (*stringValue)(p)}
}

type stringValue string

func (s *stringValue) String() string     { return string(*s) }
func (s *stringValue) Set(v string) error { *s = stringValue(v); return nil }
