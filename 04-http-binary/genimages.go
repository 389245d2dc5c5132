//go:build ignore

// genimages draws the two pictures the lesson serves, so that every byte
// of the site is made here: go generate, in the lesson's folder
package main

import (
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"log"
	"math"
	"os"
)

func main() {
	write("site/ice-caps.jpg", iceCaps(480, 320), func(f *os.File, m image.Image) error {
		return jpeg.Encode(f, m, &jpeg.Options{Quality: 85})
	})
	write("site/bytes.png", byteGrid(256, 256), func(f *os.File, m image.Image) error {
		return png.Encode(f, m)
	})
}

func write(name string, m image.Image, encode func(*os.File, image.Image) error) {
	f, err := os.Create(name)
	if err != nil {
		log.Fatal(err)
	}
	if err := encode(f, m); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}

// iceCaps is a polar scene: a sky, a sea, and white caps of ice on it.
func iceCaps(w, h int) image.Image {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	horizon := h * 2 / 5
	for y := range h {
		for x := range w {
			var c color.RGBA
			if y < horizon {
				t := float64(y) / float64(horizon)
				c = color.RGBA{uint8(90 + 110*t), uint8(140 + 90*t), 235, 255}
			} else {
				t := float64(y-horizon) / float64(h-horizon)
				wave := 12 * math.Sin(float64(x)/17+float64(y)/5)
				c = color.RGBA{uint8(10 + 20*t), uint8(60 + 50*t + wave), uint8(120 + 60*t + wave), 255}
			}
			for _, cap := range [][3]float64{{0.2, 0.55, 0.13}, {0.55, 0.7, 0.2}, {0.85, 0.5, 0.09}} {
				cx, cy, r := cap[0]*float64(w), cap[1]*float64(h), cap[2]*float64(w)
				dx, dy := (float64(x)-cx)/r, (float64(y)-cy)/(r*0.35)
				if dx*dx+dy*dy < 1 && float64(y) < cy+r*0.12 {
					shade := uint8(225 + 30*(1-dx*dx))
					c = color.RGBA{shade, shade, 255, 255}
				}
			}
			m.SetRGBA(x, y, c)
		}
	}
	return m
}

// byteGrid shows all 256 byte values as a 16×16 grid of squares whose
// grey level is the byte: a PNG is nothing but bytes, and so is this.
func byteGrid(w, h int) image.Image {
	m := image.NewPaletted(image.Rect(0, 0, w, h), grays())
	for y := range h {
		for x := range w {
			v := uint8(y/(h/16)*16 + x/(w/16))
			if x%(w/16) == 0 || y%(h/16) == 0 {
				v = 0x80
			}
			m.SetColorIndex(x, y, v)
		}
	}
	return m
}

func grays() color.Palette {
	p := make(color.Palette, 256)
	for i := range p {
		p[i] = color.Gray{uint8(i)}
	}
	return p
}
