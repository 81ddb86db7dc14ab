package sample

import (
	"errors"
	"testing"
)

func TestParseStat(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		comm     string
		want     procStat
	}{
		{
			name: "plain",
			in:   "4242 (nginx) S 1 4242 4242 0 -1 4194560 100 0 0 0 400 100 20 5 20 0 4 0 90010 12288000 2000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
			comm: "nginx",
			want: procStat{pid: 4242, ppid: 1, state: 'S', threads: 4, start: 90010, cpu: 525, rss: 2000},
		},
		{
			name: "name with spaces and parentheses",
			in:   "400 (my (odd) name) R 1 400 400 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 2 0 50000 1228800 100 18446744073709551615 1 1 0\n",
			comm: "my (odd) name",
			want: procStat{pid: 400, ppid: 1, state: 'R', threads: 2, start: 50000, cpu: 10, rss: 100},
		},
		{
			name: "zombie, negative cutime read as 0",
			in:   "501 (sh) Z 500 500 500 0 -1 4227084 95 0 0 0 5 1 -1 0 20 0 1 0 95000 0 0 18446744073709551615 0 0 0",
			comm: "sh",
			want: procStat{pid: 501, ppid: 500, state: 'Z', threads: 1, start: 95000, cpu: 6},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got procStat
			comm, err := parseStat([]byte(tc.in), &got)
			if err != nil {
				t.Fatal(err)
			}
			if string(comm) != tc.comm {
				t.Errorf("comm = %q, want %q", comm, tc.comm)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	for _, bad := range []string{"", "42", "42 (x) S 1 2 3", "x (y) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 abc 1 1 1 20 0 1 0 5 0 9"} {
		var p procStat
		if _, err := parseStat([]byte(bad), &p); err == nil {
			t.Errorf("parseStat(%q) = nil error", bad)
		}
	}
}

func TestParseIO(t *testing.T) {
	got, err := parseIO([]byte("rchar: 6976\nwchar: 10\nsyscr: 10\nsyscw: 0\nread_bytes: 4096\nwrite_bytes: 52428800\ncancelled_write_bytes: 0\n"))
	if err != nil || got != (ioCounters{read: 4096, write: 50 << 20}) {
		t.Errorf("parseIO = %+v, %v", got, err)
	}
	if _, err := parseIO([]byte("rchar: 1\n")); !errors.Is(err, errNoData) {
		t.Errorf("parseIO without read_bytes: %v, want errNoData", err)
	}
	if _, err := parseIO([]byte("read_bytes: x\nwrite_bytes: 1\n")); err == nil || errors.Is(err, errNoData) {
		t.Errorf("parseIO with a bad number: %v, want a parse error", err)
	}
}

func TestParseSmallFiles(t *testing.T) {
	if got, err := parseUptime([]byte("676.65 1043.28\n"), 100); err != nil || got != 67665 {
		t.Errorf("parseUptime = %d, %v", got, err)
	}
	if _, err := parseUptime([]byte("x y"), 100); err == nil {
		t.Error("parseUptime accepted garbage")
	}
	if got := parseCmdline([]byte("python3\x00-m\x00http.server\x00")); got != "python3 -m http.server" {
		t.Errorf("parseCmdline = %q", got)
	}
	for in, want := range map[string]int{"300\n": 300, "  42 ": 42, "17\nextra\n": 17} {
		if got, err := parsePID([]byte(in)); err != nil || got != want {
			t.Errorf("parsePID(%q) = %d, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "0", "-1", "abc", "99999999999"} {
		if _, err := parsePID([]byte(in)); err == nil {
			t.Errorf("parsePID(%q) accepted", in)
		}
	}
}
