"""32-bit RISC-V: Linux 6.1, OpenSBI fw_payload, static musl userland built by zig cc."""

xlen = 32
kernel = "6.1"
firmware = "opensbi"
kernel_cross = "riscv64-linux-gnu-"
userspace_toolchain = "zig-riscv32-linux-musl"
qemu = "qemu-system-riscv32"
