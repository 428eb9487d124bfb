package upload

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/envelope"
	"github.com/ronghe/ronghe/suite"
)

// recover makes an upload's .bin file and its state agree after a crash; the
// caller holds the upload's lock. The state is the durable truth about
// everything up to st.Chunks; the file may hold more (chunks written after
// the last commit), a torn chunk, or — if storage lost acknowledged writes —
// less. Chunks beyond the state are adopted only if they authenticate at
// their position, and the hash state is brought forward by decrypting them;
// whatever does not authenticate is cut off. If the file holds less than the
// state claims, the hash state cannot be rolled back, so it is re-derived from
// the first chunk. Nothing is done when the file already has the expected
// length, the common case.
func (s *Store) recover(ctx context.Context, st *state) error {
	path := s.binPath(st.Info.ID)
	want := sealedLen(st)
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if st.Complete {
			// Promote moved the data and crashed before removing the
			// state, or the file was lost: either way it is not here.
			s.log.WarnContext(ctx, "upload: complete upload has no data file", "id", st.Info.ID)
			return ronghe.Errorf(ronghe.ENOTFOUND, "upload %s has no data", st.Info.ID)
		}
		// Creation crashed between the state and the data file.
		s.log.WarnContext(ctx, "upload: recreating missing data file", "id", st.Info.ID, "chunks", st.Chunks)
		if err := s.createBin(st); err != nil {
			return err
		}
		if st.Chunks == 0 {
			return nil
		}
		return s.rederive(ctx, st, int64(len(st.Header)))
	case err != nil:
		return fmt.Errorf("upload: stat data file: %w", err)
	case fi.Size() == want:
		// The common case. The header is checked all the same (it is
		// small): with a damaged header nothing can be read or appended.
		return s.checkHeader(st)
	case st.Complete:
		return ronghe.Errorf(ronghe.EINTEGRITY, "data file of complete upload %s is %d bytes, want %d", st.Info.ID, fi.Size(), want)
	}
	return s.rederive(ctx, st, fi.Size())
}

// checkHeader verifies that the .bin file starts with the upload's header.
func (s *Store) checkHeader(st *state) error {
	f, err := os.Open(s.binPath(st.Info.ID))
	if err != nil {
		return fmt.Errorf("upload: open data file: %w", err)
	}
	defer f.Close()
	head := make([]byte, len(st.Header))
	if _, err := io.ReadFull(f, head); err != nil || !bytes.Equal(head, st.Header) {
		return ronghe.Errorf(ronghe.EINTEGRITY, "data file of upload %s does not start with its envelope header", st.Info.ID)
	}
	return nil
}

// rederive adopts the authenticated chunks of a .bin file of length size and
// commits the result; see recover.
func (s *Store) rederive(ctx context.Context, st *state, size int64) error {
	id := st.Info.ID
	f, err := os.OpenFile(s.binPath(id), os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("upload: open data file: %w", err)
	}
	defer f.Close()
	head := make([]byte, len(st.Header))
	if _, err := f.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("upload: read header: %w", err)
	}
	if size < int64(len(st.Header)) || !bytes.Equal(head, st.Header) {
		// The header is written before the state says any chunk exists, so
		// a short or different header means the file was damaged.
		if st.Chunks > 0 || size > int64(len(st.Header)) {
			return ronghe.Errorf(ronghe.EINTEGRITY, "data file of upload %s does not start with its envelope header", id)
		}
		s.log.WarnContext(ctx, "upload: rewriting torn header", "id", id)
		if err := f.Close(); err != nil {
			return fmt.Errorf("upload: close data file: %w", err)
		}
		return s.createBin(st)
	}

	from := progress{chunks: st.Chunks, hash: st.HashState}
	if size < sealedLen(st) {
		s.log.WarnContext(ctx, "upload: data file is shorter than its committed state; re-deriving the hash from the start",
			"id", id, "size", size, "want", sealedLen(st))
		h := suite.NewHash(st.Suite)
		hs, err := marshalHash(h)
		if err != nil {
			return err
		}
		from = progress{hash: hs}
	}
	c, err := envelope.OpenChunkCipher(ctx, s.kek, st.Header)
	if err != nil {
		return err
	}
	defer c.Close()
	h, err := restoreHash(st.Suite, from.hash)
	if err != nil {
		return err
	}
	got, end, err := adopt(ctx, f, size, st, c, h, from)
	if err != nil {
		return err
	}
	if end < size {
		s.log.WarnContext(ctx, "upload: cutting off data that does not authenticate", "id", id, "at", end, "size", size)
		if err := f.Truncate(end); err != nil {
			return fmt.Errorf("upload: truncate data file: %w", err)
		}
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("upload: sync data file: %w", err)
	}
	next := *st
	got.apply(&next)
	if err := s.writeState(&next, false); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "upload: recovered", "id", id, "chunks", next.Chunks, "offset", next.Info.Offset,
		"was", st.Info.Offset, "complete", next.Complete)
	*st = next
	return nil
}

// adopt reads chunks from.chunks onwards from f (of length size), opening
// each at its index, and feeds their plaintext to h. It stops at the first
// chunk that is incomplete or does not authenticate, or after the last
// chunk, and returns the progress reached and where its data ends.
func adopt(ctx context.Context, f *os.File, size int64, st *state, c *envelope.ChunkCipher, h hash.Hash, from progress) (progress, int64, error) {
	chunk := int64(st.ChunkSize)
	ct := chunk + int64(c.Overhead())
	sealed := make([]byte, ct)
	plain := make([]byte, 0, chunk)
	got := from
	pos := int64(len(st.Header)) + int64(from.chunks)*ct
	for seq := from.chunks; ; seq++ {
		if err := ctx.Err(); err != nil {
			return got, pos, err
		}
		rest := st.Info.Size - int64(seq)*chunk // plaintext still to come
		last := rest <= chunk
		need := ct
		if last {
			need = rest + int64(c.Overhead())
		}
		if size-pos < need {
			return got, pos, nil
		}
		if _, err := f.ReadAt(sealed[:need], pos); err != nil {
			return got, pos, fmt.Errorf("upload: read chunk %d: %w", seq, err)
		}
		pt, err := c.Open(plain[:0], sealed[:need], seq, last)
		if err != nil {
			return got, pos, nil // torn or damaged: cut here
		}
		h.Write(pt)
		hs, err := marshalHash(h)
		if err != nil {
			return got, pos, err
		}
		pos += need
		got = progress{chunks: seq + 1, hash: hs, complete: last}
		if last {
			got.digest = h.Sum(nil)
			return got, pos, nil
		}
	}
}
