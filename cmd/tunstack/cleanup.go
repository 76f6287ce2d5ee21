package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/demo"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/lifecycle"
	"github.com/tunstack/tunstack/tundev"
)

func (c *cli) cleanupCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "cleanup",
		Short: "Remove what tunstack daemons that died left behind",
		Long: `cleanup removes what a 'tunstack up' or 'tunstack demo' killed before it could
stop (SIGKILL, a crash) left behind: the network namespaces it created and its
control socket. It removes only what tunstack created and only when the
process that created it is gone; a namespace you created stays. The next
'tunstack up' for the same device does the same for that device.`,
		Example: "  sudo tunstack cleanup",
		Args:    exactArgs(0, "no arguments"),
		RunE: body(func(cmd *cobra.Command, args []string) error {
			if err := c.requirePrivileges("tunstack cleanup", true); err != nil {
				return err
			}
			return c.cleanup()
		}),
	}
}

// cleanup removes what the records of dead daemons name, and the demo's
// namespaces whose process is gone, and says what it removed.
func (c *cli) cleanup() error {
	removed, err := lifecycle.Records{Dir: lifecycle.DefaultDir}.Clean(nil)
	for _, r := range removed {
		fmt.Fprintf(c.stdout, "removed %s\n", r)
	}
	demoNS, demoErr := tundev.RemoveStaleNetNS(demo.NetNSPrefix)
	for _, ns := range demoNS {
		fmt.Fprintf(c.stdout, "removed namespace %s (of tunstack demo, gone)\n", ns)
	}
	if len(removed)+len(demoNS) == 0 && err == nil && demoErr == nil {
		fmt.Fprintln(c.stdout, "nothing to clean up")
	}
	return errors.Join(err, demoErr)
}
