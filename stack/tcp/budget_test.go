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
	b.ReleaseExtra(x[:10]) // any slice of the storage that starts where it starts
	b.ReleaseExtra(y)
	s := b.Stats()
	if s.InUse != 0 || s.Peak != 4096+131072 || s.Limit != 1<<20 {
		t.Fatalf("after releasing everything: %+v", s)
	}
}

// The three levels: below half the limit a buffer may grow until half is
// committed (the quarter held for floors counts); under pressure, to its
// fair share of the limit; when the budget is full, not past what it
// holds or its floor. Storage that grows is counted whole: it must fit
// beside what the buffer holds.
func TestBudgetLevels(t *testing.T) {
	const limit = 1 << 20
	b := NewBudget(limit)
	if got := b.Allowance(0, Floor); got != limit/4 {
		t.Fatalf("empty budget: allowance %d, want %d (half, less the quarter held for floors)", got, limit/4)
	}
	var held [][]byte
	take := func(n int) {
		x, ok := b.Take(0, n, 0, GrantMove)
		if !ok {
			t.Fatal("GrantMove refused")
		}
		held = append(held, x)
	}
	take(128 << 10)
	if got, want := b.Allowance(8192, Floor), classBelow(limit/2-limit/4-128<<10); got != want {
		t.Fatalf("an eighth used: allowance %d, want %d (the class below what keeps half the budget free)", got, want)
	}
	if b.Pressure() {
		t.Fatal("pressure at an eighth")
	}
	// Pressure: 8 buffers of 64 KiB and the 128 KiB: 9 hold storage.
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
	// Full: the storage and the quarter held for floors.
	take(128 << 10)
	if got := b.Allowance(0, Floor); got != Floor {
		t.Fatalf("full: allowance %d, want the floor", got)
	}
	if got := b.Allowance(64<<10, Floor); got != 64<<10 {
		t.Fatalf("full: allowance %d for a buffer holding 64 KiB", got)
	}
	for _, x := range held {
		b.ReleaseExtra(x)
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
	// All but 8 KiB, in 10 buffers beside the quarter held for floors: a
	// fair share of 6553 bytes.
	for range 10 {
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
		b.ReleaseExtra(h)
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

// A quarter of the limit is held for the floors, taken or not, and for
// buffers that have not joined yet: a budget whose connections take their
// floors late, or join once it is full, still holds; only floors past
// the quarter go over.
func TestBudgetReservesFloors(t *testing.T) {
	const limit = 1 << 20
	b := NewBudget(limit)
	b.Join(32) // 128 KiB of floors, none taken
	if got, want := b.Allowance(0, Floor), limit/2-limit/4; got != classBelow(int64(want)) {
		t.Fatalf("allowance %d with 32 floors reserved, want %d", got, classBelow(int64(want)))
	}
	var floors, extra [][]byte
	for range 32 { // every buffer takes its floor: the reserve becomes use
		x, ok := b.Take(0, Floor, Floor, GrantStore)
		if !ok {
			t.Fatal("a floor refused")
		}
		floors = append(floors, x)
	}
	if got := b.committed(); got != limit/4 {
		t.Fatalf("committed %d once the floors are taken, want the quarter %d", got, limit/4)
	}
	// Fill the rest of the limit with storage beyond the floors.
	for b.committed()+Floor <= limit {
		x, ok := b.Take(0, Floor, 0, GrantStore)
		if !ok {
			t.Fatalf("storage refused at %d committed", b.committed())
		}
		extra = append(extra, x)
	}
	if _, ok := b.Take(0, Floor, 0, GrantStore); ok {
		t.Fatal("storage past the limit granted")
	}
	// 32 more buffers join once the budget is full, and take their
	// floors: the quarter has room for them.
	b.Join(32)
	for range 32 {
		x, ok := b.Take(0, Floor, Floor, GrantStore)
		if !ok {
			t.Fatal("a late floor refused")
		}
		floors = append(floors, x)
	}
	if got := b.InUse(); got != limit {
		t.Fatalf("in use %d with every floor taken, want the limit %d", got, limit)
	}
	// A thousand more join: their floors are past the quarter.
	b.Join(1000)
	if got, want := b.committed(), int64(limit+limit/4); got != want {
		t.Fatalf("committed %d with a thousand floors reserved, want the used %d and a quarter", got, int64(limit))
	}
	for _, x := range floors {
		b.Release(x)
	}
	for _, x := range extra {
		b.ReleaseExtra(x)
	}
	b.Leave(1064)
	if b.committed() != limit/4 || b.InUse() != 0 {
		t.Fatalf("committed %d, in use %d after everything left; want the quarter held, none", b.committed(), b.InUse())
	}
}

// Extra storage (out-of-order blocks, datagrams) covers no floor: the
// floors of the buffers that joined stay reserved beside it, and a block
// adopted as a buffer's storage covers its floor from then on.
func TestBudgetExtraStorageCoversNoFloor(t *testing.T) {
	const limit = 1 << 20
	b := NewBudget(limit)
	b.Join(128) // 512 KiB of floors: past the quarter, which caps them
	before := b.committed()
	x, ok := b.Take(0, Floor, 0, GrantStore)
	if !ok {
		t.Fatal("extra storage refused")
	}
	if got := b.committed(); got != before+Floor {
		t.Fatalf("committed %d after 4 KiB of extra storage, want %d", got, before+Floor)
	}
	b.Adopt(x) // a buffer's now: one floor less reserved
	if got := b.reserve.Load(); got != 127*Floor {
		t.Fatalf("reserve %d after adopting a block, want %d", got, 127*Floor)
	}
	b.Release(x)
	b.Leave(128)
	if b.InUse() != 0 || b.reserve.Load() != 0 || b.floors.Load() != 0 {
		t.Fatalf("in use %d, reserve %d, floors %d after everything left", b.InUse(), b.reserve.Load(), b.floors.Load())
	}
}
