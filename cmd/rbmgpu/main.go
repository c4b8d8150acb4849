// Command rbmgpu trains and inspects Boltzmann machines.
//
//	rbmgpu train      train a model (every kind of --model) on a data set
//	rbmgpu eval       AIS log-likelihood, exact log Z, pseudo-likelihood
//	rbmgpu sample     samples of an RBM, Gaussian RBM, BM or DBN as a PNG grid
//	rbmgpu plot       weight filters, model samples and training curves as PNG
//	rbmgpu transform  hidden features of a trained model as an N×H NPY file
//	rbmgpu devices    list the compute devices this build can use
//	rbmgpu version    print the version and build configuration
//
// Exit status: 0 on success, 1 when a command fails, 2 for usage errors
// (bad flags, impossible settings), 130 when interrupted (after saving).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// version is set at link time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// usageError marks mistakes in how the command was called: exit status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// interrupted is returned after a clean stop on SIGINT/SIGTERM: exit status 130.
var errInterrupted = errors.New("interrupted")

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "rbmgpu",
		Short:         "Train Boltzmann machines on GPUs and CPUs",
		Long:          rootHelp(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%s: %w (see '%s --help')", c.CommandPath(), err, c.CommandPath())}
	})
	root.AddCommand(newTrainCmd(), newEvalCmd(), newSampleCmd(), newPlotCmd(), newTransformCmd(), newDevicesCmd(), newVersionCmd(), newContactsCmd(), newConvertCmd())
	return root
}

// rootHelp is the long help of rbmgpu: the models (from the kinds
// registry and the CLI's own models) and how the GPU is found.
func rootHelp() string {
	var b strings.Builder
	b.WriteString(`rbmgpu trains Boltzmann machines and reads what they learned. Models
(train --model NAME):
`)
	for _, m := range modelList() {
		fmt.Fprintf(&b, "  %-6s %s\n", m.name, m.summary)
	}
	b.WriteString(`
Devices (--device): the CPU everywhere (the lowered plan on Go kernels;
cpu-tape is the reference interpreter), and an NVIDIA GPU where its driver
is installed: the binary loads libcuda.so.1 at run time (no CUDA toolkit,
no build tag), and --device auto uses CUDA device 0 when the driver reports
one. 'rbmgpu devices' lists what this machine has.

Start with:
  rbmgpu train                       # bars-and-stripes 4x4, built in, seconds
  rbmgpu train --data train-images-idx3-ubyte.gz --hidden 500 --cd 1 --out runs/fmnist
  rbmgpu transform --model runs/fmnist --data t10k-images-idx3-ubyte.gz --out features.npy`)
	return b.String()
}

// run executes the command line and returns the exit status; every error
// is printed as one line, never as a panic trace.
func run(args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "rbmgpu: internal error: %v (please report it)\n", r)
			code = 1
		}
	}()
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	_, err := root.ExecuteC()
	if err == nil {
		return 0
	}
	if errors.Is(err, errInterrupted) {
		return 130
	}
	fmt.Fprintf(stderr, "rbmgpu: %s\n", oneLine(err.Error()))
	var ue usageError
	if errors.As(err, &ue) || isCobraUsage(err) {
		return 2
	}
	return 1
}

// isCobraUsage recognises cobra's own argument errors (unknown command,
// wrong number of arguments), which it does not route through the flag
// error function.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "accepts ", "requires at least", "unknown flag", "unknown shorthand", "invalid argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// oneLine keeps an error message on one line.
func oneLine(s string) string {
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
