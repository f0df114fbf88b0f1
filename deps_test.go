package ferry_test

import (
	"go/build"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/ferrymq/ferry"

// TestImportRules enforces the layout's dependency rules: the core imports
// no transport, network or file system; gateways never import each other;
// the CLI uses only the public packages.
func TestImportRules(t *testing.T) {
	rules := []struct {
		dir       string
		forbidden []string
		allowOnly []string // module packages allowed, when set
	}{
		{dir: "internal/broker", forbidden: []string{"net", "os", module + "/internal/gateway", module + "/server"}},
		{dir: "internal/subject", forbidden: []string{"net", "os"}},
		{dir: "internal/wire", forbidden: []string{"net", "os"}},
		{dir: "internal/gateway/native", forbidden: []string{module + "/internal/gateway/grpcapi", module + "/internal/gateway/httpapi", module + "/internal/gateway/wsapi"}},
		{dir: "internal/gateway/httpapi", forbidden: []string{module + "/internal/gateway/grpcapi", module + "/internal/gateway/native", module + "/internal/gateway/wsapi"}},
		{dir: "internal/stream", forbidden: []string{"net", "os"}},
		{dir: "internal/route", forbidden: []string{"net", "os"}},
		{dir: "internal/logs", forbidden: []string{"net", module + "/internal/gateway", module + "/internal/broker"}},
		{dir: "cmd/ferry", allowOnly: []string{module, module + "/server"}},
	}
	for _, r := range rules {
		t.Run(r.dir, func(t *testing.T) {
			imports := packageImports(t, r.dir)
			for _, imp := range imports {
				for _, f := range r.forbidden {
					if imp == f || strings.HasPrefix(imp, f+"/") {
						t.Errorf("%s imports %s", r.dir, imp)
					}
				}
				if r.allowOnly != nil && strings.HasPrefix(imp, module) && !contains(r.allowOnly, imp) {
					t.Errorf("%s imports %s; it may use only %v", r.dir, imp, r.allowOnly)
				}
			}
		})
	}
}

// TestPackagesHaveDocs checks that every package has a doc.go with a
// package comment.
func TestPackagesHaveDocs(t *testing.T) {
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "bench" && path == "bench" {
			return filepath.SkipDir
		}
		pkg, err := build.ImportDir(path, build.ImportComment)
		if err != nil {
			return nil // no Go files
		}
		if pkg.Doc == "" {
			t.Errorf("package %s (%s) has no package doc comment", pkg.Name, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func packageImports(t *testing.T, dir string) []string {
	t.Helper()
	pkg, err := build.ImportDir(dir, 0)
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	return pkg.Imports
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
