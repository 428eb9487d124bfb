package blobstore

import (
	"io"
	"os"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/envelope"
)

// copyEnvelope copies an envelope from r to w after checking that it starts
// with a well-formed envelope header, and returns the bytes copied. It does
// not authenticate the chunks: that needs the KEK and is the reader's job.
func copyEnvelope(w io.Writer, r io.Reader) (int64, error) {
	cw := &countingWriter{w: w}
	if _, err := envelope.ReadHeader(io.TeeReader(r, cw)); err != nil {
		if cw.err != nil {
			return cw.n, ronghe.WrapError(ronghe.EUNAVAILABLE, cw.err, "cannot write the blob")
		}
		return cw.n, ronghe.WrapError(ronghe.EINVALID, err, "refusing to store bytes that are not an encrypted envelope")
	}
	n, err := io.Copy(w, r)
	if err != nil {
		return cw.n + n, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "cannot copy the blob")
	}
	return cw.n + n, nil
}

// checkEnvelopeFile checks that the file at path starts with an envelope
// header.
func checkEnvelopeFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return ronghe.WrapError(ronghe.EINTERNAL, err, "cannot open the file to store")
	}
	defer f.Close()
	if _, err := envelope.ReadHeader(f); err != nil {
		return ronghe.WrapError(ronghe.EINVALID, err, "refusing to store a file that is not an encrypted envelope")
	}
	return nil
}

// countingWriter counts the bytes written through it and remembers the first
// write error, so a failing destination is not mistaken for a bad header.
type countingWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}
