package imagework

import (
	"fmt"
	"image"
	"math"
)

// Resize returns src scaled by scale (0.5 halves each side), at least one
// pixel each way, resampled with a separable triangle filter widened by
// 1/scale when shrinking, so that every source pixel counts (no aliasing
// from skipped pixels). It allocates an intermediate image of the new
// width and the old height beside the result.
func Resize(src *image.RGBA, scale float64) *image.RGBA {
	if !(scale > 0) || math.IsInf(scale, 0) {
		panic(fmt.Sprintf("imagework: Resize by %v", scale))
	}
	w, h := src.Rect.Dx(), src.Rect.Dy()
	dw, dh := max(1, int(math.Round(float64(w)*scale))), max(1, int(math.Round(float64(h)*scale)))
	tmp := image.NewRGBA(image.Rect(0, 0, dw, h))
	horizontal(tmp, src, triangle(w, dw))
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	vertical(dst, tmp, triangle(h, dh))
	return dst
}

// Blur blurs img in place with a Gaussian of standard deviation radius/2,
// cut off at radius pixels, applied along rows into a second buffer of the
// image's size and then along columns back into img. Edges repeat the
// border pixels. A radius below 1 leaves img as it is.
func Blur(img *image.RGBA, radius int) {
	if radius < 1 {
		return
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	tmp := image.NewRGBA(image.Rect(0, 0, w, h))
	horizontal(tmp, img, gaussian(w, radius))
	vertical(img, tmp, gaussian(h, radius))
}

// taps are the weights of the source pixels that make one output pixel:
// source index first+i has weight w[i]; the weights add up to one
// (fixedOne).
type taps struct {
	first int
	w     []int32
}

const fixedBits = 14
const fixedOne = 1 << fixedBits

// fixed turns real weights into fixed-point ones that add up to fixedOne
// exactly (the rounding error goes to the largest).
func fixed(first int, ws []float64) taps {
	var sum float64
	for _, v := range ws {
		sum += v
	}
	t := taps{first: first, w: make([]int32, len(ws))}
	var total int32
	big := 0
	for i, v := range ws {
		t.w[i] = int32(math.Round(v / sum * fixedOne))
		total += t.w[i]
		if t.w[i] > t.w[big] {
			big = i
		}
	}
	t.w[big] += fixedOne - total
	return t
}

// triangle returns the taps that resample n source pixels into m.
func triangle(n, m int) []taps {
	scale := float64(m) / float64(n)
	support := max(1, 1/scale)
	out := make([]taps, m)
	for i := range out {
		center := (float64(i)+0.5)/scale - 0.5
		lo := max(0, int(math.Ceil(center-support)))
		hi := min(n-1, int(math.Floor(center+support)))
		if lo > hi { // only when shrinking to a single pixel from the edge
			lo, hi = min(lo, n-1), min(lo, n-1)
		}
		ws := make([]float64, hi-lo+1)
		for j := range ws {
			ws[j] = max(0, 1-math.Abs(float64(lo+j)-center)/support)
		}
		if allZero(ws) {
			ws[0] = 1
		}
		out[i] = fixed(lo, ws)
	}
	return out
}

func allZero(ws []float64) bool {
	for _, v := range ws {
		if v != 0 {
			return false
		}
	}
	return true
}

// gaussian returns the taps of a Gaussian blur of n pixels, the border
// pixels repeated past the edges (folded into the border's weight).
func gaussian(n, radius int) []taps {
	sigma := float64(radius) / 2
	kernel := make([]float64, 2*radius+1)
	for i := range kernel {
		d := float64(i - radius)
		kernel[i] = math.Exp(-d * d / (2 * sigma * sigma))
	}
	out := make([]taps, n)
	for i := range out {
		lo, hi := max(0, i-radius), min(n-1, i+radius)
		ws := make([]float64, hi-lo+1)
		for k, v := range kernel {
			j := min(max(i-radius+k, 0), n-1)
			ws[j-lo] += v
		}
		out[i] = fixed(lo, ws)
	}
	return out
}

// horizontal sets each row of dst from the same row of src through the
// taps of dst's columns.
func horizontal(dst, src *image.RGBA, cols []taps) {
	h := dst.Rect.Dy()
	for y := range h {
		s := src.Pix[y*src.Stride:]
		d := dst.Pix[y*dst.Stride:]
		for x, t := range cols {
			var r, g, b, a int32
			p := 4 * t.first
			for _, wt := range t.w {
				r += wt * int32(s[p])
				g += wt * int32(s[p+1])
				b += wt * int32(s[p+2])
				a += wt * int32(s[p+3])
				p += 4
			}
			q := 4 * x
			d[q], d[q+1], d[q+2], d[q+3] = round8(r), round8(g), round8(b), round8(a)
		}
	}
}

// vertical sets each row of dst from the rows of src its taps name, a
// whole row at a time (the cache-friendly order).
func vertical(dst, src *image.RGBA, rows []taps) {
	n := 4 * dst.Rect.Dx()
	acc := make([]int32, n)
	for y, t := range rows {
		clear(acc)
		for k, wt := range t.w {
			s := src.Pix[(t.first+k)*src.Stride:][:n]
			for i, v := range s {
				acc[i] += wt * int32(v)
			}
		}
		d := dst.Pix[y*dst.Stride:][:n]
		for i, v := range acc {
			d[i] = round8(v)
		}
	}
}

func round8(v int32) uint8 {
	v = (v + fixedOne/2) >> fixedBits
	return uint8(min(max(v, 0), 255))
}
