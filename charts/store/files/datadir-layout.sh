#!/bin/sh
# MySQL's data directory lives in a subdirectory ("datadir") of its volume: block-storage volumes (ext4)
# carry lost+found at their root, and `mysqld --initialize` refuses a data directory with anything in it.
# Volumes written before this layout hold the data at their root: move it into the subdirectory, once,
# before MySQL starts. Safe to interrupt and run again (it resumes from its staging directory); never
# touches lost+found; does nothing on a volume already laid out.
#   datadir-layout.sh VOLUME_ROOT
set -eu
volume="${1:?usage: datadir-layout.sh VOLUME_ROOT}"
target="$volume/datadir"
staging="$volume/.datadir-moving"

if [ -d "$target" ]; then
  exit 0
fi

if [ -d "$staging" ] || [ -e "$volume/ibdata1" ] || [ -d "$volume/mysql" ] || [ -e "$volume/auto.cnf" ]; then
  echo "datadir-layout: moving the data directory from the volume's root into datadir/"
  mkdir -p "$staging"
  for entry in "$volume"/* "$volume"/.[!.]* "$volume"/..?*; do
    [ -e "$entry" ] || [ -L "$entry" ] || continue
    case "$(basename "$entry")" in
      lost+found|.datadir-moving) continue ;;
    esac
    mv "$entry" "$staging/"
  done
  mv "$staging" "$target"
  echo "datadir-layout: done"
else
  mkdir "$target"
fi
