#!/usr/bin/env bash
# Fake power sensors, to see flopcost's measured power on a machine without a readable
# one (a VM, lavapipe): an amdgpu card's sysfs tree and an `nvidia-smi` that prints
# constant watts. Nothing here is a measurement of any device.
#
#   scripts/fake-sensors.sh DIR [AMD_WATTS] [NVIDIA_WATTS]     (defaults 187.5 and 312.5)
#
# then, for the amdgpu card at PCI 0000:03:00.0:
#   FLOPCOST_SYSFS_ROOT=DIR/sysfs flopcost run --workload small --power-pci 0000:03:00.0
# and for an NVIDIA GPU at any bus id:
#   PATH=DIR/bin:$PATH flopcost run --workload small --power-pci 0000:41:00.0
set -euo pipefail
dir=${1:?usage: scripts/fake-sensors.sh DIR [AMD_WATTS] [NVIDIA_WATTS]}
amd=${2:-187.5}
nv=${3:-312.5}
hw="$dir/sysfs/sys/bus/pci/devices/0000:03:00.0/hwmon/hwmon4"
mkdir -p "$hw" "$dir/bin"
echo amdgpu >"$hw/name"
# hwmon's power1_average is in microwatts.
awk -v w="$amd" 'BEGIN { printf "%d\n", w * 1000000 }' >"$hw/power1_average"
cat >"$dir/bin/nvidia-smi" <<SH
#!/bin/sh
# A fake nvidia-smi: power.draw.instant and power.draw of one GPU, $nv W; loops with -lms.
W=\${FAKE_NVIDIA_WATTS:-$nv}
loop=""
prev=""
for a in "\$@"; do
  case "\$prev" in -lms) loop=\$a ;; esac
  prev=\$a
done
case "\$*" in
  *power.draw.instant,power.draw*) echo "\$W, \$W"; exit 0 ;;
esac
if [ -n "\$loop" ]; then
  while :; do echo "\$W"; sleep 0.02; done
fi
echo "\$W"
SH
chmod +x "$dir/bin/nvidia-smi"
echo "amdgpu sysfs tree: FLOPCOST_SYSFS_ROOT=$dir/sysfs (PCI 0000:03:00.0, $amd W)"
echo "nvidia-smi: PATH=$dir/bin:\$PATH ($nv W)"
