package assets

import (
	"html/template"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestTemplatesParse(t *testing.T) {
	tm, err := template.ParseFS(Templates(), "*.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"index.html", "notice.html"} {
		if tm.Lookup(name) == nil {
			t.Errorf("template %s missing", name)
		}
	}
}

// Without a build step the browser resolves every import itself: each
// must be relative and name a file that exists.
func TestModuleImportsResolve(t *testing.T) {
	st := Static()
	re := regexp.MustCompile(`(?m)^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]`)
	n := 0
	fs.WalkDir(st, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".js" {
			return err
		}
		n++
		b, _ := fs.ReadFile(st, p)
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			spec := m[1]
			if !strings.HasPrefix(spec, "./") && !strings.HasPrefix(spec, "../") {
				t.Errorf("%s imports %q: only relative imports work without a build step", p, spec)
				continue
			}
			target := path.Join(path.Dir(p), spec)
			if _, err := fs.Stat(st, target); err != nil {
				t.Errorf("%s imports %q: %v", p, spec, err)
			}
		}
		return nil
	})
	if n < 5 {
		t.Fatalf("only %d modules found", n)
	}
}

// Every string the widget asks for exists in English and in Chinese.
func TestTranslationsComplete(t *testing.T) {
	b, err := fs.ReadFile(Static(), "js/i18n.js")
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	enStart, zhStart := strings.Index(src, "const en = {"), strings.Index(src, "const zh = {")
	if enStart < 0 || zhStart < 0 {
		t.Fatal("dictionaries not found")
	}
	keyRe := regexp.MustCompile(`(?m)^\s*'([a-zA-Z0-9_.-]+)':`)
	keys := func(s string) []string {
		var out []string
		for _, m := range keyRe.FindAllStringSubmatch(s, -1) {
			out = append(out, m[1])
		}
		return out
	}
	en := keys(src[enStart:zhStart])
	zh := keys(src[zhStart:])
	for _, k := range en {
		if !slices.Contains(zh, k) {
			t.Errorf("%q has no Chinese text", k)
		}
	}
	for _, k := range zh {
		if !slices.Contains(en, k) {
			t.Errorf("%q has no English text", k)
		}
	}
	// Literal keys used by the code.
	useRe := regexp.MustCompile(`\bt\('([a-zA-Z0-9_.-]*[a-zA-Z0-9])'[,)]`)
	fs.WalkDir(Static(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".js" {
			return err
		}
		b, _ := fs.ReadFile(Static(), p)
		for _, m := range useRe.FindAllStringSubmatch(string(b), -1) {
			if !slices.Contains(en, m[1]) {
				t.Errorf("%s uses unknown string %q", p, m[1])
			}
		}
		return nil
	})
}

// Text from the phone must never become markup.
func TestNoHTMLInjection(t *testing.T) {
	fs.WalkDir(Static(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".js" {
			return err
		}
		b, _ := fs.ReadFile(Static(), p)
		for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"} {
			if strings.Contains(string(b), bad) {
				t.Errorf("%s uses %s", p, bad)
			}
		}
		return nil
	})
}
