package sink

// RecordBytes exposes recordBytes to the external tests, which size the batches a fake store gets.
var RecordBytes = recordBytes
