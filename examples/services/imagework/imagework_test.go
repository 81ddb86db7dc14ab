package imagework_test

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/rightsize/rightsize/examples/services/imagework"
)

func TestMain(m *testing.M) {
	imagework.MaybeRun() // TestCommand runs the services as copies of the test binary
	os.Exit(m.Run())
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	img := imagework.Generate(37, 23, 1)
	for _, format := range []string{imagework.PNG, imagework.JPEG, imagework.Raw} {
		var buf bytes.Buffer
		if err := imagework.Encode(&buf, img, format); err != nil {
			t.Fatal(err)
		}
		if got := imagework.Format(buf.Bytes()); got != format {
			t.Errorf("%s: Format says %q", format, got)
		}
		back, got, err := imagework.Decode(&buf)
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if got != format || back.Rect != img.Rect {
			t.Fatalf("%s: decoded %s %v", format, got, back.Rect)
		}
		if format != imagework.JPEG && !bytes.Equal(back.Pix, img.Pix) {
			t.Errorf("%s: pixels differ after a lossless round trip", format)
		}
	}
	if _, _, err := imagework.Decode(bytes.NewReader([]byte("GIF89a..."))); !errors.Is(err, imagework.ErrFormat) {
		t.Errorf("unknown format: %v", err)
	}
	bad := []byte("RGBARAW1\x00\x01\x00\x00\x00\x01\x00\x00") // 65536x65536
	if _, _, err := imagework.Decode(bytes.NewReader(bad)); !errors.Is(err, imagework.ErrFormat) {
		t.Errorf("oversized raw header: %v", err)
	}
	short := []byte("RGBARAW1\x00\x00\x00\x02\x00\x00\x00\x02abc")
	if _, _, err := imagework.Decode(bytes.NewReader(short)); err == nil {
		t.Error("truncated raw image decoded")
	}
}

func TestGenerateDeterministic(t *testing.T) {
	a, b, c := imagework.Generate(64, 48, 7), imagework.Generate(64, 48, 7), imagework.Generate(64, 48, 8)
	if !bytes.Equal(a.Pix, b.Pix) {
		t.Error("same seed, different images")
	}
	if bytes.Equal(a.Pix, c.Pix) {
		t.Error("different seeds, same image")
	}
	for i := 3; i < len(a.Pix); i += 4 {
		if a.Pix[i] != 0xff {
			t.Fatal("generated image is not opaque")
		}
	}
}

func fill(w, h int, c color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return img
}

func TestResize(t *testing.T) {
	flat := fill(101, 50, color.RGBA{10, 200, 30, 255})
	for _, tc := range []struct {
		scale float64
		w, h  int
	}{{0.5, 51, 25}, {2, 202, 100}, {0.01, 1, 1}, {1, 101, 50}} {
		got := imagework.Resize(flat, tc.scale)
		if got.Rect.Dx() != tc.w || got.Rect.Dy() != tc.h {
			t.Errorf("scale %v: %v, want %dx%d", tc.scale, got.Rect, tc.w, tc.h)
		}
		// A flat image stays flat: the weights add up to one.
		for i := 0; i < len(got.Pix); i += 4 {
			if got.Pix[i] != 10 || got.Pix[i+1] != 200 || got.Pix[i+2] != 30 || got.Pix[i+3] != 255 {
				t.Fatalf("scale %v: pixel %d is %v", tc.scale, i/4, got.Pix[i:i+4])
			}
		}
	}
	// Shrinking averages: a checkerboard halved is grey, not one of its
	// colours (no pixels skipped).
	board := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for y := range 64 {
		for x := range 64 {
			v := uint8(0)
			if (x+y)%2 == 0 {
				v = 255
			}
			board.SetRGBA(x, y, color.RGBA{v, v, v, 255})
		}
	}
	half := imagework.Resize(board, 0.25)
	if c := half.RGBAAt(8, 8); c.R < 100 || c.R > 155 {
		t.Errorf("checkerboard shrunk to %v, want grey", c)
	}
}

func TestBlur(t *testing.T) {
	flat := fill(40, 30, color.RGBA{1, 2, 3, 255})
	imagework.Blur(flat, 5)
	for i := 0; i < len(flat.Pix); i += 4 {
		if flat.Pix[i] != 1 || flat.Pix[i+1] != 2 || flat.Pix[i+2] != 3 || flat.Pix[i+3] != 255 {
			t.Fatalf("flat image changed at %d: %v", i/4, flat.Pix[i:i+4])
		}
	}
	// A point spreads, keeps its total (within rounding) and its centre.
	img := fill(21, 21, color.RGBA{0, 0, 0, 255})
	img.SetRGBA(10, 10, color.RGBA{255, 255, 255, 255})
	imagework.Blur(img, 4)
	c, n := img.RGBAAt(10, 10), img.RGBAAt(12, 10)
	if !(c.R > n.R && n.R > 0) || c.R == 255 {
		t.Errorf("blurred point: centre %d, two pixels away %d", c.R, n.R)
	}
	var sum int
	for y := range 21 {
		for x := range 21 {
			sum += int(img.RGBAAt(x, y).R)
		}
	}
	if sum < 200 || sum > 310 {
		t.Errorf("blurred point's total %d, want about 255", sum)
	}
}

// The memory a service needs grows with the image: blur holds a second
// buffer as large as the image, resize an intermediate and the result.
func TestWorkMemoryGrowsWithSize(t *testing.T) {
	allocated := func(f func()) uint64 {
		var a, b runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&a)
		f()
		runtime.ReadMemStats(&b)
		return b.TotalAlloc - a.TotalAlloc
	}
	for _, side := range []int{200, 400} {
		img := imagework.Generate(side, side, 1)
		px := uint64(side * side)
		if got := allocated(func() { imagework.Blur(img, 3) }); got < 4*px || got > 6*px { // and the filter taps, per row and column
			t.Errorf("%dx%d: Blur allocated %d bytes, want about 4·W·H = %d", side, side, got, 4*px)
		}
		if got := allocated(func() { imagework.Resize(img, 0.5) }); got < 3*px || got > 4*px+px/2 {
			t.Errorf("%dx%d: Resize(0.5) allocated %d bytes, want about 4·W·H·(1/2+1/4) = %d", side, side, got, 3*px)
		}
	}
}

func TestRunServicesInAnyOrder(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jpg")
	if _, err := imagework.WriteInput(in, imagework.Generate(120, 80, 3), imagework.JPEG); err != nil {
		t.Fatal(err)
	}
	steps := []imagework.Job{
		{Service: imagework.BlurService, In: in, Out: filepath.Join(dir, "1.raw"), Radius: 2},
		{Service: imagework.ResizeService, In: filepath.Join(dir, "1.raw"), Out: filepath.Join(dir, "2.raw"), Scale: 0.5},
		{Service: imagework.DecodeService, In: filepath.Join(dir, "2.raw"), Out: filepath.Join(dir, "3.raw")},
		{Service: imagework.EncodeService, In: filepath.Join(dir, "3.raw"), Out: filepath.Join(dir, "out.png")},
	}
	for _, j := range steps {
		if err := imagework.Run(j); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(filepath.Join(dir, "out.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, format, err := imagework.Decode(f)
	if err != nil || format != imagework.PNG || img.Rect.Dx() != 60 || img.Rect.Dy() != 40 {
		t.Fatalf("result: %v %s %v", img.Rect, format, err)
	}
	if err := imagework.Run(imagework.Job{Service: "sharpen", In: in, Out: "x"}); err == nil {
		t.Error("unknown service ran")
	}
	if err := imagework.Run(imagework.Job{Service: imagework.EncodeService, In: in, Out: filepath.Join(dir, "out.bmp")}); err == nil {
		t.Error("encode to an unknown extension ran")
	}
}

// TestCommand runs a service as a process of its own, as a task's runner
// does, and checks it held until told to exit.
func TestCommand(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.png")
	if _, err := imagework.WriteInput(in, imagework.Generate(64, 64, 1), imagework.PNG); err != nil {
		t.Fatal(err)
	}
	cmd, err := imagework.Command("", imagework.Job{Service: imagework.DecodeService, In: in, Out: filepath.Join(dir, "d.raw")})
	if err != nil {
		t.Fatal(err)
	}
	cmd.Env = append(cmd.Environ(), imagework.HoldEnv+"=1")
	cmd.Stdin = bytes.NewReader(nil)
	out, err := cmd.Output()
	if err != nil || string(out) != imagework.DoneLine {
		t.Fatalf("service said %q, %v", out, err)
	}
	if st, err := os.Stat(filepath.Join(dir, "d.raw")); err != nil || st.Size() != 8+8+64*64*4 {
		t.Fatalf("output: %v %v", st, err)
	}
	if _, err := imagework.ParseJob(imagework.BlurService, []string{"-in", "a"}, &bytes.Buffer{}); err == nil {
		t.Error("a job without -out parsed")
	}
	j, err := imagework.ParseJob(imagework.BlurService, []string{"-in", "a", "-out", "b", "-radius", "7"}, &bytes.Buffer{})
	if err != nil || j.Radius != 7 {
		t.Errorf("parsed %+v, %v", j, err)
	}
}
