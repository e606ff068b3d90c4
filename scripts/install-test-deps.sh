#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine: npm packages (only
# when package-lock.json changed since the last install) and Debian packages
# (only the missing ones). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use. chromium: end-to-end tests; openssl: TLS tests;
# age: the reference age CLI that must decrypt our backup files (with util-linux's
# `script`, from bsdutils, to give it a terminal for the passphrase); an NFS
# server in user space for the NFS client's integration tests (nfs-ganesha with
# its VFS backend, and rpcbind, which it registers with) and libnfs' command-line
# client (libnfs-utils: nfs-ls, nfs-cp) that checks that server; for USB drives,
# GPT disk images (gdisk: sgdisk), exFAT (exfatprogs: mkfs.exfat; exfat-fuse
# where the kernel has no exFAT driver), losetup, partx, blkid, mount (util-linux, mount);
# for restore sources over SFTP/SCP, OpenSSH's sshd on loopback (openssh-server) and
# ssh-keygen and the scp program sshd runs for the SCP tests (openssh-client). The tests
# run their own sshd with its own config; on a machine with an init system, installing
# openssh-server also enables Debian's sshd service, which the tests neither use nor need.
# For S3 storage, a single-node Ceph cluster with its S3 gateway on loopback (tests/helpers/ceph-rgw.ts):
# the monitor (ceph-mon), one OSD keeping its objects in memory (ceph-osd), RADOS Gateway (radosgw),
# the `ceph` and `radosgw-admin` tools that register the OSD and create S3 users (ceph-common), and
# s3cmd, the independent S3 client that checks what the console stored. For syslog alerts, Debian's rsyslog with its
# TLS driver (rsyslog-gnutls); the tests run their own rsyslogd with its own config (Debian may enable its unit where there is an init system). Installing them starts no daemon
# where there is no init system; where there is one, Debian may enable ceph's units, which the tests do not use.
DEBS=(chromium openssl age bsdutils nfs-ganesha nfs-ganesha-vfs rpcbind libnfs-utils gdisk exfatprogs exfat-fuse fuse3 util-linux mount openssh-server openssh-client ceph-mon ceph-osd radosgw ceph-common s3cmd rsyslog rsyslog-gnutls)
bash scripts/install-debs.sh "${DEBS[@]}"

stamp=node_modules/.webconf-lock-sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  # npm install with the lock file, not npm ci: the registry this machine reaches lacks some
  # other platforms' optional binaries (e.g. @next/swc-darwin-*), which npm then cannot lock,
  # and npm ci refuses a lock without them. npm install still installs exactly the locked versions.
  echo "Installing npm packages (npm install from package-lock.json)"
  npm install --no-audit --no-fund
  echo "$want" > "$stamp"
fi
