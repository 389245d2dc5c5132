//go:build !race

package wiretest

// raceEnabled says the test binary, and so a lesson that a script serves,
// runs under the race detector, which multiplies the memory it takes.
const raceEnabled = false
