package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
)

// interrupts turns SIGINT and SIGTERM into what the commands act on: the
// first cancels ctx; the second closes again if a command has claimed it
// (up: reset the connections still open at once), or else ends the
// process as the signal's default action would. One more signal after
// again ends the process too.
type interrupts struct {
	ctx     context.Context
	again   chan struct{}
	claimed atomic.Bool
}

func notifyInterrupts() *interrupts {
	signals := make(chan os.Signal, 3)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithCancelCause(context.Background())
	in := &interrupts{ctx: ctx, again: make(chan struct{})}
	go func() {
		sig := <-signals
		cancel(errors.New(sig.String()))
		sig = <-signals
		if in.claimed.Load() {
			close(in.again)
			sig = <-signals
		}
		signal.Reset(os.Interrupt, syscall.SIGTERM)
		syscall.Kill(os.Getpid(), sig.(syscall.Signal))
	}()
	return in
}

// claim returns the channel that the second signal closes, and makes the
// second signal close it rather than end the process.
func (in *interrupts) claim() <-chan struct{} {
	in.claimed.Store(true)
	return in.again
}
