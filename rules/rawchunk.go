package rules

// #include <stdlib.h>
import "C"

import (
	"reflect"
	"time"
	"unsafe"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/ronghe/ronghe/rrs"
)

// Writing a staged value through duckdb-go (SetChunkValue) costs a type
// switch per value and a cgo call per string, which made the hand-over to
// DuckDB the largest single cost of staging. rawChunk writes the values
// straight into the chunk's vector memory instead, in DuckDB's documented
// physical layouts: INTEGER/DATE int32, BIGINT int64, BOOLEAN one byte, the
// validity mask one bit per row (1 = valid), and VARCHAR as the 16-byte
// string_t — length and up to 12 inlined bytes, or length, a 4-byte prefix
// and a pointer to the bytes. Longer strings are copied into an arena of C
// memory: a thread's arena is reused for its next chunk (DuckDB pushes a
// chunk through to the table insert, which copies every value, before it
// asks the source for the next) and freed when the statement has finished.
//
// duckdb-go does not export the vectors' data pointers, so rawColumns reads
// them by reflection from the pinned duckdb-go version's DataChunk. The
// engine probes the path once at start-up (probeRaw: values written raw
// and read back through SQL) and falls back to SetChunkValue when the layout
// is not what this code expects.

// rawVector is direct access to one column of a writable chunk.
type rawVector struct {
	data unsafe.Pointer
	mask unsafe.Pointer
}

// rawColumns returns direct access to the n columns of chunk, or false when
// duckdb-go's DataChunk does not have the layout this code knows.
func rawColumns(chunk *duckdb.DataChunk, n int) ([]rawVector, bool) {
	v := reflect.ValueOf(chunk).Elem()
	cols := v.FieldByName("columns")
	proj := v.FieldByName("projection")
	if !cols.IsValid() || cols.Kind() != reflect.Slice || !proj.IsValid() || proj.Kind() != reflect.Slice {
		return nil, false
	}
	if cols.Len() != n || proj.Len() != 0 && proj.Len() != n {
		return nil, false // some columns are not projected: let duckdb-go map them
	}
	out := make([]rawVector, n)
	for i := 0; i < n; i++ {
		phys := i
		if proj.Len() != 0 {
			phys = int(proj.Index(i).Int())
			if phys < 0 || phys >= n {
				return nil, false
			}
		}
		c := cols.Index(phys)
		data, mask := c.FieldByName("dataPtr"), c.FieldByName("maskPtr")
		if !data.IsValid() || data.Kind() != reflect.UnsafePointer || !mask.IsValid() || mask.Kind() != reflect.UnsafePointer {
			return nil, false
		}
		out[i] = rawVector{
			data: *(*unsafe.Pointer)(unsafe.Pointer(data.UnsafeAddr())),
			mask: *(*unsafe.Pointer)(unsafe.Pointer(mask.UnsafeAddr())),
		}
		if out[i].data == nil || out[i].mask == nil {
			return nil, false
		}
	}
	return out, true
}

// arena holds the bytes of long strings of the chunks a thread writes, in C
// memory that DuckDB may point to until the statement has finished.
type arena struct {
	bufs [][]byte // C-allocated, freed by release
	buf  []byte
	used int
}

const arenaSize = 1 << 20

// put copies s into the arena and returns a pointer to the copy.
func (a *arena) put(s string) unsafe.Pointer {
	if a.used+len(s) > len(a.buf) {
		// The old buffer stays allocated: the current chunk may point into it.
		n := max(arenaSize, len(s))
		a.buf = unsafe.Slice((*byte)(C.malloc(C.size_t(n))), n)
		a.bufs = append(a.bufs, a.buf)
		a.used = 0
	}
	p := unsafe.Pointer(&a.buf[a.used])
	copy(a.buf[a.used:], s)
	a.used += len(s)
	return p
}

// reset lets the next chunk reuse the arena: DuckDB has consumed the
// previous one when it asks for the next.
func (a *arena) reset() { a.used = 0 }

// release frees every buffer; call it when the statement has finished.
func (a *arena) release() {
	for _, b := range a.bufs {
		C.free(unsafe.Pointer(&b[0]))
	}
	a.bufs, a.buf, a.used = nil, nil, 0
}

// chunkWriter writes the values of one chunk, raw when it can and through
// duckdb-go otherwise, and keeps the first error.
type chunkWriter struct {
	chunk duckdb.DataChunk
	raw   []rawVector
	arena *arena
	err   error
}

func (w *chunkWriter) valid(col, row int, ok bool) {
	word := (*uint64)(unsafe.Add(w.raw[col].mask, row/64*8))
	if ok {
		*word |= 1 << (row % 64)
	} else {
		*word &^= 1 << (row % 64)
	}
}

// meta writes the meta columns (see metaColumns) of a row.
func (w *chunkWriter) meta(row, batch, line int, ok, keyok, dup bool, kh int64) {
	if w.raw != nil {
		*(*int32)(unsafe.Add(w.raw[0].data, row*4)) = int32(batch)
		*(*int32)(unsafe.Add(w.raw[1].data, row*4)) = int32(line)
		*(*bool)(unsafe.Add(w.raw[2].data, row)) = ok
		*(*bool)(unsafe.Add(w.raw[3].data, row)) = keyok
		*(*bool)(unsafe.Add(w.raw[4].data, row)) = dup
		*(*int64)(unsafe.Add(w.raw[5].data, row*8)) = kh
		for c := 0; c < nMeta; c++ {
			w.valid(c, row, true)
		}
		return
	}
	w.keep(duckdb.SetChunkValue(w.chunk, 0, row, int32(batch)))
	w.keep(duckdb.SetChunkValue(w.chunk, 1, row, int32(line)))
	w.keep(duckdb.SetChunkValue(w.chunk, 2, row, ok))
	w.keep(duckdb.SetChunkValue(w.chunk, 3, row, keyok))
	w.keep(duckdb.SetChunkValue(w.chunk, 4, row, dup))
	w.keep(duckdb.SetChunkValue(w.chunk, 5, row, kh))
}

func (w *chunkWriter) null(col, row int) {
	if w.raw != nil {
		w.valid(col, row, false)
		return
	}
	w.keep(w.chunk.SetValue(col, row, nil))
}

func (w *chunkWriter) text(col, row int, v string) {
	if w.raw == nil {
		w.keep(duckdb.SetChunkValue(w.chunk, col, row, v))
		return
	}
	p := unsafe.Add(w.raw[col].data, row*16)
	st := (*[16]byte)(p)
	*(*uint32)(p) = uint32(len(v))
	if len(v) <= 12 {
		n := copy(st[4:], v)
		clear(st[4+n:])
	} else {
		copy(st[4:8], v[:4])
		*(*unsafe.Pointer)(unsafe.Add(p, 8)) = w.arena.put(v)
	}
	w.valid(col, row, true)
}

func (w *chunkWriter) int64(col, row int, v int64) {
	if w.raw == nil {
		w.keep(duckdb.SetChunkValue(w.chunk, col, row, v))
		return
	}
	*(*int64)(unsafe.Add(w.raw[col].data, row*8)) = v
	w.valid(col, row, true)
}

func (w *chunkWriter) date(col, row int, d rrs.Date) {
	if w.raw == nil {
		w.keep(duckdb.SetChunkValue(w.chunk, col, row, time.Date(d.Y, d.M, d.D, 0, 0, 0, 0, time.UTC)))
		return
	}
	*(*int32)(unsafe.Add(w.raw[col].data, row*4)) = int32(d.EpochDays())
	w.valid(col, row, true)
}

func (w *chunkWriter) keep(err error) {
	if err != nil && w.err == nil {
		w.err = err
	}
}
