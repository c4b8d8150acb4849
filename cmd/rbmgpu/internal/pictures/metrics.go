package pictures

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
)

// Record is one line of a run's metrics.jsonl, the metrics of one epoch as
// `rbmgpu train` writes them. The pointer fields are null in the file (nil
// here) in epochs where the metric was not computed (see --eval-every) or
// does not apply (no held-out data, model too large for exact evaluation).
type Record struct {
	Epoch         int      `json:"epoch"`                  // 1-based
	LR            float64  `json:"lr"`                     // learning rate used in the epoch
	ReconError    *float64 `json:"recon_error"`            // mean Σ_i (v_i − p(v_i|h))² per sample
	FreeEnergyGap *float64 `json:"free_energy_gap"`        // mean F(held-out) − mean F(train)
	LogLikelihood *float64 `json:"log_likelihood"`         // average log p(v) of the training data, nats
	HeldOutLL     *float64 `json:"heldout_log_likelihood"` // average log p(v) of the held-out data, nats
	LogZ          *float64 `json:"log_z"`                  // log partition function
	Samples       int      `json:"samples"`                // samples seen in the epoch
	Seconds       float64  `json:"seconds"`                // wall time of the epoch
	SamplesPerSec float64  `json:"samples_per_sec"`        // training throughput
	TrajLL        *float64 `json:"ll_train"`               // average log p(v) of the training data by trajectory AIS
	TrajHeldOutLL *float64 `json:"ll_heldout"`             // the same on the held-out data
}

// maxLine bounds one metrics.jsonl line (records are about 300 bytes).
const maxLine = 1 << 20

// ReadMetrics reads a metrics.jsonl file: one JSON object per line, blank
// lines ignored, unknown fields ignored (newer versions may add some). A
// line that is not a JSON object, lacks "epoch", has an epoch < 1 or a
// non-numeric metric is an error naming the file and the line, e.g.
// `runs/x/metrics.jsonl: line 3: invalid character 'x' looking for
// beginning of value`. An empty file gives no records and no error.
func ReadMetrics(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	var recs []Record
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		if b[0] != '{' {
			return nil, fmt.Errorf("%s: line %d: want a JSON object, got %q", path, line, abbrev(b))
		}
		var probe struct {
			Epoch *int `json:"epoch"`
		}
		if err := json.Unmarshal(b, &probe); err != nil {
			return nil, fmt.Errorf("%s: line %d: %v", path, line, err)
		}
		if probe.Epoch == nil {
			return nil, fmt.Errorf("%s: line %d: no \"epoch\" field", path, line)
		}
		if *probe.Epoch < 1 {
			return nil, fmt.Errorf("%s: line %d: epoch %d, want ≥ 1", path, line, *probe.Epoch)
		}
		var r Record
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("%s: line %d: %v", path, line, err)
		}
		recs = append(recs, r)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("%s: line %d: longer than %d bytes", path, line+1, maxLine)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return recs, nil
}

// abbrev shortens b for an error message.
func abbrev(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}

// Metric names one curve Curves can draw.
type Metric struct {
	Title string                 // panel title
	Unit  string                 // y-axis label
	Value func(*Record) *float64 // the value in a record, nil when absent
}

// Metrics are the curves Curves draws, one panel each, in this order.
var Metrics = []Metric{
	{"reconstruction error", "Σ(v − p(v|h))² per sample", func(r *Record) *float64 { return r.ReconError }},
	{"log-likelihood (training data)", "nats per sample", func(r *Record) *float64 { return r.LogLikelihood }},
	{"log-likelihood (held-out data)", "nats per sample", func(r *Record) *float64 { return r.HeldOutLL }},
	{"free-energy gap (held-out − training)", "nats", func(r *Record) *float64 { return r.FreeEnergyGap }},
	{"log-likelihood by trajectory AIS (training data)", "nats per sample", func(r *Record) *float64 { return r.TrajLL }},
	{"log-likelihood by trajectory AIS (held-out data)", "nats per sample", func(r *Record) *float64 { return r.TrajHeldOutLL }},
}

// series returns the (epoch, value) points of metric m, skipping nil and
// non-finite values.
func (m Metric) series(recs []Record) (xs, ys []float64) {
	for i := range recs {
		if v := m.Value(&recs[i]); v != nil && !math.IsNaN(*v) && !math.IsInf(*v, 0) {
			xs = append(xs, float64(recs[i].Epoch))
			ys = append(ys, *v)
		}
	}
	return xs, ys
}
