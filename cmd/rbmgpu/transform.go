package main

import (
	"bufio"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rbmgpu/rbmgpu/engine"
	"github.com/rbmgpu/rbmgpu/engine/data"
	"github.com/rbmgpu/rbmgpu/engine/dbn"
	"github.com/rbmgpu/rbmgpu/models"
)

// transformFlags are the flags of `rbmgpu transform`.
type transformFlags struct {
	Model    string
	Data     string
	Binarize string
	Out      string
	Batch    int
	Device   string
}

func newTransformCmd() *cobra.Command {
	f := &transformFlags{}
	cmd := &cobra.Command{
		Use:   "transform",
		Short: "Write the hidden features of a trained model as an N×H NPY file",
		Long: `transform computes the features a trained model gives each row of a data set
and writes them, one row per sample, as an N×H float32 NumPy array (.npy):

  RBM           p(h = 1 | v) = σ(c + vW), the hidden probabilities
  Gaussian RBM  the same on the data standardised with the model's stored
                mean and scale, scaled by the precisions 1/σ²
  DBN           the top layer's probabilities after the recognition pass
                through every layer (label units fed zeros)

as scikit-learn's BernoulliRBM.transform does. --model is a run directory
(model.safetensors, or dbn.safetensors of a DBN run), a checkpoint, or an
NPZ of scikit-learn BernoulliRBM attributes. For a run directory --data and
--binarize default to the run's own; the data are prepared as for training
(values outside [0,1] min–max scaled for binary models, kept in their units
for Gaussian ones). Rows are processed --batch at a time on --device and
written as they come, so memory beyond the data is one batch and the model.
numpy.load reads the file.`,
		Example: `  rbmgpu transform --model runs/fmnist --data /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz --out test-features.npy
  rbmgpu transform --model runs/dbn/dbn.safetensors --data train.npy --out h.npy --device cuda --batch 4096`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runTransform(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Model, "model", "", "run directory, checkpoint (RBM, Gaussian RBM, DBN) or scikit-learn NPZ (required)")
	fl.StringVar(&f.Data, "data", "", "rows to transform (default: the run's training data)")
	fl.StringVar(&f.Binarize, "binarize", "", "none | threshold[:T] | stochastic (default: the run's setting, else none)")
	fl.StringVar(&f.Out, "out", "", "output .npy file (required)")
	fl.IntVar(&f.Batch, "batch", engine.DefaultEncodeBatch, "rows per batch")
	fl.StringVar(&f.Device, "device", "auto", "auto | cpu | cpu-tape (reference interpreter) | cuda | cuda:N")
	return cmd
}

func runTransform(cmd *cobra.Command, f *transformFlags) error {
	switch {
	case f.Model == "":
		return usagef("transform: --model is required")
	case f.Out == "":
		return usagef("transform: --out FILE.npy is required")
	case f.Batch < 1:
		return usagef("transform: --batch %d: want ≥ 1", f.Batch)
	}
	if _, _, err := engine.ParseDevice(f.Device); err != nil {
		return usagef("transform: --device: %v", err)
	}
	enc, real, seed, err := loadEncoder(f.Model)
	if err != nil {
		return fmt.Errorf("transform: %w", err)
	}
	// The settings of the run the model came from, when it has them (a
	// config.json that does not parse counts as none).
	if run, _ := runConfig(filepath.Dir(checkpointIn(f.Model, modelFile))); run != nil {
		if f.Data == "" {
			f.Data = run.Data
		}
		if f.Binarize == "" {
			f.Binarize = run.Binarize
		}
		seed = run.Seed
	}
	if f.Data == "" {
		return usagef("transform: --data is required for a model that is not a run directory")
	}
	if f.Binarize == "" {
		f.Binarize = "none"
	}
	d, err := prepareData(f.Data, "", f.Binarize, seed, real)
	if err != nil {
		return err
	}
	if d.D != enc.Visible() {
		return fmt.Errorf("transform: %s has %d features per row, the model %s has %d visible units", f.Data, d.D, enc.What, enc.Visible())
	}
	backend, err := engine.NewBackend(f.Device)
	if err != nil {
		return fmt.Errorf("transform: --device %s: %w", f.Device, err)
	}
	start := time.Now()
	if err := writeFeatures(cmd, f, enc, backend, d); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: %d×%d float32, features of %s on %s (%s, batches of %d, %.2fs)\n",
		f.Out, d.N, enc.Features(), enc.What, backend.Name(), f.Data, min(f.Batch, d.N), time.Since(start).Seconds())
	return nil
}

// loadEncoder reads the model of --model as its recognition pass, with
// whether it reads real-valued data and the seed it was trained with (1
// when the file does not say; stochastic binarisation draws from it).
func loadEncoder(path string) (enc *engine.Encoder, real bool, seed uint64, err error) {
	if file, ok := dbnCheckpoint(path); ok {
		net, err := models.LoadDBN(file)
		if err != nil {
			return nil, false, 0, err
		}
		enc, err := dbn.Encoder(net)
		return enc, net.Gaussian != nil, 1, err
	}
	file := checkpointIn(path, modelFile)
	var snap *engine.Snapshot
	if strings.HasSuffix(strings.ToLower(file), ".npz") {
		m, err := data.ImportSklearnNPZ(file)
		if err != nil {
			return nil, false, 0, err
		}
		snap = engine.RBMSnapshot(m)
	} else if snap, _, err = engine.LoadSnapshot(file); err != nil {
		return nil, false, 0, err
	}
	if enc, err = snap.Encoder(); err != nil {
		return nil, false, 0, fmt.Errorf("%s: %w", file, err)
	}
	return enc, snap.GRBM() != nil, snap.Config.Seed, nil
}

// writeFeatures encodes d batch by batch into --out, an NPY file written
// atomically (numpy.load reads it: see npyHeader).
func writeFeatures(cmd *cobra.Command, f *transformFlags, enc *engine.Encoder, backend engine.Backend, d *data.Dataset) error {
	out, err := createAtomic(f.Out)
	if err != nil {
		return fmt.Errorf("transform: %w", err)
	}
	w := bufio.NewWriterSize(out, 1<<20)
	if _, err := w.Write(npyHeader(d.N, enc.Features())); err != nil {
		out.Abort()
		return fmt.Errorf("transform: write %s: %w", f.Out, err)
	}
	var buf []byte
	err = enc.Encode(cmd.Context(), backend, d.Values(), d.N, f.Batch, func(_, _ int, h []float32) error {
		buf = buf[:0]
		for _, x := range h {
			u := math.Float32bits(x)
			buf = append(buf, byte(u), byte(u>>8), byte(u>>16), byte(u>>24)) // little-endian
		}
		if _, err := w.Write(buf); err != nil {
			return fmt.Errorf("write %s: %w", f.Out, err)
		}
		return nil
	})
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		out.Abort()
		return fmt.Errorf("transform: %w", err)
	}
	if err := out.Commit(); err != nil {
		return fmt.Errorf("transform: %w", err)
	}
	return nil
}

// npyHeader is the header of an NPY (format 1.0) file holding a C-order
// little-endian float32 array of rows×cols: the magic "\x93NUMPY", version
// 1.0, the header length (uint16, little-endian) and the Python dict
// literal padded with spaces and ended by '\n' so that the data start at a
// multiple of 64 bytes.
func npyHeader(rows, cols int) []byte {
	dict := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", rows, cols)
	const prefix = 10 // magic, version, length
	total := (prefix + len(dict) + 1 + 63) / 64 * 64
	h := make([]byte, 0, total)
	h = append(h, "\x93NUMPY\x01\x00"...)
	n := total - prefix
	h = append(h, byte(n), byte(n>>8))
	h = append(h, dict...)
	for len(h) < total-1 {
		h = append(h, ' ')
	}
	return append(h, '\n')
}
