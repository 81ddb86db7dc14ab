// Command readdata is the seed's read_data.py made useful: it lists,
// dumps, imports and drops what a rightsize store holds.
//
//	readdata list    [-by service|task|resource|series]          what is stored: rows and time spans
//	readdata dump    [-service a,b] [-task T] [-instance I] [-resource r,s] [-from T] [-to T] [-o FILE]
//	readdata import  [-batch N] [-skip-bad] FILE...                long-format CSV (.gz read directly; - is stdin)
//	readdata drop    [-before TIME|AGE] [-yes]                    retention; without -before, everything
//	readdata compact                                             merge the chunks other writers left
//
// Every subcommand takes -db (RIGHTSIZE_DATABASE_URL; sqlite:rightsize.db
// by default). drop asks before it deletes anything unless given -yes.
// Times are RFC 3339 (2025-03-01T12:00:00Z) or, for -from and -before,
// an age before now (24h, 30d).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/rightsize/rightsize/internal/cli"
	"github.com/rightsize/rightsize/store"
)

const prog = "readdata"

// env is what a subcommand works with: the store, its DSN for messages
// (redacted), and the program's streams.
type env struct {
	st       store.Store
	dsn      string
	stdin    io.Reader
	stdout   io.Writer
	stderr   io.Writer
	terminal bool // stderr is a terminal: progress bars are shown
}

type command struct {
	flags func(fs *flag.FlagSet) func(ctx context.Context, e *env, args []string) error
	what  string
}

var commands = map[string]command{
	"list":    {listFlags, "list services, tasks, resources or series with row counts and time spans"},
	"dump":    {dumpFlags, "write samples as long-format CSV"},
	"import":  {importFlags, "import long-format CSV files"},
	"drop":    {dropFlags, "delete samples older than -before, or everything"},
	"compact": {compactFlags, "merge the chunks of buckets that have several"},
}

func main() {
	ctx, stop := cli.SignalContext(context.Background(), prog)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, term.IsTerminal(int(os.Stderr.Fd())))
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		stop()
		cli.Fail(prog, err)
	}
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "usage: %s SUBCOMMAND [flags] [args]\n\n", prog)
	for _, name := range []string{"list", "dump", "import", "drop", "compact"} {
		fmt.Fprintf(w, "  %-8s %s\n", name, commands[name].what)
	}
	fmt.Fprintf(w, "\nEvery subcommand takes -db (env %s). %s SUBCOMMAND -h lists its flags.\n", cli.EnvDatabase, prog)
}

// run runs one subcommand; main exits with its error.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, terminal bool) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return errors.New("no subcommand given")
		}
		return flag.ErrHelp
	}
	cmd, ok := commands[args[0]]
	if !ok {
		usage(stderr)
		return fmt.Errorf("unknown subcommand %q", args[0])
	}
	fs := flag.NewFlagSet(prog+" "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := cli.RegisterDB(fs)
	do := cmd.flags(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	st, err := store.Open(ctx, *db)
	if err != nil {
		return fmt.Errorf("open %s: %w", cli.Redact(*db), err)
	}
	defer st.Close()
	e := &env{st: st, dsn: cli.Redact(*db), stdin: stdin, stdout: stdout, stderr: stderr, terminal: terminal}
	return do(ctx, e, fs.Args())
}

// splitList splits a comma-separated flag value; nil for "".
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
