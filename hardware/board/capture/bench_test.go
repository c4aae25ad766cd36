package capture

import "testing"

// BenchmarkYUYV1080pConvert is the de-interleaving alone of a 1920x1080
// YUYV frame into 4:2:2 planes (the JPEG encode is in kvm/video's
// BenchmarkYUYV1080pToJPEG).
func BenchmarkYUYV1080pConvert(b *testing.B) {
	src := make([]byte, 1920*1080*2)
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := YUYVToYCbCr(src, 1920, 1080, 0); err != nil {
			b.Fatal(err)
		}
	}
}
