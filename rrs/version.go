package rrs

import (
	"strings"

	"github.com/ronghe/ronghe"
)

// V1_0 is RRS-1 version 1.0, the version RRS-1.md describes. Treat it as
// read-only: it is shared by every caller.
var V1_0 = mustRegister(v10)

// registry lists the supported versions, oldest first. It is filled only by
// package-level initialisation and never changed afterwards.
var registry []*Spec

func mustRegister(s *Spec) *Spec {
	if err := s.validate(); err != nil {
		panic(err)
	}
	registry = append(registry, s)
	return s
}

// Current returns the newest supported version of RRS-1.
func Current() *Spec { return registry[len(registry)-1] }

// Versions returns the supported version strings, oldest first ("1.0").
func Versions() []string {
	out := make([]string, len(registry))
	for i, s := range registry {
		out[i] = s.Version
	}
	return out
}

// Lookup returns the spec of the given version. "1.0" names exactly that
// version; a bare major version "1" names the newest minor version of that
// major. A leading "v" or "RRS-1/" is tolerated. Any other version is refused
// with an EUNSUPPORTED error that names the supported ones, so a client that
// sends a newer schema version learns what the platform accepts.
func Lookup(version string) (*Spec, error) {
	v := strings.TrimSpace(version)
	v = strings.TrimPrefix(v, "RRS-1/")
	v = strings.TrimPrefix(strings.TrimPrefix(v, "v"), "V")
	var match *Spec
	for _, s := range registry {
		if s.Version == v {
			return s, nil
		}
		if major, _, _ := strings.Cut(s.Version, "."); major == v && !strings.Contains(v, ".") {
			match = s // registry is oldest first, so the last match is the newest minor
		}
	}
	if match != nil {
		return match, nil
	}
	return nil, ronghe.Errorf(ronghe.EUNSUPPORTED, "RRS-1 version %q is not supported (supported: %s)",
		version, strings.Join(Versions(), ", "))
}

// derive returns a new spec of the given version that starts as a deep copy of
// base and is then changed by edit. It is how a minor version that adds an
// optional field is declared without a second copy of the field table (see
// the package documentation); base is never modified.
func derive(base *Spec, version string, edit func(*Spec)) *Spec {
	s := &Spec{Standard: base.Standard, Version: version, Types: make([]*RecordType, len(base.Types))}
	for i, rt := range base.Types {
		c := *rt
		c.Fields = make([]Field, len(rt.Fields))
		copy(c.Fields, rt.Fields)
		for j := range c.Fields {
			f := &c.Fields[j]
			f.Codes = append([]Code(nil), f.Codes...)
			f.Forbidden = append([]string(nil), f.Forbidden...)
		}
		c.Key = append([]string(nil), rt.Key...)
		s.Types[i] = &c
	}
	edit(s)
	return s
}
