package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/rbmgpu/rbmgpu/engine"
	"github.com/rbmgpu/rbmgpu/models"
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version and build configuration",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cuda := "not built in (this binary was built with CGO_ENABLED=0)"
			if engine.CUDAAvailable() {
				cuda = "built in; the driver (libcuda.so.1) is loaded at run time"
				if devs, err := engine.CUDADevices(); err != nil {
					cuda += "; " + err.Error()
				} else {
					cuda += fmt.Sprintf("; %d device(s)", len(devs))
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "rbmgpu %s\n%s %s/%s\ncheckpoint format %d\ncuda: %s\n",
				version, runtime.Version(), runtime.GOOS, runtime.GOARCH, models.FormatVersion, cuda)
			return nil
		},
	}
}
