package engine_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/rbmgpu/rbmgpu/"

// rooms is the import map of the README's layout section: for each
// package (or folder of packages, matched by the longest prefix) the
// project packages its non-test files may import. Lower layers never
// import higher ones (kernels ← graph, models ← engine/lower, engine/exec
// ← engine ← engine/dbn, engine/ais ← cmd), the executors know no kind,
// and nothing imports cmd or bench.
var rooms = map[string][]string{
	"kernels":      {"kernels"},
	"graph":        {"graph", "kernels"},
	"models":       {"models", "kernels"},
	"engine/data":  {"engine/data", "models", "kernels"},
	"engine/align": {"engine/align", "models", "kernels"},
	"engine/lower": {"engine/lower", "graph", "kernels"},
	"engine/exec":  {"engine/exec", "engine/lower", "graph", "kernels"},
	"engine":       {"engine/align", "engine/data", "engine/exec", "graph", "models", "kernels"},
	"engine/dbn":   {"engine", "engine/data", "engine/exec", "graph", "models", "kernels"},
	"engine/ais":   {"engine/exec", "models", "kernels"},
	"cmd":          {"cmd", "engine", "engine/align", "engine/data", "engine/dbn", "engine/ais", "engine/exec", "graph", "models", "kernels"},
	"bench":        {"engine", "engine/align", "engine/data", "engine/exec", "graph", "models", "kernels"},
}

// room returns the rooms entry whose key is the longest prefix of pkg.
func room(pkg string) (string, bool) {
	best := ""
	for r := range rooms {
		if (pkg == r || strings.HasPrefix(pkg, r+"/")) && len(r) > len(best) {
			best = r
		}
	}
	return best, best != ""
}

// allowed reports whether a package of room r may import imp: an entry
// admits its folder's packages, except "engine", which admits only the root
// package (its subpackages are rooms of their own).
func allowed(r, imp string) bool {
	for _, a := range rooms[r] {
		if imp == a || (a != "engine" && strings.HasPrefix(imp, a+"/")) {
			return true
		}
	}
	return false
}

// Every non-test Go file of the module imports only what its room may.
func TestImportLayering(t *testing.T) {
	rootDir, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	var bad []string
	fset := token.NewFileSet()
	err = filepath.WalkDir(rootDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(rootDir, filepath.Dir(path))
		pkg := filepath.ToSlash(rel)
		r, ok := room(pkg)
		if !ok {
			bad = append(bad, pkg+": no room in the layout")
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, is := range f.Imports {
			imp, _ := strconv.Unquote(is.Path.Value)
			if !strings.HasPrefix(imp, module) {
				continue
			}
			imp = strings.TrimPrefix(imp, module)
			if imp == pkg || strings.HasPrefix(imp, pkg+"/internal") {
				continue
			}
			if !allowed(r, imp) {
				rf, _ := filepath.Rel(rootDir, path)
				bad = append(bad, rf+" imports "+imp)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(bad)
	for _, b := range bad {
		t.Error(b)
	}
}
