package lake

import "github.com/ronghe/ronghe/pipeline"

// The pipeline's batches — accepted submissions decrypted as they are read —
// can be ingested directly.
var _ Source = (*pipeline.Batch)(nil)
