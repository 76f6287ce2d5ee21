package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/version"
)

func (c *cli) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go version this binary was built with",
		Long: `version prints what the Go toolchain recorded in the binary, as 'go version -m'
reads it: the module's version, the commit (and whether the tree had
uncommitted changes), and the Go version and platform. 'tunstack --version'
prints the same.`,
		Args: exactArgs(0, "no arguments"),
		RunE: body(func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintln(c.stdout, version.Get())
			return err
		}),
	}
}
