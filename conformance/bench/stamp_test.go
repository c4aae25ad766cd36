package main

import (
	"bytes"
	"image"
	"image/jpeg"
	"testing"
	"time"

	"github.com/bmcd/bmcd/kvm/video/videotest"
)

func TestStampSurvivesJPEG(t *testing.T) {
	now := time.Unix(1767225600, 123456000)
	for _, tc := range []struct {
		name    string
		quality int
		t       time.Time
	}{
		{"quality 80", 80, now},
		{"quality 30", 30, now.Add(time.Microsecond)},
		{"quality 95", 95, now.Add(3 * time.Hour)},
		{"all ones", 80, time.UnixMicro(stampMask)},
		{"zero", 80, time.UnixMicro(0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := videotest.Screen(1920, 1080, 1)
			drawStamp(m, tc.t)
			var buf bytes.Buffer
			if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: tc.quality}); err != nil {
				t.Fatal(err)
			}
			want := uint64(tc.t.UnixMicro()) & stampMask
			got, err := jpegStamp(buf.Bytes())
			if err != nil || got != want {
				t.Fatalf("jpegStamp = %d, %v; want %d", got, err, want)
			}
			full, err := jpeg.Decode(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if got, err := readStamp(full); err != nil || got != want {
				t.Fatalf("readStamp(whole picture) = %d, %v; want %d", got, err, want)
			}
			if lat := stampLatency(tc.t.Add(7*time.Millisecond), got); lat != 7*time.Millisecond {
				t.Errorf("stampLatency = %v, want 7ms", lat)
			}
		})
	}
}

func TestStampRefusesGarbage(t *testing.T) {
	if _, err := readStamp(videotest.Screen(1920, 1080, 2)); err == nil {
		t.Error("readStamp of an unstamped screen: no error")
	}
	if _, err := readStamp(image.NewRGBA(image.Rect(0, 0, 100, 10))); err == nil {
		t.Error("readStamp of a small picture: no error")
	}
	if _, err := jpegStamp([]byte{0xFF, 0xD8, 0x00, 0x00}); err == nil {
		t.Error("jpegStamp of garbage: no error")
	}
}
