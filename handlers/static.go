package handlers

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v4"

	"guildhall"
	"guildhall/views"
)

// Static files are served under /static/<hash>/<name>, where hash is a
// prefix of the file's SHA-256: the URL changes whenever the file does, so
// browsers may keep a copy for a year without asking again.
const (
	staticHashLen      = 12
	staticCacheControl = "public, max-age=31536000, immutable"
)

// staticFile is one embedded file, ready to serve.
type staticFile struct {
	hash        string
	contentType string
	body        []byte
}

// staticFiles holds every file under guildhall.Static's static/ by its
// path relative to static/.
type staticFiles map[string]staticFile

// loadStaticFiles reads and fingerprints the embedded static files once.
func loadStaticFiles(fsys fs.FS) (staticFiles, error) {
	files := staticFiles{}
	err := fs.WalkDir(fsys, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		ct := mime.TypeByExtension(path.Ext(p))
		switch path.Ext(p) {
		case ".js":
			ct = "text/javascript; charset=utf-8"
		case ".css":
			ct = "text/css; charset=utf-8"
		case ".md", ".LICENSE", "":
			ct = "text/plain; charset=utf-8"
		}
		if ct == "" {
			ct = "application/octet-stream"
		}
		files[strings.TrimPrefix(p, "static/")] = staticFile{hash: hex.EncodeToString(sum[:])[:staticHashLen], contentType: ct, body: body}
		return nil
	})
	return files, err
}

// url is the cache-busting address of the named file.
func (sf staticFiles) url(name string) string {
	f, ok := sf[name]
	if !ok {
		panic("handlers: no embedded static file " + name)
	}
	return "/static/" + f.hash + "/" + name
}

// assets are the URLs the layout loads.
func (sf staticFiles) assets() views.Assets {
	return views.Assets{
		PicoCSS:  sf.url("pico.min.css"),
		AppCSS:   sf.url("app.css"),
		PagesCSS: sf.url("pages.css"),
		HTMX:     sf.url("htmx.min.js"),
		AppJS:    sf.url("app.js"),
	}
}

// handleStatic serves an embedded file. A URL with an outdated hash (a page
// cached from before an upgrade) is sent to the current one.
func (s *Server) handleStatic(c echo.Context) error {
	name := c.Param("*")
	f, ok := s.web.static[name]
	if !ok {
		return guildhall.Errorf(guildhall.ENOTFOUND, "There is no static file %q.", name)
	}
	h := c.Response().Header()
	h.Set(echo.HeaderXContentTypeOptions, "nosniff")
	if c.Param("hash") != f.hash {
		h.Set(echo.HeaderCacheControl, "no-cache")
		return c.Redirect(http.StatusTemporaryRedirect, s.web.static.url(name))
	}
	h.Set(echo.HeaderCacheControl, staticCacheControl)
	h.Set("ETag", `"`+f.hash+`"`)
	return c.Blob(http.StatusOK, f.contentType, f.body)
}
