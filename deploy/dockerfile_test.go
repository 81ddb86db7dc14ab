package deploy

import (
	"bytes"
	"debug/elf"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// What cannot be checked without a Docker engine: that the base images
// exist and pull, that `go mod download` reaches the module proxy from
// the build, and the image's run-time behaviour. What is checked: the
// Dockerfile parses as BuildKit parses it; its stages, base images and
// user; that its COPY sources exist and .dockerignore keeps every file
// the build needs; and that its build command, run here with the same
// flags and environment, builds static binaries.

const (
	root          = ".."
	imageBinDir   = "/usr/local/bin/"
	imageUser     = "65532:65532"
	imageBuildDir = "/out/"
)

type dockerfile struct {
	stages   []instructions.Stage
	metaArgs map[string]string
}

func parseDockerfile(t *testing.T) dockerfile {
	t.Helper()
	f, err := os.Open(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	for _, w := range res.Warnings {
		t.Errorf("Dockerfile: %s", w.Short)
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	d := dockerfile{stages: stages, metaArgs: map[string]string{}}
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			if kv.Value != nil {
				d.metaArgs[kv.Key] = *kv.Value
			}
		}
	}
	return d
}

// expand expands ${ARG} in a FROM line as BuildKit does, with the ARGs'
// defaults.
func (d dockerfile) expand(t *testing.T, word string) string {
	t.Helper()
	var env []string
	for k, v := range d.metaArgs {
		env = append(env, k+"="+v)
	}
	out, _, err := shell.NewLex('\\').ProcessWord(word, shell.EnvsFromSlice(env))
	if err != nil {
		t.Fatalf("Dockerfile: expand %q: %v", word, err)
	}
	return out
}

func goDirective(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("go.mod has no go directive")
	}
	return string(m[1])
}

func TestDockerfile(t *testing.T) {
	d := parseDockerfile(t)
	if len(d.stages) != 2 {
		t.Fatalf("%d stages, want 2 (build, then the runtime image)", len(d.stages))
	}
	build, final := d.stages[0], d.stages[1]
	if build.Name != "build" {
		t.Errorf("first stage is %q, want build", build.Name)
	}
	if got, want := d.expand(t, build.BaseName), "golang:"+goDirective(t); got != want {
		t.Errorf("build stage FROM %s, want %s (the release go.mod names)", got, want)
	}
	base := d.expand(t, final.BaseName)
	if !strings.HasPrefix(base, "gcr.io/distroless/static") && base != "scratch" {
		t.Errorf("runtime stage FROM %s, want distroless/static or scratch", base)
	}
	if !strings.HasSuffix(base, ":nonroot") {
		t.Errorf("runtime stage FROM %s: want the :nonroot variant, whose /home/nonroot the user can write", base)
	}

	var user string
	var copied, cmd []string
	for _, c := range final.Commands {
		switch c := c.(type) {
		case *instructions.UserCommand:
			user = c.User
		case *instructions.CopyCommand:
			if c.From != build.Name {
				t.Errorf("runtime stage copies from %q, want only from the build stage", c.From)
			}
			if !slices.Equal(c.SourcePaths, []string{imageBuildDir}) || c.DestPath != imageBinDir {
				t.Errorf("runtime stage COPY %v %s, want %s %s", c.SourcePaths, c.DestPath, imageBuildDir, imageBinDir)
			}
			copied = append(copied, c.SourcePaths...)
		case *instructions.RunCommand:
			t.Errorf("runtime stage has RUN %v: distroless has no shell", c.CmdLine)
		case *instructions.CmdCommand:
			cmd = c.CmdLine
		case *instructions.EntrypointCommand:
			t.Errorf("runtime stage has an ENTRYPOINT: each container names its program as its command")
		}
	}
	if user != imageUser {
		t.Errorf("runtime stage USER %q, want %q (numeric, so that runAsNonRoot can verify it)", user, imageUser)
	}
	if len(copied) == 0 {
		t.Error("runtime stage copies nothing from the build stage")
	}
	bins := imageBinaries(t)
	if len(cmd) == 0 || !slices.Contains(bins, strings.TrimPrefix(cmd[0], imageBinDir)) || !strings.HasPrefix(cmd[0], imageBinDir) {
		t.Errorf("CMD %v: want a program of the image (%s%v)", cmd, imageBinDir, bins)
	}

	// The build stage: its COPY sources exist and survive .dockerignore,
	// and its go build command is the one TestImageBuild runs.
	ignore := dockerignore(t)
	var buildLine string
	for _, c := range build.Commands {
		switch c := c.(type) {
		case *instructions.CopyCommand:
			if c.From != "" {
				t.Errorf("build stage COPY --from=%s: want sources from the context", c.From)
			}
			for _, src := range c.SourcePaths {
				if src == "." {
					continue
				}
				if _, err := os.Stat(filepath.Join(root, src)); err != nil {
					t.Errorf("COPY %s: %v", src, err)
				}
				if excluded(ignore, src) {
					t.Errorf("COPY %s: .dockerignore excludes it", src)
				}
			}
		case *instructions.RunCommand:
			line := strings.Join(c.CmdLine, " ")
			if strings.Contains(line, "go build") {
				buildLine = line
			}
		}
	}
	args, env := goBuildCommand(t, buildLine)
	if !slices.Contains(env, "CGO_ENABLED=0") {
		t.Errorf("the build runs %q without CGO_ENABLED=0", buildLine)
	}
	if i := slices.Index(args, "-o"); i < 0 || args[i+1] != imageBuildDir {
		t.Errorf("the build writes elsewhere than %s: %v", imageBuildDir, args)
	}
	if !slices.Contains(args, "./examples/...") {
		t.Errorf("the build does not build ./examples/...: %v", args)
	}
	checkContextHasSources(t, ignore)
}

// goBuildCommand splits the build stage's RUN line into the environment
// it sets and the go build arguments.
func goBuildCommand(t *testing.T, line string) (args, env []string) {
	t.Helper()
	if line == "" {
		t.Fatal("the build stage has no RUN with go build")
	}
	words, err := shell.NewLex('\\').ProcessWords(line, shell.EnvsFromSlice(nil))
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range words {
		if w == "go" && i+1 < len(words) && words[i+1] == "build" {
			return words[i+2:], env
		}
		if strings.Contains(w, "=") && !strings.HasPrefix(w, "-") {
			env = append(env, w)
		}
	}
	t.Fatalf("no go build in %q", line)
	return nil, nil
}

func dockerignore(t *testing.T) *patternmatcher.PatternMatcher {
	t.Helper()
	f, err := os.Open(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatal(err)
	}
	return pm
}

func excluded(pm *patternmatcher.PatternMatcher, rel string) bool {
	ok, err := pm.MatchesOrParentMatches(filepath.ToSlash(filepath.Clean(rel)))
	return err != nil || ok
}

// checkContextHasSources checks that every file of the module that the
// examples' build reads — Go files and embedded files of every package
// they import from the module, go.mod and go.sum — is in the build
// context .dockerignore leaves.
func checkContextHasSources(t *testing.T, ignore *patternmatcher.PatternMatcher) {
	t.Helper()
	out := goCommand(t, "list", "-deps", "-json=ImportPath,Dir,GoFiles,EmbedFiles,Module", "./examples/...")
	abs, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	var n int
	for {
		var p struct {
			ImportPath, Dir     string
			GoFiles, EmbedFiles []string
			Module              *struct{ Path string }
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if p.Module == nil || p.Module.Path != "github.com/rightsize/rightsize" {
			continue // the standard library, or a module go mod download fetches
		}
		dir, err := filepath.Rel(abs, p.Dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range append(p.GoFiles, p.EmbedFiles...) {
			n++
			if excluded(ignore, filepath.Join(dir, f)) {
				t.Errorf("%s: .dockerignore excludes %s, which the build needs", p.ImportPath, filepath.Join(dir, f))
			}
		}
	}
	if n == 0 {
		t.Error("go list found no source file of the module")
	}
	for _, f := range []string{"go.mod", "go.sum"} {
		if excluded(ignore, f) {
			t.Errorf(".dockerignore excludes %s", f)
		}
	}
}

// goCommand runs the go command in the library's module, as the image's
// build does: for linux, with cgo off.
func goCommand(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOFLAGS=-mod=readonly")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return out
}

var (
	binariesOnce sync.Once
	binaries     []string
	binariesErr  string
)

// imageBinaries returns the programs the image holds in /usr/local/bin:
// every main package under examples/, named as go build -o DIR/ names
// them (the last element of the import path).
func imageBinaries(t *testing.T) []string {
	t.Helper()
	binariesOnce.Do(func() {
		cmd := exec.Command("go", "list", "-f", `{{if eq .Name "main"}}{{.ImportPath}}{{end}}`, "./examples/...")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
		out, err := cmd.Output()
		if err != nil {
			binariesErr = err.Error()
			return
		}
		for _, p := range strings.Fields(string(out)) {
			binaries = append(binaries, path.Base(p))
		}
		slices.Sort(binaries)
	})
	if binariesErr != "" || len(binaries) == 0 {
		t.Fatalf("listing the examples' programs: %s", binariesErr)
	}
	return binaries
}

func TestImageBinaries(t *testing.T) {
	bins := imageBinaries(t)
	for _, want := range []string{"monitor", "producer", "usage", "decode", "resize", "blur", "encode"} {
		if !slices.Contains(bins, want) {
			t.Errorf("the image would not hold %s (it holds %v)", want, bins)
		}
	}
	if c := slices.Compact(slices.Clone(bins)); len(c) != len(bins) {
		t.Errorf("two main packages under examples/ share a name, and one binary would overwrite the other: %v", bins)
	}
}

// TestImageBuild runs the build stage's go build, with its flags and
// environment, for one program (the others compile the same way; all of
// them compiling is what go vet checks), and checks that the binary is
// static: no interpreter, no shared libraries, as distroless/static needs.
func TestImageBuild(t *testing.T) {
	d := parseDockerfile(t)
	var line string
	for _, c := range d.stages[0].Commands {
		if r, ok := c.(*instructions.RunCommand); ok && strings.Contains(strings.Join(r.CmdLine, " "), "go build") {
			line = strings.Join(r.CmdLine, " ")
		}
	}
	args, env := goBuildCommand(t, line)
	out := t.TempDir()
	for i, a := range args {
		switch {
		case a == "-o":
			args[i+1] = out + "/"
		case a == "./examples/...":
			args[i] = "./examples/services/decode"
		}
	}
	cmd := exec.Command("go", append([]string{"build"}, args...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %v: %v\n%s", args, err, b)
	}
	f, err := elf.Open(filepath.Join(out, "decode"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("decode has an ELF interpreter: it is not static")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("decode needs shared libraries %v", libs)
	}
}
