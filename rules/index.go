package rules

import "hash/maphash"

// strIndex numbers distinct strings in the order they are first added: an
// open-addressing hash table over the strings' 64-bit hashes that compares
// the strings themselves on a hash match, so it is exact. Staging uses one
// per file for duplicate keys and for the partitions of sequences; it is
// several times cheaper than a Go map with string keys at this job.
type strIndex struct {
	seed  maphash.Seed
	slots []int32  // index + 1 into keys; 0 is empty
	hash  []uint64 // hash of the key in each slot
	keys  []string
}

func newStrIndex() *strIndex {
	x := &strIndex{seed: maphash.MakeSeed()}
	x.grow(1 << 10)
	return x
}

// reset empties the index and keeps its memory.
func (x *strIndex) reset() {
	clear(x.slots)
	clear(x.keys) // drop the references so the strings can be collected
	x.keys = x.keys[:0]
}

// add returns the number of s, and whether s was new.
func (x *strIndex) add(s string) (int, bool) {
	if 2*(len(x.keys)+1) > len(x.slots) {
		x.grow(2 * len(x.slots))
	}
	h := maphash.String(x.seed, s)
	mask := uint64(len(x.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		k := x.slots[i]
		if k == 0 {
			x.keys = append(x.keys, s)
			x.slots[i] = int32(len(x.keys))
			x.hash[i] = h
			return len(x.keys) - 1, true
		}
		if x.hash[i] == h && x.keys[k-1] == s {
			return int(k - 1), false
		}
	}
}

func (x *strIndex) grow(n int) {
	old, oldHash := x.slots, x.hash
	x.slots, x.hash = make([]int32, n), make([]uint64, n)
	mask := uint64(n - 1)
	for j, k := range old {
		if k == 0 {
			continue
		}
		h := oldHash[j]
		i := h & mask
		for x.slots[i] != 0 {
			i = (i + 1) & mask
		}
		x.slots[i], x.hash[i] = k, h
	}
}
