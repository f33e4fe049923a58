package clv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// docsGo is the Go guide whose quick start this test builds and runs, so the
// published program cannot rot.
var docsGo = filepath.Join("..", "..", "docs", "go.md")

// docsModulePath is the placeholder path of the replace directive in docs/go.md.
const docsModulePath = "/path/to/libclv/bindings/go"

// quickStart returns the first ```go block that holds a main package, and
// the first plain ``` block after it (the pasted output).
func quickStart(t *testing.T) (code, output string) {
	doc, err := os.ReadFile(docsGo)
	if err != nil {
		t.Skipf("%s not found (the module outside its repository): %v", docsGo, err)
	}
	blocks := regexp.MustCompile("(?s)```(\\w*)\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	for i, b := range blocks {
		if b[1] == "go" && strings.Contains(b[2], "package main") {
			for _, o := range blocks[i+1:] {
				if o[1] == "" || o[1] == "text" {
					return b[2], o[2]
				}
			}
			t.Fatalf("%s: no output block after the quick start", docsGo)
		}
	}
	t.Fatalf("%s: no ```go block with package main", docsGo)
	return "", ""
}

// The program's output: what every run must look like, whatever the data.
var quickStartLines = []*regexp.Regexp{
	regexp.MustCompile(`^\d+ rows, \d+ customers, \d{4}-\d\d-\d\d \.\. \d{4}-\d\d-\d\d$`),
	regexp.MustCompile(`^\d+ customers expected to spend \$\d+ from 1997-10-01 to 1998-06-30$`),
	regexp.MustCompile(`^customer +spend +80% interval +P\(active\) +stage$`),
}
var quickStartRow = regexp.MustCompile(`^\S+ +\d+\.\d\d +\[ *\d+\.\d\d, +\d+\.\d\d\] +[01]\.\d\d +(new|active|at-risk|churned)$`)

func checkQuickStartOutput(t *testing.T, what, out string) {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != len(quickStartLines)+5 {
		t.Fatalf("%s: %d lines, want %d:\n%s", what, len(lines), len(quickStartLines)+5, out)
	}
	for i, re := range quickStartLines {
		if !re.MatchString(lines[i]) {
			t.Errorf("%s line %d %q does not match %s", what, i+1, lines[i], re)
		}
	}
	for _, l := range lines[len(quickStartLines):] {
		if !quickStartRow.MatchString(l) {
			t.Errorf("%s: row %q does not match %s", what, l, quickStartRow)
		}
	}
}

func TestQuickStart(t *testing.T) {
	code, docOutput := quickStart(t)
	// The pasted output starts with the command line.
	cmd, pasted, _ := strings.Cut(docOutput, "\n")
	if !strings.HasPrefix(cmd, "$ go run . ") {
		t.Errorf("output block should start with the command, not %q", cmd)
	}
	checkQuickStartOutput(t, "docs/go.md output", pasted)

	dir := buildProgram(t, code, docFragments(t))

	// A small synthetic log in the CSV layout the quick start expects
	// (customers 1..400, the simulator is deterministic).
	o := DefaultSimOptions()
	o.Customers = 400
	csv := filepath.Join(dir, "transactions.csv")
	if err := SimulateCSV(o, csv); err != nil {
		t.Fatal(err)
	}
	run := exec.Command(filepath.Join(dir, "quickstart"), csv)
	out, err := run.CombinedOutput()
	if err != nil {
		t.Fatalf("quick start: %v\n%s", err, out)
	}
	checkQuickStartOutput(t, "quick start run", string(out))
	if !strings.HasPrefix(string(out), "2547 rows, 400 customers, 1997-01-01 .. 1998-06-29\n") {
		t.Errorf("first line of the run: %q", strings.SplitN(string(out), "\n", 2)[0])
	}

	// Bad input ends the program with libclv's message, as docs/go.md shows
	// for this file (the log line's date and time prefix aside).
	if err := os.WriteFile(filepath.Join(dir, "bad.csv"), []byte(badCSV), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := exec.Command(filepath.Join(dir, "quickstart"), "bad.csv")
	bad.Dir = dir
	got, err := bad.CombinedOutput()
	want := docBlock(t, "$ go run . bad.csv\n")
	stamp := regexp.MustCompile(`(?m)^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d `)
	if err == nil || stamp.ReplaceAllString(string(got), "") != stamp.ReplaceAllString(want, "") {
		t.Errorf("bad.csv: %v\n%s\ndocs/go.md shows:\n%s", err, got, want)
	}
}

// badCSV is the file of docs/go.md's error example: no such day as 1997-01-40.
const badCSV = "customer_id,date,amount\n1,1997-01-01,12.00\n2,1997-01-40,3.00\n"

// docBlock returns the body of the docs/go.md code block that starts with
// prefix, without the prefix and without the "exit status" line go run adds.
func docBlock(t *testing.T, prefix string) string {
	doc, err := os.ReadFile(docsGo)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range regexp.MustCompile("(?s)```\\w*\n(.*?)```").FindAllStringSubmatch(string(doc), -1) {
		if strings.HasPrefix(b[1], prefix) {
			return strings.TrimSuffix(strings.TrimPrefix(b[1], prefix), "exit status 1\n")
		}
	}
	t.Fatalf("%s: no block starting with %q", docsGo, prefix)
	return ""
}

// buildProgram builds main.go = code plus fragments.go as a module that uses
// this package (through a replace directive, offline) and returns its
// directory, which holds the binary "quickstart". One build for both keeps
// the test quick.
func buildProgram(t *testing.T, code, fragments string) string {
	t.Helper()
	dir := t.TempDir()
	module, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	// The go.mod of docs/go.md's install section, pointed at this module.
	gomod := "module quickstart\n" + docBlock(t, "module quickstart\n")
	if !strings.Contains(gomod, docsModulePath) {
		t.Fatalf("%s: the go.mod block lost its replace path %s", docsGo, docsModulePath)
	}
	gomod = strings.Replace(gomod, docsModulePath, module, 1)
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "fragments.go"), []byte(fragments), 0o644); err != nil {
		t.Fatal(err)
	}
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	for _, args := range [][]string{{"vet", "."}, {"build", "-o", "quickstart", "."}} {
		cmd := exec.Command(gobin, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s of the code of %s: %v\n%s", args[0], docsGo, err, out)
		}
	}
	return dir
}

// docFragments turns every other ```go block of docs/go.md into the body of
// a function that receives the names the guide's prose assumes (model,
// batch); the quick start's build then vets and compiles them too.
func docFragments(t *testing.T) string {
	doc, err := os.ReadFile(docsGo)
	if err != nil {
		t.Fatal(err)
	}
	var src strings.Builder
	src.WriteString(`package main

import (
	"errors"
	"log"
	"sync"

	clv "github.com/libclv/clv-go"
)

var (
	_ = errors.Is
	_ = log.Print
	_ sync.WaitGroup
)
`)
	n := 0
	for _, b := range regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(string(doc), -1) {
		if strings.Contains(b[1], "package main") {
			continue
		}
		n++
		fmt.Fprintf(&src, "\nfunc fragment%d(model *clv.Model, batch clv.Batch) {\n%s}\n", n, b[1])
	}
	if n == 0 {
		t.Fatalf("%s: no Go fragments found", docsGo)
	}
	return src.String()
}
