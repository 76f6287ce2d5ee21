package main

import (
	"encoding/json"
	"net"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/bench"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/daemon"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/flags"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/usage"
)

// benchCommand compares the engines (package bench).
func (c *cli) benchCommand() *cobra.Command {
	var quick bool
	var runs int
	var engines, profileDir string
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Compare tunstack's engine with gVisor's netstack on the same TUN",
		Long: `bench creates a network namespace, runs the daemon there with each engine in
turn (--engine native and --engine gvisor) on the same device settings, drives
both with the same clients from the kernel's side (wrk, and tunstack's own
bench client), and prints one table with the ratio tunstack/gVisor of each
figure. It removes the namespace when done. Figures are printed, never judged.`,
		Example: "  sudo tunstack bench --quick\n  sudo scripts/bench.sh",
		Args:    exactArgs(0, "no arguments"),
		RunE: body(func(cmd *cobra.Command, args []string) error {
			if runs < 1 || runs > 9 {
				return usage.Errorf("--runs %d: want 1 to 9", runs)
			}
			var list []string
			for _, e := range strings.Split(engines, ",") {
				name, err := flags.ParseEngine(strings.TrimSpace(e))
				if err != nil {
					return err
				}
				list = append(list, name)
			}
			if err := c.requirePrivileges("tunstack bench", true); err != nil {
				return err
			}
			sizes := bench.FullSizes
			if quick {
				sizes = bench.QuickSizes
			}
			opts := bench.Options{Sizes: sizes, Runs: runs, Engines: list, ProfileDir: profileDir, StackIP: flags.DefaultIP}
			return bench.Run(cmd.Context(), opts, c.stdout, c.stderr)
		}),
	}
	cmd.Flags().BoolVar(&quick, "quick", false, "a short run: shorter measurements and fewer connections")
	cmd.Flags().IntVar(&runs, "runs", 1, "repeat every measurement this many times and print medians")
	cmd.Flags().StringVar(&engines, "engines", daemon.EngineGVisor+","+daemon.EngineNative, "engines to run, in this order")
	cmd.Flags().StringVar(&profileDir, "profile", "", "write a CPU profile of each daemon into this directory")
	cmd.AddCommand(c.benchClientCommand(), c.benchForwardCommand(), c.benchGatewayCommand())
	return cmd
}

// benchSizes checks what every bench subcommand checks first (--runs,
// root) and gives the sizes of its measurements.
func (c *cli) benchSizes(name string, runs int, quick bool) (bench.Sizes, error) {
	if runs < 1 || runs > 9 {
		return bench.Sizes{}, usage.Errorf("--runs %d: want 1 to 9", runs)
	}
	if err := c.requirePrivileges(name, true); err != nil {
		return bench.Sizes{}, err
	}
	if quick {
		return bench.QuickSizes, nil
	}
	return bench.FullSizes, nil
}

// benchForwardCommand measures forwarding (bench.RunForward).
func (c *cli) benchForwardCommand() *cobra.Command {
	var quick bool
	opts := bench.ForwardOptions{StackIP: flags.DefaultIP}
	cmd := &cobra.Command{
		Use:   "forward",
		Short: "Compare forwarding through --forward with a direct connection and Toxiproxy",
		Long: `forward creates a network namespace with servers on the kernel's side of the
device (source, discard, one-shot) and measures throughput and connections per
second to them straight from the kernel, through tunstack's --forward, and
through Toxiproxy's server if --toxiproxy gives one, in one run.`,
		Example: "  sudo tunstack bench forward --quick --toxiproxy ./toxiproxy-server",
		Args:    exactArgs(0, "no arguments"),
		RunE: body(func(cmd *cobra.Command, args []string) error {
			sizes, err := c.benchSizes("tunstack bench forward", opts.Runs, quick)
			if err != nil {
				return err
			}
			opts.Sizes = sizes
			return bench.RunForward(cmd.Context(), opts, c.stdout, c.stderr)
		}),
	}
	cmd.Flags().BoolVar(&quick, "quick", false, "shorter measurements")
	cmd.Flags().IntVar(&opts.Runs, "runs", 1, "repeat every measurement this many times and print medians")
	cmd.Flags().StringVar(&opts.Toxiproxy, "toxiproxy", "", "Toxiproxy's server binary, for its column (scripts/bench.sh builds v2.5.0)")
	return cmd
}

// benchGatewayCommand measures the gateway against the other ways a
// namespace gets its network (bench.RunGateway).
func (c *cli) benchGatewayCommand() *cobra.Command {
	var quick bool
	var opts bench.GatewayOptions
	cmd := &cobra.Command{
		Use:   "gateway",
		Short: "Compare --gateway with the kernel's path, slirp4netns and pasta",
		Long: `gateway creates a server namespace with iperf3 and connection servers on
192.0.2.10 (its lo) and a client namespace per path to them: the kernel's own
path over a veth pair, tunstack up --gateway with each engine (a daemon that
refuses the flags shows as not available), slirp4netns and pasta. It measures
iperf3 TCP with one and eight streams, UDP at a fixed rate with its loss, and
connections per second, with the same clients on every path, and the CPU time
of each path's process. It removes its namespaces when done.`,
		Example: "  sudo tunstack bench gateway --quick\n  sudo tunstack bench gateway --runs 3 --profile /tmp/gw",
		Args:    exactArgs(0, "no arguments"),
		RunE: body(func(cmd *cobra.Command, args []string) error {
			sizes, err := c.benchSizes("tunstack bench gateway", opts.Runs, quick)
			if err != nil {
				return err
			}
			opts.Sizes = sizes
			return bench.RunGateway(cmd.Context(), opts, c.stdout, c.stderr)
		}),
	}
	cmd.Flags().BoolVar(&quick, "quick", false, "shorter measurements (iperf3 -t 3 instead of 5)")
	cmd.Flags().IntVar(&opts.Runs, "runs", 1, "repeat every measurement this many times and print medians")
	cmd.Flags().StringVar(&opts.ProfileDir, "profile", "", "write a CPU profile of each tunstack daemon into this directory")
	return cmd
}

// benchClientCommand is the load generator the bench runs inside its
// namespace. It is not meant to be run by hand, but can be.
func (c *cli) benchClientCommand() *cobra.Command {
	var cfg bench.ClientConfig
	var target, source, ports string
	cmd := &cobra.Command{
		Use:    "client",
		Short:  "The bench's load generator, run inside the bench's namespace",
		Hidden: true,
		Args:   exactArgs(0, "no arguments"),
		RunE: body(func(cmd *cobra.Command, args []string) error {
			cfg.Target, cfg.Source = net.ParseIP(target), net.ParseIP(source)
			if cfg.Target == nil || cfg.Source == nil {
				return usage.Errorf("--target %q / --source %q: want IP addresses", target, source)
			}
			var err error
			if cfg.Ports, err = bench.ParsePorts(ports); err != nil {
				return usage.Wrap(err)
			}
			r, err := bench.RunClient(cmd.Context(), cfg, c.stdout, c.stdin)
			if err != nil {
				return err
			}
			return json.NewEncoder(c.stdout).Encode(r)
		}),
	}
	fs := cmd.Flags()
	fs.StringVar(&cfg.Mode, "mode", bench.ModeConnect, "connect, timewait, rr, upload, download, hold or latency")
	fs.StringVar(&target, "target", flags.DefaultIP, "the stack's address")
	fs.StringVar(&source, "source", strings.Split(flags.DefaultAddr, "/")[0], "the kernel's address (timewait binds to it)")
	fs.StringVar(&ports, "ports", "7", "service ports, as 7101,7102 or 7101-7104")
	fs.DurationVar(&cfg.Duration, "duration", 2*time.Second, "how long to load the stack")
	fs.IntVar(&cfg.Workers, "workers", 1, "concurrent connections or streams")
	fs.IntVar(&cfg.Count, "count", 0, "most connections (0: no limit but --duration)")
	fs.Float64Var(&cfg.Rate, "rate", 1000, "connections per second (latency)")
	fs.StringVar(&cfg.PortRange, "port-range", "", `set the namespace's ip_local_port_range first, "LOW HIGH"`)
	fs.BoolVar(&cfg.TWReuse, "tw-reuse", false, "set the namespace's tcp_tw_reuse first: connect may take ports in TIME-WAIT")
	fs.DurationVar(&cfg.HoldWait, "hold", time.Minute, "the longest hold keeps its connections")
	return cmd
}
