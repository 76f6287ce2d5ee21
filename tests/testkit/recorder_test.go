package testkit

import (
	"fmt"
	"strings"
	"testing"
)

// recorder is a testing.TB that keeps what a helper reported, so that a
// test can check that the helper fails when it should, and how. Fatal and
// Skip end the helper as they would end a test.
type recorder struct {
	testing.TB
	errors  []string
	fatal   bool
	skipped bool
}

var errRecorderStop = fmt.Errorf("recorder: stopped")

func (r *recorder) Helper()                   {}
func (r *recorder) Error(args ...any)         { r.errors = append(r.errors, fmt.Sprint(args...)) }
func (r *recorder) Errorf(f string, a ...any) { r.errors = append(r.errors, fmt.Sprintf(f, a...)) }
func (r *recorder) Fatal(args ...any)         { r.Error(args...); r.fatal = true; panic(errRecorderStop) }
func (r *recorder) Fatalf(f string, a ...any) {
	r.Errorf(f, a...)
	r.fatal = true
	panic(errRecorderStop)
}
func (r *recorder) Skip(args ...any) { r.skipped = true; panic(errRecorderStop) }
func (r *recorder) Cleanup(func())   {}

// record runs fn with a recorder and returns it.
func record(fn func(t testing.TB)) (r *recorder) {
	r = &recorder{}
	defer func() {
		if p := recover(); p != nil && p != errRecorderStop {
			panic(p)
		}
	}()
	fn(r)
	return r
}

// failedWith reports whether r holds an error that contains want.
func (r *recorder) failedWith(want string) bool {
	for _, e := range r.errors {
		if strings.Contains(e, want) {
			return true
		}
	}
	return false
}
