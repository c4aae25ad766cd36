# bmcd: `make run` serves the simulated default, `make test` runs every test.

GO        ?= go
STATE_DIR ?= .state
RUN_ARGS  ?= -redfish-addr 127.0.0.1:8443 -ipmi-addr 127.0.0.1:6230
BIN       := bin/bmcd
# govmomi's vCenter simulator as a process, for the vSphere suites and bench.
VCSIM     := bin/vcsim

# Debian packages the conformance suites and benchmarks drive bmcd with,
# and the arm64 C cross compiler `make deb` links HDMI capture (cgo) with.
# python3-ironic (OpenStack Ironic 21.4, TestIronic) is the heaviest: about
# 150 packages, 135 MiB installed (300 MB with its byte-compiled modules),
# 40 s to download and set up.
DEB_PACKAGES := python3-sushy redfishtool wrk python3-requests ipmitool freeipmi-tools python3-pyghmi curl \
	libturbojpeg0-dev vncsnapshot tigervnc-viewer xvfb xauth xdotool chromium \
	python3-ironic \
	qemu-system-x86 ovmf seabios ipxe-qemu qemu-utils grub-common grub-pc-bin grub-efi-amd64-bin xorriso mtools \
	libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients \
	busybox-static gcc-aarch64-linux-gnu libc6-dev-arm64-cross

# The web console's browser libraries (npm, exact versions in
# kvm/web/package-lock.json), copied into the embedded kvm/web/static/vendor;
# the browser suite's driver (conformance/browser: playwright-core).
NPM       ?= npm
WEB_DIR   := kvm/web
VENDOR    := $(WEB_DIR)/static/vendor
BROWSER   := conformance/browser

.PHONY: all build run test unit conformance deps lint bench fuzz clean web vcsim kernel cross deb

all: build

build: web
	$(GO) build -o $(BIN) ./cmd/bmcd

# cross builds bmcd for the boards (static, CGO_ENABLED=0): bin/bmcd-linux-arm64
# (Raspberry Pi 4/5, 64-bit OS) and bin/bmcd-linux-armv7 (32-bit Raspberry Pi
# OS). `GOOS=linux GOARCH=arm64 make build` works too (into bin/bmcd).
cross: web
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -o bin/bmcd-linux-arm64 ./cmd/bmcd
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7 $(GO) build -trimpath -o bin/bmcd-linux-armv7 ./cmd/bmcd

# deb builds bin/bmcd_<version>_<arch>.deb (dpkg-deb only, no debhelper;
# packaging/deb/build.sh) for each of DEB_ARCHS: the host's Debian
# architecture (Go's GOARCH, arm as armhf) and, by default, amd64 and arm64.
# `make deb DEB_ARCHS=armhf` builds one. packaging/deb_test.go checks them.
DEB_ARCH  ?= $(shell a=$$($(GO) env GOARCH); [ "$$a" = arm ] && a=armhf; echo $$a)
DEB_ARCHS ?= $(sort $(DEB_ARCH) amd64 arm64)
deb: deps web
	@for a in $(DEB_ARCHS); do GO="$(GO)" packaging/deb/build.sh $$a bin || exit 1; done

# web installs the console's npm packages and copies what the pages load
# into $(VENDOR), which go:embed puts in the binary. Without npm it says so
# and bmcd builds without them (MJPEG view, plain serial pane).
web: $(VENDOR)/.stamp

$(VENDOR)/.stamp: $(WEB_DIR)/package.json $(WEB_DIR)/package-lock.json
	@if ! command -v $(NPM) >/dev/null; then \
		echo "npm not found: the console is built without noVNC and xterm.js (make deps installs npm)"; exit 0; fi; \
	set -e; cd $(WEB_DIR) && $(NPM) ci --no-audit --no-fund --loglevel=error; cd - >/dev/null; \
	rm -rf $(VENDOR)/novnc $(VENDOR)/xterm; mkdir -p $(VENDOR)/novnc $(VENDOR)/xterm; \
	cp -R $(WEB_DIR)/node_modules/@novnc/novnc/core $(WEB_DIR)/node_modules/@novnc/novnc/vendor \
		$(WEB_DIR)/node_modules/@novnc/novnc/LICENSE.txt $(VENDOR)/novnc/; \
	cp $(WEB_DIR)/node_modules/@xterm/xterm/lib/xterm.mjs $(WEB_DIR)/node_modules/@xterm/xterm/css/xterm.css \
		$(WEB_DIR)/node_modules/@xterm/xterm/LICENSE $(VENDOR)/xterm/; \
	cp $(WEB_DIR)/node_modules/@xterm/addon-fit/lib/addon-fit.mjs $(VENDOR)/xterm/; \
	touch $@

run: web
	$(GO) run ./cmd/bmcd -state-dir $(STATE_DIR) $(RUN_ARGS)

# vcsim builds govmomi's simulator (the govmomi of go.mod) as a process
# into bin/: `go install github.com/vmware/govmomi/vcsim@v0.56.0` cannot
# build it (its module replaces govmomi with ../), so
# hardware/vsphere/vcsim is the same simulator with the flags the tests use.
vcsim: $(VCSIM)

$(VCSIM): go.mod go.sum hardware/vsphere/vcsim/main.go
	$(GO) build -o $@ ./hardware/vsphere/vcsim

# kernel downloads Debian's kernel package (linux-image-amd64's image)
# into bin/kernel for the board VM suite (conformance/board_vm_test.go),
# which unpacks it there: it is never installed on this machine.
KERNEL_DIR := bin/kernel
kernel: $(KERNEL_DIR)/.stamp

$(KERNEL_DIR)/.stamp:
	@mkdir -p $(KERNEL_DIR)
	@pkg=$$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $$2; exit}'); \
	if [ -z "$$pkg" ]; then echo "linux-image-amd64 not found by apt-cache: the board VM suite will skip"; exit 0; fi; \
	cd $(KERNEL_DIR) && apt-get -o APT::Sandbox::User=root download -qq $$pkg && touch .stamp

# deps installs the real clients the tests use, when missing.
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
		dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@if ! command -v $(NPM) >/dev/null; then \
		echo "installing: nodejs npm"; SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null; fi
	@$(MAKE) --no-print-directory $(BROWSER)/node_modules/.package-lock.json

# The browser suite's driver, when its lock changed.
$(BROWSER)/node_modules/.package-lock.json: $(BROWSER)/package.json $(BROWSER)/package-lock.json
	cd $(BROWSER) && $(NPM) ci --no-audit --no-fund --loglevel=error

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# The default build is pure Go (CGO_ENABLED=0 works); kvm/video is tested
# again with its TurboJPEG encoder (cgo, libturbojpeg0-dev).
test: deps kernel lint web vcsim
	$(GO) test -race -timeout 10m ./...
	$(GO) vet -tags turbojpeg ./kvm/video/
	$(GO) test -race -tags turbojpeg ./kvm/video/

unit: lint
	$(GO) test -race -short ./...

conformance: deps kernel web vcsim
	$(GO) test -race -timeout 10m -v ./conformance/

bench: deps vcsim
	$(GO) test -run '^$$' -bench . -benchmem ./redfish/ ./hardware/... ./kvm/rfb/
	$(GO) test -run '^$$' -bench . -benchmem -tags turbojpeg ./kvm/video/
	$(GO) run ./conformance/bench
	$(GO) test -run '^$$' -bench BenchmarkLab -benchtime 1x ./conformance/

# fuzz runs each fuzz target for FUZZTIME; the seed corpora under
# testdata/fuzz run as ordinary tests in `make test`.
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; done

clean:
	rm -rf bin $(WEB_DIR)/node_modules $(BROWSER)/node_modules
	find $(VENDOR) -mindepth 1 ! -name README.md -delete
