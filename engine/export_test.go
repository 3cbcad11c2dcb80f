package engine

// LoadLibrary loads libchdb.so as an engine process does, for the tests that check what loading
// it leaves of the Go runtime's signal handling.
func LoadLibrary(path string) error {
	_, err := loadAPI(path)
	return err
}
