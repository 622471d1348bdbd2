"""64-bit RISC-V with Linux 6.12: the rv64 variant on the newer kernel."""

xlen = 64
kernel = "6.12"
firmware = "opensbi"
kernel_cross = "riscv64-linux-gnu-"
userspace_toolchain = "riscv64-linux-gnu"
qemu = "qemu-system-riscv64"
