package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tunstack/tunstack/stack"
)

func TestStatusCarriesTheFragmentCounters(t *testing.T) {
	c := stack.Counters{Fragments: stack.FragCounters{Fragments: 7, Reassembled: 2, Memory: 1500,
		Discarded: map[string]uint64{"frag-overlap": 1}}}
	b, err := json.Marshal(newCounterStatus(c))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"fragments":{"fragments":7,"reassembled":2,`, `"discarded":{"frag-overlap":1}`, `"memory":1500}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("status JSON %s lacks %s", b, want)
		}
	}
}
