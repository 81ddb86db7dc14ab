package sample

import "testing"

func TestParseDirents(t *testing.T) {
	// Two linux_dirent64 records: "12" and "self".
	rec := func(name string) []byte {
		n := 19 + len(name) + 1
		n = (n + 7) &^ 7
		b := make([]byte, n)
		b[16], b[17] = byte(n), byte(n>>8)
		copy(b[19:], name)
		return b
	}
	buf := append(append(append(rec("12"), rec("self")...), rec("4194303")...), rec(".")...)
	var got []int32
	parseDirents(buf, func(pid int32) { got = append(got, pid) })
	if len(got) != 2 || got[0] != 12 || got[1] != 4194303 {
		t.Errorf("parseDirents = %v, want [12 4194303]", got)
	}
}
