# Switchboard — build, test and demo on Debian 12 (run as root, or with sudo
# available for `make deps`). Every target installs what it needs first.

SHELL := /bin/bash
GO    ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
export PATH := $(dir $(GO)):$(PATH)
export CGO_ENABLED := 1

# Debian packages the build, the lab and the tests need.
DEB_PACKAGES := gcc pkg-config portaudio19-dev libopus-dev libopusfile-dev \
	libasound2-plugins alsa-utils \
	kamailio kamailio-sqlite-modules kamailio-presence-modules kamailio-tls-modules \
	baresip-core sip-tester sox openssl ca-certificates \
	chromium libnss3-tools fonts-wqy-microhei \
	xvfb xauth libgl1-mesa-dev xorg-dev libxkbcommon-dev gnome-keyring dbus \
	xdotool imagemagick xclip xdg-utils desktop-file-utils dex

BIN        := bin/switchboard
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# -p 1: one package at a time; several Chromium, fyne and lab stacks at once
# on two cores make media and Dynamics writes arrive late.
TEST_FLAGS ?= -race -count=1 -p 1 -timeout 25m

.PHONY: all deps build test demo bench lint fmt screenshots clean

all: build

# deps installs the missing Debian packages: one `apt-get update`, then one
# install, and nothing at all when everything is already there.
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $$missing; \
	fi

build: deps
	$(GO) build -o $(BIN) ./cmd/switchboard

test: deps
	$(GO) vet ./...
	$(GO) test $(TEST_FLAGS) ./...
	# Tests kept out of the race pass (see each file's build tag comment).
	$(GO) test -count=1 -timeout 5m -run 'EarlyMedia' ./app/

lint: deps
	@out=$$(gofmt -l $$(git ls-files '*.go')); [ -z "$$out" ] || { echo "gofmt needed:"; echo "$$out"; exit 1; }
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

# demo brings up the lab (Kamailio and baresip bots) and the app registered
# to it, then prints what happens. Ctrl-C stops everything.
demo: build
	$(GO) run ./cmd/switchboard-lab demo --app $(BIN)

bench: build
	$(GO) test -run XXX -bench . -benchtime 200x ./audio/... ./app/store/ ./localhost/ 2>&1 | grep -E "^(Benchmark|ok|FAIL)"
	$(GO) run ./cmd/switchboard-lab bench --app $(BIN)
	@echo "The tray app (Xvfb, software GL), signed in and idle:"
	$(GO) test -run XXX -bench Desktop -benchtime 1x ./ui/desktop/ 2>&1 | grep -E "^(Benchmark|ok|FAIL)"
	@echo "Screen pop in the real app (50 calls, Dynamics search excluded):"
	$(GO) test -run XXX -bench CRMScreenPop -benchtime 1x ./cmd/switchboard-lab/ 2>&1 | grep -E "^(Benchmark|ok|FAIL)"

screenshots: build
	SWITCHBOARD_SCREENSHOTS=$(CURDIR)/screenshots $(GO) test -count=1 -run Screenshots ./localhost/...

clean:
	rm -rf bin screenshots
