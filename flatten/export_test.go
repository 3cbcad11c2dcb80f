package flatten

// NewScan returns the scanner alone, for benchmarks that separate decoding from mapping. The
// returned func reuses its tape between calls, as a Flattener does.
func NewScan() func(body []byte) error {
	var s scanner
	return s.scan
}
