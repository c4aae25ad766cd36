# bmcd: `make run` serves the simulated default, `make test` runs every test.

GO        ?= go
STATE_DIR ?= .state
RUN_ARGS  ?= -redfish-addr 127.0.0.1:8443 -ipmi-addr 127.0.0.1:6230
BIN       := bin/bmcd

# Debian packages the conformance suites and benchmarks drive bmcd with.
DEB_PACKAGES := python3-sushy redfishtool wrk python3-requests ipmitool freeipmi-tools python3-pyghmi curl \
	libturbojpeg0-dev vncsnapshot tigervnc-viewer xvfb xauth xdotool

.PHONY: all build run test unit conformance deps lint bench fuzz clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/bmcd

run:
	$(GO) run ./cmd/bmcd -state-dir $(STATE_DIR) $(RUN_ARGS)

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

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# The default build is pure Go (CGO_ENABLED=0 works); kvm/video is tested
# again with its TurboJPEG encoder (cgo, libturbojpeg0-dev).
test: deps lint
	$(GO) test -race -timeout 10m ./...
	$(GO) vet -tags turbojpeg ./kvm/video/
	$(GO) test -race -tags turbojpeg ./kvm/video/

unit: lint
	$(GO) test -race -short ./...

conformance: deps
	$(GO) test -race -timeout 10m -v ./conformance/

bench: deps
	$(GO) test -run '^$$' -bench . -benchmem ./redfish/ ./hardware/... ./kvm/rfb/
	$(GO) test -run '^$$' -bench . -benchmem -tags turbojpeg ./kvm/video/
	$(GO) run ./conformance/bench

# fuzz runs each fuzz target for FUZZTIME; the seed corpora under
# testdata/fuzz run as ordinary tests in `make test`.
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; done

clean:
	rm -rf bin
