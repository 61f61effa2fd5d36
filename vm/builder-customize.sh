#!/bin/sh
# Turns a fresh mmdebstrap root into vmlive's builder VM image. vmlive runs it
# as mmdebstrap's --customize-hook with the root's path as $1.
#
# The builder is thrown away after every build and booted under TCG on hosts
# without KVM, so everything here serves a fast boot to SSH (about 8 s under
# TCG, against 54 s for a stock Debian system):
#  - a tiny busybox initrd that loads only the virtio, ext4 and fw_cfg modules;
#  - static slirp networking, no DHCP, no wait-online;
#  - udev and every timer, getty and optional mount masked;
#  - sshd started straight after network and keys, without PAM;
#  - SSH keys made on the host per VM and read from qemu's fw_cfg at boot,
#    so the cached image holds no host key and the host pins the one it made;
#  - a ready marker on the serial console, so the host connects once.
# It serves amd64 and arm64 builders alike; the root's own architecture (on an
# amd64 host, an arm64 root's programs run through qemu-user) picks the serial
# console qemu gives the guest: the PC's 16550 or the virt board's PL011.
set -eu
R=$1
KVER=$(basename "$(ls -d "$R"/lib/modules/* | head -1)")
ARCH=$(chroot "$R" dpkg --print-architecture)
case $ARCH in
  amd64) TTY=ttyS0 ;;
  arm64) TTY=ttyAMA0 ;;
  *) echo "builder-customize.sh: no builder for architecture $ARCH (amd64 and arm64 only)" >&2; exit 1 ;;
esac
# ---------------------------------------------------------------- identity / fstab / dns
echo vmlive-builder > "$R/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 vmlive-builder\n' > "$R/etc/hosts"
# A machine-id, so systemd skips first-boot work (ConditionFirstBoot, preset-all).
# Every VM of this image shares it; they never meet.
od -An -N16 -tx1 /dev/urandom | tr -d ' \n' > "$R/etc/machine-id"; echo >> "$R/etc/machine-id"
cat > "$R/etc/fstab" <<'F'
# / is mounted rw by the initramfs (root=/dev/vda rw): no fsck, no remount, no device wait.
# /work (label vmlivework, 2nd virtio disk) is mounted by vmlive-work.service (no udev needed).
F
mkdir -p "$R/work"
rm -f "$R/etc/resolv.conf"; echo 'nameserver 10.0.2.3' > "$R/etc/resolv.conf"
# ---------------------------------------------------------------- vmlive units
cat > "$R/usr/local/sbin/vmlive-net" <<'F'
#!/bin/sh
# static config for qemu user-mode networking (slirp): 10.0.2.15/24 gw 10.0.2.2 dns 10.0.2.3
[ -d /sys/module/virtio_net ] || modprobe virtio_net
i=0; while :; do
  IF=$(ls /sys/class/net | grep -v '^lo$' | head -1)
  [ -n "$IF" ] && break; i=$((i+1)); [ $i -gt 100 ] && exit 1; sleep 0.05
done
ip link set lo up
ip link set "$IF" up
ip addr add 10.0.2.15/24 dev "$IF"
ip route add default via 10.0.2.2
F
cat > "$R/usr/local/sbin/vmlive-seed" <<'F'
#!/bin/sh
# per-VM SSH host key + authorized_keys from qemu -fw_cfg name=opt/vmlive/...
set -eu
[ -d /sys/firmware/qemu_fw_cfg ] || modprobe qemu_fw_cfg
B=/sys/firmware/qemu_fw_cfg/by_name/opt/vmlive
install -m 600 $B/hostkey/raw /etc/ssh/ssh_host_ed25519_key
install -m 644 $B/hostkey.pub/raw /etc/ssh/ssh_host_ed25519_key.pub
install -d -m 700 /root/.ssh
install -m 600 $B/authorized_keys/raw /root/.ssh/authorized_keys
F
cat > "$R/usr/local/sbin/vmlive-work" <<'F'
#!/bin/sh
mount -o noatime LABEL=vmlivework /work 2>/dev/null || mount -o noatime /dev/vdb /work
F
chmod 755 "$R"/usr/local/sbin/vmlive-*
cat > "$R/etc/systemd/system/vmlive-net.service" <<'F'
[Unit]
Description=vmlive: static slirp network
DefaultDependencies=no
Wants=network.target
Before=network.target ssh.service
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/vmlive-net
[Install]
WantedBy=sysinit.target
F
cat > "$R/etc/systemd/system/vmlive-seed.service" <<'F'
[Unit]
Description=vmlive: per-VM SSH keys from fw_cfg
DefaultDependencies=no
Before=ssh.service
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/vmlive-seed
[Install]
WantedBy=sysinit.target
F
cat > "$R/etc/systemd/system/vmlive-work.service" <<'F'
[Unit]
Description=vmlive: mount work disk on /work
DefaultDependencies=no
Before=local-fs.target
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/vmlive-work
[Install]
WantedBy=local-fs.target
F
mkdir -p "$R/etc/systemd/system/sysinit.target.wants" "$R/etc/systemd/system/local-fs.target.wants"
ln -sf ../vmlive-net.service  "$R/etc/systemd/system/sysinit.target.wants/vmlive-net.service"
ln -sf ../vmlive-seed.service "$R/etc/systemd/system/sysinit.target.wants/vmlive-seed.service"
ln -sf ../vmlive-work.service "$R/etc/systemd/system/local-fs.target.wants/vmlive-work.service"
# ---------------------------------------------------------------- ssh
rm -f "$R"/etc/ssh/ssh_host_*
cat > "$R/etc/ssh/sshd_config.d/vmlive.conf" <<'F'
HostKey /etc/ssh/ssh_host_ed25519_key
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UseDNS no
UsePAM no
F
mkdir -p "$R/etc/systemd/system/ssh.service.d"
cat > "$R/etc/systemd/system/ssh.service.d/vmlive.conf" <<F
[Unit]
After=vmlive-seed.service
Wants=vmlive-seed.service
# start sshd as soon as keys + network are there, not after basic.target
DefaultDependencies=no
After=vmlive-net.service
Conflicts=shutdown.target
Before=shutdown.target
[Service]
# skip the 'sshd -t' config test (costs ~1 s under TCG)
ExecStartPre=
# readiness marker on the serial console: host waits for it, then connects once
ExecStartPost=-/bin/sh -c 'echo VMLIVE-SSHD-READY > /dev/$TTY'
F
# ---------------------------------------------------------------- masks
for u in e2scrub_reap.service e2scrub_all.timer apt-daily.timer apt-daily-upgrade.timer \
         dpkg-db-backup.timer fstrim.timer systemd-tmpfiles-clean.timer \
         systemd-networkd-wait-online.service getty@tty1.service systemd-pstore.service remote-fs.target \
         systemd-udevd.service systemd-udev-trigger.service systemd-udevd-control.socket systemd-udevd-kernel.socket \
         systemd-udev-settle.service serial-getty@$TTY.service getty-static.service \
         modprobe@dm_mod.service modprobe@fuse.service modprobe@configfs.service modprobe@drm.service \
         sys-kernel-debug.mount sys-kernel-tracing.mount dev-hugepages.mount dev-mqueue.mount \
         sys-fs-fuse-connections.mount sys-kernel-config.mount systemd-journal-flush.service \
         systemd-random-seed.service systemd-update-utmp.service systemd-update-utmp-runlevel.service; do
  ln -sf /dev/null "$R/etc/systemd/system/$u"
done
rm -f "$R/etc/systemd/system/getty.target.wants/getty@tty1.service" \
      "$R/etc/systemd/system/multi-user.target.wants/e2scrub_reap.service" \
      "$R/etc/systemd/system/timers.target.wants/"*
# ---------------------------------------------------------------- tiny busybox initramfs (uncompressed)
I=$R/tmp/vmlive-initrd; rm -rf "$I"; mkdir -p "$I/bin" "$I/dev" "$I/proc" "$I/root" "$I/mods"
cp "$R/bin/busybox" "$I/bin/busybox"
# The same modules serve the PC and the virt board: both get virtio PCI devices
# (virtio_pci is built into arm64's kernel, so modprobe lists no file for it),
# and qemu_fw_cfg finds the virt board's fw_cfg in its device tree. busybox
# insmod takes plain .ko files: trixie's kernels ship them xz-compressed.
n=0
for m in virtio_pci virtio_blk ext4 virtio_net qemu_fw_cfg; do
  chroot "$R" modprobe -S "$KVER" --show-depends "$m" | awk '$1=="insmod"{print $2}'
done | awk '!seen[$0]++' | while read -r ko; do
  n=$((n+1)); out=$I/mods/$(printf %02d $n)-$(basename "${ko%.ko*}").ko
  case $ko in
    *.ko) cp "$R$ko" "$out" ;;
    *.ko.xz) xz -dc "$R$ko" > "$out" ;;
    *.ko.zst) zstd -dcq "$R$ko" > "$out" ;;
    *.ko.gz) gzip -dc "$R$ko" > "$out" ;;
    *) echo "builder-customize.sh: $ko: a module compression busybox insmod cannot take" >&2; exit 1 ;;
  esac
done
cat > "$I/init" <<'F'
#!/bin/busybox sh
/bin/busybox mount -t devtmpfs dev /dev
/bin/busybox mount -t proc proc /proc
for m in /mods/*.ko; do /bin/busybox insmod "$m" 2>/dev/null; done
root=/dev/vda
for a in $(/bin/busybox cat /proc/cmdline); do case $a in root=*) root=${a#root=};; esac; done
i=0; while [ ! -b "$root" ] && [ $i -lt 200 ]; do /bin/busybox usleep 20000; i=$((i+1)); done
/bin/busybox mount -t ext4 -o rw,noatime "$root" /root || { echo "vmlive initrd: cannot mount $root"; exec /bin/busybox sh; }
/bin/busybox umount /proc
/bin/busybox umount /dev
exec /bin/busybox switch_root /root /sbin/init
F
chmod 755 "$I/init"
chroot "$R" sh -c 'cd /tmp/vmlive-initrd && find . | cpio -o -H newc -R 0:0 --quiet' > "$R/boot/initrd-vmlive.img"
rm -rf "$I"
