package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/rbmgpu/rbmgpu/engine"
)

func newDevicesCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "devices",
		Short: "List the compute devices this build can use",
		Long: `devices lists the CPU (always available) and every CUDA device the NVIDIA
driver reports, with its memory, compute capability and compute mode
(Default, Exclusive_Process or Prohibited, as nvidia-smi names them). The first word of
each line is the value to pass to --device.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "cpu      %d cores, %s/%s, BLAS: %s\n", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, engine.BLASName())
			if !engine.CUDAAvailable() {
				fmt.Fprintln(out, "cuda     not available: this binary was built without cgo (CGO_ENABLED=0)")
				return nil
			}
			devs, err := engine.CUDADevices()
			if err != nil {
				fmt.Fprintf(out, "cuda     unavailable: %v\n", err)
				return nil
			}
			if len(devs) == 0 {
				fmt.Fprintln(out, "cuda     no CUDA devices found")
			}
			for _, d := range devs {
				fmt.Fprintf(out, "cuda:%d   %s, %.1f GiB, compute capability %d.%d, compute mode %s\n",
					d.Ordinal, d.Name, float64(d.Memory)/(1<<30), d.Major, d.Minor, d.ComputeMode)
			}
			return nil
		},
	}
}

// openBackend opens the backend of a --device value and returns, when
// "auto" falls back to the CPU, the one line to print on stderr saying why
// (no cgo, no CUDA driver, no device, or the device's backend error), ""
// otherwise. Training prints it as it starts (after its checks), eval when
// it opens the backend.
func openBackend(device string) (engine.Backend, string, error) {
	b, why, err := engine.OpenBackend(device)
	if err != nil || why == "" {
		return b, "", err
	}
	return b, fmt.Sprintf("rbmgpu: --device %s: using the CPU: %s", device, why), nil
}
