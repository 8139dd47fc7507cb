#!/usr/bin/env bash
# Installs what the project needs outside npm: WebGPU on CPU (Mesa lavapipe from
# bookworm-backports; Debian 12's own Mesa 22.3 is too old for Dawn) and pnpm 12.4.2.
# Idempotent: does nothing that is already done. Needs root for apt.
set -euo pipefail
PNPM_VERSION=12.4.2

have_lavapipe() {
  ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 &&
    dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | grep -qvE '^22\.'
}

if ! have_lavapipe; then
  if [ "$(id -u)" != 0 ]; then
    cat >&2 <<MSG
anllm setup: WebGPU needs a Vulkan driver. On a machine without a GPU that is Mesa's lavapipe
from bookworm-backports (Debian 12's own Mesa is too old for Dawn). Installing it needs root:
  sudo bash scripts/setup-system.sh
or do it by hand:
  printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' > /etc/apt/sources.list.d/backports.sources
  apt-get update && apt-get install -y -t bookworm-backports mesa-vulkan-drivers libvulkan1
On a machine with a real GPU and its Vulkan driver, you can skip this step.
MSG
    exit 1
  fi
  if [ -f /etc/debian_version ] && ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
    printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      >/etc/apt/sources.list.d/anllm-backports.sources
  fi
  echo "anllm setup: installing Mesa lavapipe (Vulkan on CPU) from bookworm-backports" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
fi

# Chromium for the docs site's browser test (apps/docs: Playwright drives Debian's chromium at
# /usr/bin/chromium; nothing downloads a browser of its own).
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" != 0 ]; then
    cat >&2 <<MSG
anllm setup: the docs' browser test (apps/docs) drives Debian's Chromium at /usr/bin/chromium.
Installing it needs root:
  sudo bash scripts/setup-system.sh
or do it by hand:
  sudo apt-get update && sudo apt-get install -y chromium
Playwright never downloads a browser here; without /usr/bin/chromium only the docs test fails.
MSG
    exit 1
  fi
  echo "anllm setup: installing Debian's chromium (docs browser test)" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

if ! command -v pnpm >/dev/null || [ "$(pnpm -v)" != "$PNPM_VERSION" ]; then
  echo "anllm setup: installing pnpm@$PNPM_VERSION" >&2
  npm i -g "pnpm@$PNPM_VERSION" >/dev/null
fi
