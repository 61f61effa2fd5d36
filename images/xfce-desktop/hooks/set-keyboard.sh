#!/bin/sh
# Sets the console and X keyboard layout from the image's env: section
# (KEYBOARD_LAYOUT). vmlive itself sets the locale and time zone.
set -eu
cat > /etc/default/keyboard <<EOT
XKBMODEL="pc105"
XKBLAYOUT="${KEYBOARD_LAYOUT:-us}"
XKBVARIANT=""
XKBOPTIONS=""
BACKSPACE="guess"
EOT
echo "keyboard layout: ${KEYBOARD_LAYOUT:-us}"
