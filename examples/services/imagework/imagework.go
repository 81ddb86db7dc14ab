// Package imagework is the work of the example image pipeline's services:
// decode, resize, blur and encode. Each service is a program of its own
// (examples/services/<name>) that reads one image file and writes another;
// the work itself is here, so that it is tested.
//
// The work is real and its cost depends on the image, as a scheduler
// would meet it:
//
//	decode  PNG or JPEG → RGBA: holds the whole 4·W·H image (a JPEG also
//	        its 1.5·W·H YCbCr planes while converting)
//	resize  a separable triangle filter, widened when shrinking: holds the
//	        source, one intermediate of the new width and the result
//	blur    a separable Gaussian: holds the image and a second buffer of
//	        the same size; CPU grows with W·H·radius
//	encode  RGBA → PNG (deflate) or JPEG
//
// Services pass images to each other in [Raw] form — uncompressed RGBA
// with a small header — so that only decode pays for decompression and
// only encode for compression. Every service reads any of PNG, JPEG and
// raw, so a task may apply them in any order.
package imagework

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"
)

// Generate returns a w×h opaque image that compresses like a photograph
// rather than like noise or a flat colour: smooth gradients and waves, a
// few hard-edged shapes and grain. The same seed gives the same image;
// the grain's strength varies with the seed, so files of one size differ
// in bytes as photographs do.
func Generate(w, h int, seed uint64) *image.RGBA {
	if w <= 0 || h <= 0 {
		panic(fmt.Sprintf("imagework: Generate %dx%d", w, h))
	}
	r := rand.New(rand.NewPCG(seed, 0x696d616765))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	// Waves along each axis, precomputed per column and row.
	var fx, fy [3][]float64
	for c := range 3 {
		fx[c], fy[c] = make([]float64, w), make([]float64, h)
		kx, ky := (1+4*r.Float64())*2*math.Pi/float64(w), (1+4*r.Float64())*2*math.Pi/float64(h)
		px, py := 2*math.Pi*r.Float64(), 2*math.Pi*r.Float64()
		for x := range w {
			fx[c][x] = 60 * math.Sin(kx*float64(x)+px)
		}
		for y := range h {
			fy[c][y] = 60 * math.Cos(ky*float64(y)+py)
		}
	}
	type disc struct {
		cx, cy, r2 float64
		col        [3]float64
	}
	discs := make([]disc, 6)
	for i := range discs {
		rad := (0.05 + 0.15*r.Float64()) * float64(min(w, h))
		discs[i] = disc{r.Float64() * float64(w), r.Float64() * float64(h), rad * rad,
			[3]float64{r.Float64() * 255, r.Float64() * 255, r.Float64() * 255}}
	}
	grain := 2 + 14*r.Float64()
	noise := rand.New(rand.NewPCG(seed, 0x6e6f697365))
	for y := range h {
		row := img.Pix[y*img.Stride : y*img.Stride+4*w]
		for x := range w {
			var v [3]float64
			for c := range 3 {
				v[c] = 128 + fx[c][x] + fy[c][y]
			}
			for _, d := range discs {
				if dx, dy := float64(x)-d.cx, float64(y)-d.cy; dx*dx+dy*dy < d.r2 {
					v = d.col
				}
			}
			g := grain * (noise.Float64() - 0.5)
			for c := range 3 {
				row[4*x+c] = clamp8(v[c] + g)
			}
			row[4*x+3] = 0xff
		}
	}
	return img
}

func clamp8(v float64) uint8 {
	switch {
	case v <= 0:
		return 0
	case v >= 255:
		return 255
	}
	return uint8(v + 0.5)
}
