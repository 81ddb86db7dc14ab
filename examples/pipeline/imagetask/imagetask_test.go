package imagetask

import (
	"reflect"
	"testing"
)

func TestParseSizes(t *testing.T) {
	got, err := ParseSizes(" 640x480, 1920x1080,")
	if err != nil || !reflect.DeepEqual(got, []Size{{640, 480}, {1920, 1080}}) {
		t.Errorf("got %v, %v", got, err)
	}
	for _, bad := range []string{"", "640", "640x", "x480", "0x10", "-1x5", "99999x2", "axb"} {
		if _, err := ParseSizes(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestPlan(t *testing.T) {
	sizes := []Size{{10, 10}, {20, 20}, {30, 30}}
	a := Plan(12, sizes, []string{"png", "jpeg"}, 7, "t")
	if !reflect.DeepEqual(a, Plan(12, sizes, []string{"png", "jpeg"}, 7, "t")) {
		t.Error("the same arguments planned differently")
	}
	orders, formats := map[int]bool{}, map[string]bool{}
	for i, s := range a {
		if s.Size != sizes[i%3] || s.ID == "" {
			t.Errorf("task %d: %+v", i, s)
		}
		for k, o := range Orders {
			if reflect.DeepEqual(o, s.Services) {
				orders[k] = true
			}
		}
		formats[s.Format] = true
	}
	if len(orders) < 3 || len(formats) != 2 {
		t.Errorf("12 tasks drew %d orders and %d formats", len(orders), len(formats))
	}
	if a[0].ID != "t-001" || a[11].ID != "t-012" {
		t.Errorf("IDs %s...%s", a[0].ID, a[11].ID)
	}
}

func TestParseHWM(t *testing.T) {
	status := "Name:\tdecode\nVmPeak:\t  812345 kB\nVmHWM:\t   23248 kB\nVmRSS:\t   20000 kB\n"
	if v, err := parseHWM([]byte(status)); err != nil || v != 23248*1024 {
		t.Errorf("got %v, %v", v, err)
	}
	for _, bad := range []string{"Name:\tkthreadd\n", "VmHWM:\t lots kB\n", "VmHWM:\t 12 MB\n"} {
		if _, err := parseHWM([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
