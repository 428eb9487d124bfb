package tlog

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"strings"

	"github.com/transparency-dev/tessera/api/layout"
)

// Content types of the tlog-tiles resources.
const (
	checkpointContentType = "text/plain; charset=utf-8"
	tileContentType       = "application/octet-stream"
)

// tileHandler serves the public tlog-tiles files of a POSIX log directory.
type tileHandler struct {
	dir string
}

// NewHandler returns a read-only http.Handler for the C2SP tlog-tiles read
// paths of the log stored in dir: "checkpoint", "tile/<L>/<N>[.p/<W>]" and
// "tile/entries/<N>[.p/<W>]", relative to wherever it is mounted (use
// http.StripPrefix). Any other path, including every non-canonical spelling of
// a tile path, anything under .state and any directory, is 404; methods other
// than GET and HEAD are 405. Files are opened through os.Root, so neither ".."
// nor a symbolic link can lead outside dir. It does not need the writer lock,
// so a process that is not the log writer can serve reads from a shared
// directory.
func NewHandler(dir string) (http.Handler, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("tlog: handler: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("tlog: handler: %s is not a directory", dir)
	}
	return &tileHandler{dir: dir}, nil
}

// resourcePath maps a request path to the canonical file name it names and its
// content type, or ok=false if the path is not a tlog-tiles resource.
func resourcePath(p string) (name, contentType string, immutable, ok bool) {
	p = strings.TrimPrefix(p, "/")
	if p == layout.CheckpointPath {
		return p, checkpointContentType, false, true
	}
	rest, found := strings.CutPrefix(p, "tile/")
	if !found {
		return "", "", false, false
	}
	level, index, found := strings.Cut(rest, "/")
	if !found {
		return "", "", false, false
	}
	var want string
	if level == "entries" {
		i, w, err := layout.ParseTileIndexPartial(index)
		if err != nil {
			return "", "", false, false
		}
		want = layout.EntriesPath(i, w)
	} else {
		l, i, w, err := layout.ParseTileLevelIndexPartial(level, index)
		if err != nil {
			return "", "", false, false
		}
		want = layout.TilePath(l, i, w)
	}
	// Only the exact spelling Tessera writes: this rejects leading zeros,
	// doubled slashes, "..", and anything else a lenient parser might accept.
	if want != p {
		return "", "", false, false
	}
	return p, tileContentType, true, true
}

// ServeHTTP implements http.Handler.
func (h *tileHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name, ctype, immutable, ok := resourcePath(r.URL.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	f, err := os.OpenInRoot(h.dir, name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			http.NotFound(w, r)
			return
		}
		// Escapes via symlinks and permission problems land here too.
		http.Error(w, "resource unavailable", http.StatusNotFound)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", ctype)
	hdr.Set("X-Content-Type-Options", "nosniff")
	if immutable {
		// A tile or bundle path always names the same bytes (a partial tile
		// has its width in the path), so it may be cached for ever.
		hdr.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hdr.Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, "", st.ModTime(), f)
}
