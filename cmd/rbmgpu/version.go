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
			cuda := "no (CPU only; rebuild with -tags cuda)"
			if engine.CUDAAvailable() {
				cuda = "yes"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "rbmgpu %s\n%s %s/%s\ncheckpoint format %d\ncuda: %s\n",
				version, runtime.Version(), runtime.GOOS, runtime.GOARCH, models.FormatVersion, cuda)
			return nil
		},
	}
}
