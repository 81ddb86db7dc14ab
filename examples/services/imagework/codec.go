package imagework

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"image/png"
	"io"
	"os"
)

// Formats an image file may be in.
const (
	PNG  = "png"
	JPEG = "jpeg"
	Raw  = "raw" // uncompressed RGBA: rawMagic, width and height (uint32, big-endian), then the rows
)

const rawMagic = "RGBARAW1"

// maxPixels bounds the images read (1 Gi pixels, 4 GiB of RGBA), so that a
// corrupt header cannot ask for more memory than a machine has.
const maxPixels = 1 << 30

// ErrFormat is matched by the error Decode returns for a file in none of
// the formats, or one whose header is damaged.
var ErrFormat = errors.New("imagework: unknown or damaged image format")

// Format names the format of a file from its first bytes: PNG, JPEG, Raw,
// or "" if none.
func Format(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return PNG
	case bytes.HasPrefix(head, []byte{0xff, 0xd8}):
		return JPEG
	case bytes.HasPrefix(head, []byte(rawMagic)):
		return Raw
	}
	return ""
}

// Decode reads an image in any of the formats and returns it as RGBA,
// with its bounds starting at (0, 0), and the format it was in.
func Decode(r io.Reader) (*image.RGBA, string, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(len(rawMagic))
	format := Format(head)
	var img image.Image
	var err error
	switch format {
	case Raw:
		rgba, err := readRaw(br)
		return rgba, format, err
	case PNG:
		img, err = png.Decode(br)
	case JPEG:
		img, err = jpeg.Decode(br)
	default:
		return nil, "", fmt.Errorf("%w: starts with %q", ErrFormat, head)
	}
	if err != nil {
		return nil, format, fmt.Errorf("imagework: decode %s: %w", format, err)
	}
	if rgba, ok := img.(*image.RGBA); ok && rgba.Rect.Min == (image.Point{}) {
		return rgba, format, nil
	}
	// A JPEG decodes to YCbCr planes, a PNG with transparency to NRGBA:
	// converted, both are held until the conversion ends.
	b := img.Bounds()
	rgba := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(rgba, rgba.Rect, img, b.Min, draw.Src)
	return rgba, format, nil
}

func readRaw(r io.Reader) (*image.RGBA, error) {
	var h struct {
		Magic [len(rawMagic)]byte
		W, H  uint32
	}
	if err := binary.Read(r, binary.BigEndian, &h); err != nil {
		return nil, fmt.Errorf("%w: raw header: %v", ErrFormat, err)
	}
	if h.W == 0 || h.H == 0 || uint64(h.W)*uint64(h.H) > maxPixels {
		return nil, fmt.Errorf("%w: raw image of %dx%d", ErrFormat, h.W, h.H)
	}
	img := image.NewRGBA(image.Rect(0, 0, int(h.W), int(h.H)))
	if _, err := io.ReadFull(r, img.Pix); err != nil {
		return nil, fmt.Errorf("imagework: raw %dx%d: %w", h.W, h.H, err)
	}
	return img, nil
}

// Encode writes img in format: PNG at the default compression, JPEG at
// quality 85, or Raw.
func Encode(w io.Writer, img *image.RGBA, format string) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var err error
	switch format {
	case PNG:
		err = png.Encode(bw, img)
	case JPEG:
		err = jpeg.Encode(bw, img, &jpeg.Options{Quality: 85})
	case Raw:
		err = writeRaw(bw, img)
	default:
		return fmt.Errorf("imagework: encode: unknown format %q (want png, jpeg or raw)", format)
	}
	if err != nil {
		return fmt.Errorf("imagework: encode %s: %w", format, err)
	}
	return bw.Flush()
}

func writeRaw(w io.Writer, img *image.RGBA) error {
	b := img.Rect
	hdr := make([]byte, 0, len(rawMagic)+8)
	hdr = append(hdr, rawMagic...)
	hdr = binary.BigEndian.AppendUint32(hdr, uint32(b.Dx()))
	hdr = binary.BigEndian.AppendUint32(hdr, uint32(b.Dy()))
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		i := img.PixOffset(b.Min.X, y)
		if _, err := w.Write(img.Pix[i : i+4*b.Dx()]); err != nil {
			return err
		}
	}
	return nil
}

// WriteInput writes img to path as a task's input: PNG at the fastest
// compression (the input is made for the task, not measured) or JPEG at
// quality 85. It returns the file's size in bytes.
func WriteInput(path string, img *image.RGBA, format string) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, fmt.Errorf("imagework: %w", err)
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	switch format {
	case PNG:
		err = (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(bw, img)
	case JPEG:
		err = jpeg.Encode(bw, img, &jpeg.Options{Quality: 85})
	default:
		err = fmt.Errorf("unknown input format %q (want png or jpeg)", format)
	}
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("imagework: input %s: %w", path, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return 0, fmt.Errorf("imagework: %w", err)
	}
	return st.Size(), nil
}
