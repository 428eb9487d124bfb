package upload

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/ronghe/ronghe"
)

// stateVersion is the version of the .info file layout.
const stateVersion = 1

// state is the content of an upload's .info file: tusd's FileInfo plus what
// Ronghe needs to resume the encrypted, hashed stream after a restart. It
// describes the durable prefix of the .bin file: header, then Chunks sealed
// chunks, whose plaintext the hash state HashState has absorbed.
type state struct {
	Version int `json:"version"`
	// Info is tusd's view. Info.Offset is the durable plaintext offset:
	// Chunks*ChunkSize, or Info.Size once Complete.
	Info   handler.FileInfo `json:"info"`
	Tenant string           `json:"tenant"`
	Suite  ronghe.Suite     `json:"suite"`
	// Header is the envelope header, which holds the wrapped data key; the
	// .bin file starts with exactly these bytes.
	Header    []byte `json:"header"`
	ChunkSize int    `json:"chunk_size"`
	// Chunks is how many chunks of the .bin file this state covers.
	Chunks uint64 `json:"chunks"`
	// HashState is the marshalled suite hash (encoding.BinaryMarshaler)
	// after absorbing the plaintext of those chunks.
	HashState []byte `json:"hash_state"`
	// Complete is set once the last chunk is sealed; Digest is then the
	// suite digest of the whole plaintext.
	Complete bool      `json:"complete"`
	Digest   []byte    `json:"digest,omitempty"`
	Created  time.Time `json:"created"`
	Updated  time.Time `json:"updated"`
}

// newID returns a random 128-bit upload ID as 32 lowercase hex digits.
func newID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("upload: random ID: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// validID reports whether id has the form newID produces. Anything else is
// never looked up on disk, so IDs cannot name other files.
func validID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func (s *Store) infoPath(id string) string { return filepath.Join(s.dir, id+".info") }
func (s *Store) binPath(id string) string  { return filepath.Join(s.dir, id+".bin") }

// readState loads an upload's .info file. A missing file is handler.ErrNotFound.
func (s *Store) readState(id string) (*state, error) {
	b, err := os.ReadFile(s.infoPath(id))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, handler.ErrNotFound
		}
		return nil, fmt.Errorf("upload: read state: %w", err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, ronghe.WrapError(ronghe.EINTERNAL, err, "upload state file is corrupt")
	}
	if st.Version != stateVersion {
		return nil, ronghe.Errorf(ronghe.EINTERNAL, "upload state file has version %d, want %d", st.Version, stateVersion)
	}
	if st.Info.ID != id {
		return nil, ronghe.Errorf(ronghe.EINTERNAL, "upload state file of %s names upload %s", id, st.Info.ID)
	}
	return &st, nil
}

// writeState replaces an upload's .info file atomically and durably: the new
// content goes to a temporary file that is fsynced, renamed over the old one,
// and the directory is fsynced. A crash leaves either the old or the new
// state, never a mixture. With exclusive set it fails with fs.ErrExist
// instead of replacing an existing file (used at creation).
func (s *Store) writeState(st *state, exclusive bool) error {
	st.Version = stateVersion
	st.Updated = time.Now().UTC()
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("upload: encode state: %w", err)
	}
	final := s.infoPath(st.Info.ID)
	tmp, err := os.CreateTemp(s.dir, "."+st.Info.ID+".info-*.tmp")
	if err != nil {
		return fmt.Errorf("upload: write state: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename this fails harmlessly
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("upload: write state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("upload: sync state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("upload: write state: %w", err)
	}
	if exclusive {
		// link(2) refuses to replace an existing name.
		if err := os.Link(tmp.Name(), final); err != nil {
			return fmt.Errorf("upload: create state: %w", err)
		}
	} else if err := os.Rename(tmp.Name(), final); err != nil {
		return fmt.Errorf("upload: replace state: %w", err)
	}
	return syncDir(s.dir)
}

// syncDir fsyncs a directory so that names created, renamed or removed in it
// survive a power loss.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("upload: sync directory: %w", err)
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return fmt.Errorf("upload: sync directory: %w", err)
	}
	return d.Close()
}
