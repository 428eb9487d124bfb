package exchange

import (
	"bytes"
	"encoding/json"

	"github.com/ronghe/ronghe"
)

// jsonStrict decodes one JSON value into v, refusing unknown members.
func jsonStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return ronghe.WrapError(ronghe.EINVALID, err, "malformed JSON: "+err.Error())
	}
	return nil
}
