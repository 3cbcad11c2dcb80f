// Package engine runs the embedded ClickHouse engine (chDB's libchdb.so) as a ClickHouse server in a child process.
//
// The engine is clickhouse-local, which since ClickHouse 26.6 opens the real native-protocol and
// HTTP servers on SYSTEM START LISTEN. An engine process (Run) serves them until its standard
// input ends; a Supervisor in the leadhouse process starts it, waits until it answers, restarts it
// when it dies and stops it. Everything else reaches the engine over the HTTP interface, as it
// would reach any ClickHouse server: leadhouse has one store path.
package engine
