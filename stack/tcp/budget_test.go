package tcp

import "testing"

func TestBudgetClassSizes(t *testing.T) {
	for _, tt := range []struct{ n, want int }{
		{0, 512}, {1, 512}, {512, 512}, {513, 1024}, {4096, 4096}, {4097, 8192},
		{1 << 26, 1 << 26}, {1<<26 + 1, 1<<26 + 1},
	} {
		if got := classSize(tt.n); got != tt.want {
			t.Errorf("classSize(%d) = %d, want %d", tt.n, got, tt.want)
		}
	}
}

func TestBudgetAccountsWhatIsTakenAndReleased(t *testing.T) {
	b := NewBudget(1 << 20)
	x, ok := b.Take(0, 3000, 0, GrantPromise)
	if !ok || len(x) != 4096 {
		t.Fatalf("Take(3000) = %d bytes, %v; want a 4096-byte class", len(x), ok)
	}
	y, _ := b.Take(0, 100000, 0, GrantPromise)
	if got := b.InUse(); got != 4096+131072 {
		t.Fatalf("in use %d after taking 4096 and 131072", got)
	}
	b.Release(x[:10]) // any slice of the storage that starts where it starts
	b.Release(y)
	s := b.Stats()
	if s.InUse != 0 || s.Peak != 4096+131072 || s.Limit != 1<<20 {
		t.Fatalf("after releasing everything: %+v", s)
	}
}

// The three levels: below half the limit a buffer may grow until half is
// used; under pressure, to its fair share of the limit; when the budget
// is full, not past what it holds or its floor.
func TestBudgetLevels(t *testing.T) {
	const limit = 1 << 20
	b := NewBudget(limit)
	if got := b.Allowance(0, Floor); got != limit/2 {
		t.Fatalf("empty budget: allowance %d, want %d", got, limit/2)
	}
	var held [][]byte
	take := func(n int) {
		x, ok := b.Take(0, n, 0, GrantMove)
		if !ok {
			t.Fatal("GrantMove refused")
		}
		held = append(held, x)
	}
	take(256 << 10)
	if got, want := b.Allowance(8192, Floor), classBelow(limit/2-256<<10+8192); got != want {
		t.Fatalf("a quarter used: allowance %d, want %d (the class below what keeps half the budget free)", got, want)
	}
	if b.Pressure() {
		t.Fatal("pressure at a quarter")
	}
	// Pressure: 8 buffers of 64 KiB and the 256 KiB: 9 hold storage.
	for range 8 {
		take(64 << 10)
	}
	if !b.Pressure() {
		t.Fatal("no pressure at three quarters")
	}
	if got, want := b.Allowance(0, Floor), classBelow(limit/9); got != want {
		t.Fatalf("under pressure: allowance %d, want the fair share %d", got, want)
	}
	if got, want := b.Allowance(200<<10, Floor), 200<<10; got != want {
		t.Fatalf("a buffer over its share: allowance %d, want what it holds (%d)", got, want)
	}
	// Full.
	take(256 << 10)
	if got := b.Allowance(0, Floor); got != Floor {
		t.Fatalf("full: allowance %d, want the floor", got)
	}
	if got := b.Allowance(64<<10, Floor); got != 64<<10 {
		t.Fatalf("full: allowance %d for a buffer holding 64 KiB", got)
	}
	for _, x := range held {
		b.Release(x)
	}
	if b.InUse() != 0 {
		t.Fatalf("%d bytes still in use", b.InUse())
	}
}

// Data already in the window may use the budget up to its limit; past it
// only the floor; and nothing stops data that moves between buffers.
func TestBudgetGrants(t *testing.T) {
	const limit = 64 << 10
	b := NewBudget(limit)
	var hog [][]byte
	for range 14 { // all but 8 KiB, in 14 buffers: a fair share of 4681 bytes
		x, _ := b.Take(0, 4096, 0, GrantMove)
		hog = append(hog, x)
	}
	if _, ok := b.Take(0, 8192, 0, GrantPromise); ok {
		t.Error("a promise of 8 KiB, over the fair share, was granted under pressure")
	}
	x, ok := b.Take(0, 8192, 0, GrantStore)
	if !ok {
		t.Fatal("storing into the last 8 KiB was refused")
	}
	if _, ok := b.Take(0, 512, 0, GrantStore); ok {
		t.Error("storing past the limit was granted")
	}
	if _, ok := b.Take(0, Floor, Floor, GrantStore); !ok {
		t.Error("the floor was refused on a full budget")
	}
	if _, ok := b.Take(Floor, 2*Floor, Floor, GrantStore); ok {
		t.Error("more than the floor was granted on a full budget")
	}
	if _, ok := b.Take(0, 1<<20, 0, GrantMove); !ok {
		t.Error("a move was refused")
	}
	if s := b.Stats(); s.Denied != 3 {
		t.Errorf("denied %d requests, want 3", s.Denied)
	}
	for _, h := range append(hog, x) {
		b.Release(h)
	}
}

func TestNilBudgetBoundsNothing(t *testing.T) {
	var b *Budget
	x, ok := b.Take(0, 1<<20, 0, GrantPromise)
	if !ok || len(x) != 1<<20 {
		t.Fatalf("nil budget: Take = %d, %v", len(x), ok)
	}
	b.Release(x)
	if b.Pressure() || b.InUse() != 0 || b.Allowance(0, 0) < 1<<30 {
		t.Fatal("a nil budget limits")
	}
	u := NewBudget(0)
	y, ok := u.Take(0, 1<<20, 0, GrantPromise)
	if !ok || u.InUse() != 1<<20 {
		t.Fatalf("unbounded budget: Take = %d, %v, in use %d", len(y), ok, u.InUse())
	}
	u.Release(y)
}

// The floors of the buffers that joined come out of the limit, up to a
// quarter of it: a budget whose every connection takes its floor late
// still holds.
func TestBudgetReservesFloors(t *testing.T) {
	const limit = 1 << 20
	b := NewBudget(limit)
	b.Join(32) // 128 KiB of floors, none taken
	if got, want := b.Allowance(0, Floor), limit/2-32*Floor; got != classBelow(int64(want)) {
		t.Fatalf("allowance %d with 32 floors reserved, want %d", got, classBelow(int64(want)))
	}
	var held [][]byte
	for range 32 { // every buffer takes its floor: the reserve becomes use
		x, ok := b.Take(0, Floor, Floor, GrantStore)
		if !ok {
			t.Fatal("a floor refused")
		}
		held = append(held, x)
	}
	if got := b.committed(); got != 32*Floor {
		t.Fatalf("committed %d once the floors are taken, want %d", got, 32*Floor)
	}
	// Fill the rest of the limit with storage beyond the floors.
	for b.committed()+Floor <= limit {
		x, ok := b.Take(0, Floor, 0, GrantStore)
		if !ok {
			t.Fatalf("storage refused at %d committed", b.committed())
		}
		held = append(held, x)
	}
	if _, ok := b.Take(0, Floor, 0, GrantStore); ok {
		t.Fatal("storage past the limit granted")
	}
	// A thousand more buffers join: their floors are capped at a quarter.
	b.Join(1000)
	if got, want := b.committed(), int64(limit+limit/4); got != want {
		t.Fatalf("committed %d with a thousand floors reserved, want the used %d and a quarter", got, int64(limit))
	}
	for _, x := range held {
		b.Release(x)
	}
	b.Leave(1032)
	if b.committed() != 0 || b.InUse() != 0 {
		t.Fatalf("committed %d, in use %d after everything left", b.committed(), b.InUse())
	}
}
