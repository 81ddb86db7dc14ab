// Command predict forecasts what services will need and sizes them.
//
//	go run ./examples/predict fit -db sqlite:rightsize.db -save model.rsf
//	go run ./examples/predict forecast -model model.rsf -service web
//	go run ./examples/predict eval -csv ../shared/data/traces/bitbrains-rnd-2013-07.csv.gz -step 1h
//	go run ./examples/predict profile -services decode,resize,blur,encode -param width=1920 ...
//
// Each subcommand lives in a file of its own; run one with -h for its
// flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/rightsize/rightsize/internal/cli"
)

const prog = "predict"

// commands are the subcommands, by name, with a line of help each.
var commands = map[string]struct {
	run  func(ctx context.Context, stdout, stderr io.Writer, args []string) error
	help string
}{
	"eval":     {evalCommand, "score every forecasting model with the rolling-origin backtest"},
	"fit":      {fitCommand, "train a forecasting model on a store or CSV file and save it"},
	"forecast": {forecastCommand, "what each service should request and be limited at over the next horizon"},
	"profile":  {profileCommand, "what each service of a task should request, before it runs"},
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "-help" || os.Args[1] == "help" {
		printUsage(os.Stderr)
		if len(os.Args) < 2 {
			os.Exit(2)
		}
		return
	}
	c, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "%s: unknown subcommand %q\n", prog, os.Args[1])
		printUsage(os.Stderr)
		os.Exit(2)
	}
	ctx, stop := cli.SignalContext(context.Background(), prog)
	defer stop()
	if err := c.run(ctx, os.Stdout, os.Stderr, os.Args[2:]); err != nil {
		cli.Fail(prog, err)
	}
}

func printUsage(w io.Writer) {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	slices.Sort(names)
	fmt.Fprintf(w, "usage: %s <%s> [flags]\n\n", prog, strings.Join(names, "|"))
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, commands[n].help)
	}
	fmt.Fprintf(w, "\nRun %s <subcommand> -h for its flags.\n", prog)
}

// newFlagSet is a subcommand's flag set: errors and -h to stderr, the
// flags headed by its usage line and what it does.
func newFlagSet(name string, stderr io.Writer, usage, about string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, usage)
		fmt.Fprintln(stderr, about)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args; help is true, with a nil error, when -h asked
// for the usage (which has been printed).
func parseFlags(fs *flag.FlagSet, args []string) (help bool, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, nil
		}
		return false, err
	}
	return false, nil
}
