#!/usr/bin/env bash
# System packages the test suite needs: a real redis-server, espeak-ng to speak test audio.
set -euo pipefail
need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v espeak-ng >/dev/null || need+=(espeak-ng)
# Real video clips (Megamind.avi, vtest.avi) and LibriVox speech for the codec tests.
[ -f /usr/share/doc/opencv-doc/examples/data/Megamind.avi ] || need+=(opencv-doc)
[ -d /usr/share/pocketsphinx/test/data/librivox ] || need+=(pocketsphinx-testdata)
# A real specification (HTML) for the offline answerer's real-text test.
[ -d /usr/share/doc/shared-mime-info/shared-mime-info-spec.html ] || need+=(shared-mime-info)
# A real browser for the server's playground test (Playwright drives Debian's chromium).
command -v chromium >/dev/null || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
