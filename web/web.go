package web

import (
	"embed"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed index.html static
var files embed.FS

// FS holds the dashboard's files: index.html, static/app.js and
// static/style.css.
var FS fs.FS = files

// contentTypes is fixed here rather than read from the system's MIME
// tables, which differ between hosts (application/javascript vs
// text/javascript).
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
}

// Handler serves "/" as index.html and "/static/NAME" from FS. Anything
// else is 404.
func Handler() http.Handler { return http.HandlerFunc(serve) }

func serve(w http.ResponseWriter, r *http.Request) {
	name := "index.html"
	if r.URL.Path != "/" {
		name = strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if !strings.HasPrefix(name, "static/") {
			http.NotFound(w, r)
			return
		}
	}
	ct, ok := contentTypes[path.Ext(name)]
	f, err := files.Open(name)
	if !ok || err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	if name == "index.html" {
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'")
	}
	http.ServeContent(w, r, name, st.ModTime(), f.(io.ReadSeeker))
}
