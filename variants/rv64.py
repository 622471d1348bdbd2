"""64-bit RISC-V: Linux 6.1, OpenSBI fw_payload, static glibc userland."""

xlen = 64
kernel = "6.1"
firmware = "opensbi"
kernel_cross = "riscv64-linux-gnu-"
userspace_toolchain = "riscv64-linux-gnu"
qemu = "qemu-system-riscv64"
