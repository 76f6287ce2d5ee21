package tcp

import (
	"testing"
	"unsafe"
)

func TestTimeWaitRecordIsSmall(t *testing.T) {
	if size := unsafe.Sizeof(TimeWaitRecord{}); size > 40 {
		t.Fatalf("TimeWaitRecord is %d bytes, want at most 40", size)
	}
}

func TestTimeWaitRecordOnlyInTimeWait(t *testing.T) {
	h := established(t)
	if _, ok := h.c.TimeWaitRecord(); ok {
		t.Fatal("a record for an ESTABLISHED connection")
	}
}

func TestTimeWaitRecordExpiresWithTheConnection(t *testing.T) {
	h := timeWait(t)
	tw, _ := h.c.TimeWaitRecord()
	if !tw.Expires().Equal(h.c.Deadline()) {
		t.Fatalf("record expires %v, connection %v", tw.Expires(), h.c.Deadline())
	}
	st := tw.Status()
	if st.State != TimeWait || st.SndNxt != localISS+2 || st.RcvNxt != remoteISS+2 || !st.TimeWaitAt.Equal(tw.Expires()) {
		t.Fatalf("record status %+v", st)
	}
}
