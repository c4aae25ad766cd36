#!/bin/sh
# build.sh ARCH OUTDIR: bmcd's Debian package for the Debian architecture
# ARCH (amd64, arm64, armhf, i386), built with dpkg-deb alone (no
# debhelper), into OUTDIR/bmcd_<version>_<ARCH>.deb. Prints the path.
#
# The version is VERSION if set, else from `git describe --tags --always`:
# a tag v1.2.3 gives 1.2.3, 3 commits after it 1.2.3+git<date>.<hash>,
# no tag 0.0~git<date>.<hash> (<date> the commit's, so a rebuild of the
# same commit gives the same version). The binary is static, -trimpath,
# stripped, with that version (bmcd -version). It has HDMI capture (go4vl,
# cgo) when ARCH's C compiler is here (gcc for the host's architecture,
# else Debian's cross compiler: gcc-aarch64-linux-gnu with
# libc6-dev-arm64-cross, gcc-arm-linux-gnueabihf with
# libc6-dev-armhf-cross), linked statically with glibc; without one it is
# built with CGO_ENABLED=0 and says so: such a bmcd refuses a capture:
# block. CGO_ENABLED=0 in the environment forces the latter.
set -eu

arch=${1:?usage: build.sh ARCH OUTDIR}
out=${2:?usage: build.sh ARCH OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
GO=${GO:-go}

case "$arch" in
amd64) goarch=amd64 goarm= cross=x86_64-linux-gnu-gcc ;;
arm64) goarch=arm64 goarm= cross=aarch64-linux-gnu-gcc ;;
armhf) goarch=arm goarm=7 cross=arm-linux-gnueabihf-gcc ;;
i386) goarch=386 goarm= cross=i686-linux-gnu-gcc ;;
*) echo "build.sh: unknown Debian architecture $arch (amd64, arm64, armhf, i386)" >&2; exit 2 ;;
esac

version=${VERSION:-}
if [ -z "$version" ]; then
	desc=$(git -C "$root" describe --tags --always 2>/dev/null || echo unknown)
	date=$(git -C "$root" log -1 --format=%cd --date=format:%Y%m%d 2>/dev/null || date -u +%Y%m%d)
	hash=$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo 0)
	case "$desc" in
	v[0-9]*-[0-9]*-g*) version="$(echo "${desc#v}" | sed 's/-[0-9]*-g[0-9a-f]*$//')+git$date.$hash" ;;
	v[0-9]*) version=${desc#v} ;;
	[0-9]*-[0-9]*-g*) version="$(echo "$desc" | sed 's/-[0-9]*-g[0-9a-f]*$//')+git$date.$hash" ;;
	[0-9]*.*) version=$desc ;;
	*) version="0.0~git$date.$hash" ;;
	esac
fi
# Debian's version characters only (a tag's '-' or '_' becomes '~').
version=$(printf '%s' "$version" | tr -c 'A-Za-z0-9.+~\n' '~')
case "$version" in [0-9]*) ;; *) version="0.0~$version" ;; esac

# Reproducible: the files' times are the commit's.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
chmod 0755 "$stage"
mkdir -p "$stage/DEBIAN" "$stage/usr/bin" "$stage/lib/systemd/system" "$stage/etc/bmcd" "$out"

# The C compiler for ARCH: the host's gcc when it targets ARCH, else the
# cross compiler.
cc=
if [ "${CGO_ENABLED:-1}" != 0 ]; then
	if [ "$($GO env GOARCH)" = "$goarch" ] && command -v gcc >/dev/null; then
		cc=gcc
	elif command -v "$cross" >/dev/null; then
		cc=$cross
	fi
fi
if [ -n "$cc" ]; then
	(cd "$root" && CC=$cc CGO_ENABLED=1 GOOS=linux GOARCH=$goarch GOARM=$goarm \
		$GO build -trimpath -tags netgo,osusergo \
		-ldflags "-s -w -X main.version=$version -extldflags=-static" -o "$stage/usr/bin/bmcd" ./cmd/bmcd)
else
	echo "build.sh: no C compiler for $arch ($cross): bmcd_${arch} is built without HDMI capture" >&2
	(cd "$root" && CGO_ENABLED=0 GOOS=linux GOARCH=$goarch GOARM=$goarm \
		$GO build -trimpath -ldflags "-s -w -X main.version=$version" -o "$stage/usr/bin/bmcd" ./cmd/bmcd)
fi
install -m 0644 "$here/bmcd.service" "$stage/lib/systemd/system/bmcd.service"
install -m 0640 "$here/bmcd.yaml" "$stage/etc/bmcd/bmcd.yaml"
for s in postinst prerm postrm; do install -m 0755 "$here/$s" "$stage/DEBIAN/$s"; done
echo /etc/bmcd/bmcd.yaml >"$stage/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat >"$stage/DEBIAN/control" <<CONTROL
Package: bmcd
Version: $version
Architecture: $arch
Maintainer: bmcd maintainers <maintainers@users.noreply.github.com>
Installed-Size: $size
Section: admin
Priority: optional
Homepage: https://github.com/bmcd/bmcd
Description: baseboard management controller: Redfish, IPMI and KVM over IP
 bmcd is one static binary that serves Redfish over HTTPS and IPMI 2.0
 over LAN, and a web, VNC and MJPEG console, in front of a server wired to
 this board: its front panel's ATX pins (GPIO), Wake-on-LAN, and a USB
 gadget that is the server's keyboard, mouse and virtual CD-ROM, and an
 HDMI capture device that is its screen.
 Edit /etc/bmcd/bmcd.yaml, then: systemctl restart bmcd.
CONTROL
deb="$out/bmcd_${version}_${arch}.deb"
dpkg-deb --build --root-owner-group "$stage" "$deb" >/dev/null
echo "$deb"
