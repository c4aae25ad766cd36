// Package packaging holds no code: its tests check the Debian packages
// that `make deb` builds from packaging/deb (packaging/deb_test.go).
package packaging
