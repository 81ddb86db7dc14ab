package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/store"
)

// TestMain runs the program itself when the tests start it as a process.
func TestMain(m *testing.M) {
	if os.Getenv("READDATA_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// readdata runs one subcommand and returns what it printed.
func readdata(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var o, e bytes.Buffer
	err = run(context.Background(), args, strings.NewReader(stdin), &o, &e, false)
	return o.String(), e.String(), err
}

func mustRun(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, errOut, err := readdata(t, stdin, args...)
	if err != nil {
		t.Fatalf("readdata %q: %v\n%s", args, err, errOut)
	}
	return out
}

const csvHeader = "task_id,service,resource,value,timestamp,instance\n"

// sampleCSV is three series over three hours, one line a minute.
func sampleCSV() string {
	var b strings.Builder
	b.WriteString(csvHeader)
	t0 := time.Date(2025, 3, 1, 10, 30, 0, 0, time.UTC)
	for i := range 180 {
		ts := t0.Add(time.Duration(i) * time.Minute).Format(time.RFC3339)
		fmt.Fprintf(&b, "img-%d,resize,cpu,%g,%s,node-a\n", i/60, float64(i)/100, ts)
		fmt.Fprintf(&b, "img-%d,resize,memory,%d,%s,node-a\n", i/60, 1<<20+i, ts)
		fmt.Fprintf(&b, ",api,cpu,%g,%s,\n", float64(i%7), ts)
	}
	return b.String()
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func dbFlag(t *testing.T) string { return "-db=sqlite:" + filepath.Join(t.TempDir(), "rd.db") }

func TestImportListDump(t *testing.T) {
	db := dbFlag(t)
	in := sampleCSV()
	out := mustRun(t, "", "import", db, writeFile(t, "in.csv", in))
	if !strings.Contains(out, "imported 540 rows") {
		t.Errorf("import said %q", out)
	}
	list := mustRun(t, "", "list", db)
	for _, want := range []string{"SERVICE", "api", "1", "cpu", "180", "resize", "2", "cpu,memory", "360", "2025-03-01T10:30:00Z", "2025-03-01T13:29:00Z", "540 rows in 7 series"} {
		if !strings.Contains(list, want) {
			t.Errorf("list does not show %q:\n%s", want, list)
		}
	}
	byTask := mustRun(t, "", "list", db, "-by", "task")
	if !strings.Contains(byTask, "img-2") || !strings.Contains(byTask, "resize") || !strings.Contains(byTask, "-   ") {
		t.Errorf("list -by task:\n%s", byTask)
	}
	if out := mustRun(t, "", "list", db, "-by", "series"); strings.Count(out, "\n") != 9 {
		t.Errorf("list -by series shows %d lines, want a header, 7 series and a total:\n%s", strings.Count(out, "\n"), out)
	}
	if _, _, err := readdata(t, "", "list", db, "-by", "colour"); err == nil || !strings.Contains(err.Error(), "colour") {
		t.Errorf("list -by colour: %v", err)
	}

	// A dump reads back as what was imported.
	dump := mustRun(t, "", "dump", db)
	if got, want := sortedLines(dump), sortedLines(in); got != want {
		t.Errorf("dump differs from the import:\n%.500s\nwant\n%.500s", got, want)
	}
	filtered := mustRun(t, "", "dump", db, "-service", "resize", "-resource", "memory", "-task", "img-1", "-from", "2025-03-01T11:40:00Z", "-to", "2025-03-01T11:45:00Z")
	if lines := strings.Split(strings.TrimSpace(filtered), "\n"); len(lines) != 6 || !strings.HasPrefix(lines[1], "img-1,resize,memory,1048646,2025-03-01T11:40:00Z,node-a") {
		t.Errorf("filtered dump:\n%s", filtered)
	}
	path := filepath.Join(t.TempDir(), "out.csv")
	mustRun(t, "", "dump", db, "-service", "api", "-o", path)
	if b, err := os.ReadFile(path); err != nil || strings.Count(string(b), "\n") != 181 {
		t.Errorf("dump -o wrote %d lines (%v)", strings.Count(string(b), "\n"), err)
	}

	// Gzip is read directly; an import is not exactly-once, so the rows
	// are there twice.
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write([]byte(in))
	zw.Close()
	mustRun(t, "", "import", db, writeFile(t, "in.csv.gz", zb.String()))
	if out := mustRun(t, "", "list", db); !strings.Contains(out, "1080 rows") {
		t.Errorf("after a second import:\n%s", out)
	}
	if out := mustRun(t, "", "compact", db); !strings.Contains(out, "compacted") {
		t.Errorf("compact said %q", out)
	}
	if got := sortedLines(mustRun(t, "", "dump", db, "-service", "api")); strings.Count(got, "\n") != 361 {
		t.Errorf("dump after compaction has %d lines", strings.Count(got, "\n"))
	}
}

func sortedLines(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	body := lines[1:]
	slices.Sort(body)
	return lines[0] + "\n" + strings.Join(body, "\n") + "\n"
}

func TestImportBadLine(t *testing.T) {
	db := dbFlag(t)
	lines := strings.Split(strings.TrimSpace(sampleCSV()), "\n")
	lines[400] = "img-1,resize,cpu,lots,2025-03-01T12:00:00Z,node-a" // line 401, in the 4th batch of 100
	bad := writeFile(t, "bad.csv", strings.Join(lines, "\n")+"\n")
	_, _, err := readdata(t, "", "import", db, "-batch", "100", bad)
	if err == nil || !strings.Contains(err.Error(), "line 401") || !strings.Contains(err.Error(), `value "lots"`) || !strings.Contains(err.Error(), "300 rows of earlier batches") {
		t.Fatalf("import of a bad line = %v, want it named with line 401 and what was kept", err)
	}
	if out := mustRun(t, "", "list", db); !strings.Contains(out, "300 rows in") {
		t.Errorf("after the failed import (batches of 100, bad line 401):\n%s", out)
	}
	out := mustRun(t, "", "import", db, "-skip-bad", bad)
	if !strings.Contains(out, "imported 539 rows") || !strings.Contains(out, "skipped 1 malformed lines") || !strings.Contains(out, "line 401") {
		t.Errorf("import -skip-bad said %q", out)
	}
	if _, _, err := readdata(t, "", "import", db, writeFile(t, "h.csv", "when,what\n")); err == nil || !strings.Contains(err.Error(), `unknown column "when"`) {
		t.Errorf("import with a bad header: %v", err)
	}
	if _, _, err := readdata(t, "", "import", db); err == nil {
		t.Error("import with no file: no error")
	}
	// Standard input.
	if out := mustRun(t, csvHeader+",x,cpu,1,2025-03-01T00:00:00Z,\n", "import", db, "-"); !strings.Contains(out, "imported 1 rows") {
		t.Errorf("import - said %q", out)
	}
}

func TestDrop(t *testing.T) {
	db := dbFlag(t)
	mustRun(t, "", "import", db, writeFile(t, "in.csv", sampleCSV()))
	for _, answer := range []string{"", "n\n", "nope\n"} {
		_, prompt, err := readdata(t, answer, "drop", db)
		if err == nil || !strings.Contains(prompt, "drop everything") || !strings.Contains(prompt, "[y/N]") {
			t.Errorf("drop answered %q: %v, prompt %q", answer, err, prompt)
		}
		if answer == "" && !strings.Contains(err.Error(), "-yes") {
			t.Errorf("drop with no answer: %v does not point to -yes", err)
		}
	}
	if out := mustRun(t, "", "list", db); !strings.Contains(out, "540 rows") {
		t.Fatalf("an unconfirmed drop deleted data:\n%s", out)
	}
	// Retention: whole hours before 12:00 go (10:30 to 11:59: 90 minutes).
	out := mustRun(t, "y\n", "drop", db, "-before", "2025-03-01T12:10:00Z")
	if !strings.Contains(out, "dropped 270 samples") {
		t.Errorf("drop -before said %q", out)
	}
	if out := mustRun(t, "", "list", db); !strings.Contains(out, "270 rows") || !strings.Contains(out, "2025-03-01T12:00:00Z") {
		t.Errorf("after drop -before:\n%s", out)
	}
	if _, _, err := readdata(t, "", "drop", db, "-before", "last tuesday", "-yes"); err == nil || !strings.Contains(err.Error(), "last tuesday") {
		t.Errorf("drop -before with a bad time: %v", err)
	}
	if out := mustRun(t, "", "drop", db, "-yes"); !strings.Contains(out, "dropped everything") {
		t.Errorf("drop -yes said %q", out)
	}
	if out := mustRun(t, "", "list", db); !strings.Contains(out, "0 rows in 0 series") {
		t.Errorf("after drop -yes:\n%s", out)
	}
}

func TestParseWhen(t *testing.T) {
	now := time.Now()
	for in, want := range map[string]time.Time{
		"2025-03-01T12:00:00Z": time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC),
		"30d":                  now.Add(-30 * 24 * time.Hour),
		"90m":                  now.Add(-90 * time.Minute),
	} {
		got, err := parseWhen(in)
		if err != nil || got.Sub(want).Abs() > time.Minute {
			t.Errorf("parseWhen(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-3d", "soon", "12"} {
		if _, err := parseWhen(bad); err == nil {
			t.Errorf("parseWhen(%q) accepted", bad)
		}
	}
}

// TestPasswordNeverShown runs the program as a process against a server
// that is not there: it fails, naming the server, without the password.
func TestPasswordNeverShown(t *testing.T) {
	cmd := exec.Command(os.Args[0], "list", "-db", "postgres://postgres:s3cret@127.0.0.1:1/test?sslmode=disable&connect_timeout=2")
	cmd.Env = append(os.Environ(), "READDATA_TEST_MAIN=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 1 {
		t.Fatalf("exit %v, want status 1; output %q", err, out.String())
	}
	if s := out.String(); strings.Contains(s, "s3cret") || !strings.Contains(s, "xxxxx@127.0.0.1:1") || !strings.HasPrefix(s, "readdata: ") {
		t.Errorf("output %q: want one line naming the server without the password", s)
	}
	// With a password the server ignores (trust), the DSN shown is
	// redacted too.
	var o, e bytes.Buffer
	err = run(context.Background(), []string{"drop", "-db", "sqlite:" + filepath.Join(t.TempDir(), "x.db"), "-yes"}, strings.NewReader(""), &o, &e, false)
	if err != nil || strings.Contains(o.String(), "s3cret") {
		t.Errorf("drop: %v, %q", err, o.String())
	}
}

// TestUnknownSubcommand runs the program with no or a wrong subcommand.
func TestUnknownSubcommand(t *testing.T) {
	for _, args := range [][]string{nil, {"frobnicate"}} {
		_, usage, err := readdata(t, "", args...)
		if err == nil || !strings.Contains(usage, "import") || !strings.Contains(usage, "list") {
			t.Errorf("readdata %q: %v, usage %q", args, err, usage)
		}
	}
	if _, _, err := readdata(t, "", "list", "-no-such-flag"); err == nil {
		t.Error("an unknown flag was accepted")
	}
}

// TestImportTrace imports the shared trace and counts its rows.
func TestImportTrace(t *testing.T) {
	path := filepath.Join("..", "..", "..", "shared", "data", "traces", "bitbrains-rnd-2013-07.csv.gz")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("the shared trace is not here: %v", err)
	}
	db := dbFlag(t)
	out := mustRun(t, "", "import", db, path)
	if !strings.Contains(out, "imported 768748 rows") {
		t.Fatalf("import said %q", out)
	}
	st, err := store.Open(context.Background(), strings.TrimPrefix(db, "-db="))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n := 0
	if err := st.Scan(context.Background(), rightsize.Filter{Services: []string{"vm001", "vm050"}}, func(rightsize.Sample) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 16520+2*6983 {
		t.Errorf("vm001 and vm050 hold %d rows, want %d", n, 16520+2*6983)
	}
}

// TestListTasks shows the task records beside the tasks' samples.
func TestListTasks(t *testing.T) {
	db := dbFlag(t)
	mustRun(t, "", "import", db, writeFile(t, "in.csv", sampleCSV()))
	st, err := store.Open(context.Background(), strings.TrimPrefix(db, "-db="))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2025, 3, 1, 11, 30, 0, 0, time.UTC)
	err = st.WriteTask(context.Background(), rightsize.Task{ID: "img-1", Params: map[string]string{"width": "1920", "height": "1080"},
		Services: []string{"decode", "resize"}, Start: start, End: start.Add(time.Hour)})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, "", "list", db, "-by", "task")
	for _, want := range []string{"RECORDED TASK", "img-1", "decode>resize", "height=1080,width=1920", "2025-03-01T11:30:00Z", "2025-03-01T12:30:00Z"} {
		if !strings.Contains(out, want) {
			t.Errorf("list -by task does not show %q:\n%s", want, out)
		}
	}
}
