#!/bin/sh
# Prints the environment vmlive hands to every hook, so image authors can see
# what they may use. Harmless in any image: it only reads.
#
#   VMLIVE_IMAGE        image name (its folder under images/)
#   VMLIVE_SUITE        Debian suite, e.g. bookworm
#   VMLIVE_ARCH         Debian architecture, e.g. amd64
#   VMLIVE_HOOK         this hook's path as written in image.yaml
#   VMLIVE_WHERE        chroot (inside the image) or builder (outside it)
#   VMLIVE_ROOTFS       the image's root filesystem: / in the chroot, its path in the builder
#   VMLIVE_CONFIG_JSON  path of the resolved image config as JSON (read it with jq or python3)
#   plus every variable from the image's `env:` section.
set -eu
echo "vmlive hook environment:"
for v in VMLIVE_IMAGE VMLIVE_SUITE VMLIVE_ARCH VMLIVE_HOOK VMLIVE_WHERE VMLIVE_ROOTFS VMLIVE_CONFIG_JSON; do
  eval "val=\${$v-<unset>}"
  printf '  %s=%s\n' "$v" "$val"
done
if [ -r "${VMLIVE_CONFIG_JSON:-/nonexistent}" ]; then
  echo "  config: $(wc -c < "$VMLIVE_CONFIG_JSON") bytes of JSON"
fi
echo "  running as $(id -un) in $(pwd), $(. /etc/os-release && echo "$PRETTY_NAME") on $(uname -m)"
