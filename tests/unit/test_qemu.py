"""QEMU and SSH command lines, checked by the real qemu-system, ssh -G and qemu-img; the
persistent disk made and set aside for real."""

import datetime
import os
import subprocess

import pytest

from rvbuild import qemu

QEMU = "qemu-system-riscv64"


def option(command, name):
    return command[command.index(name) + 1]


def boots_paused(command):
    """Start QEMU paused and leave at once (Ctrl-A X): exit status 0 only if QEMU took every option."""
    result = subprocess.run(command + ["-S"], input=b"\x01x", capture_output=True, timeout=60)
    return result.returncode == 0, result.stderr.decode(errors="replace")


def test_ssh_is_forwarded_from_loopback_only_and_the_guest_reaches_nothing():
    command = qemu.command(QEMU, ["-bios", "fw.elf"], "rootfs.ext4", 2222)
    assert option(command, "-netdev") == "user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:2222-:22"
    assert "virtio-blk-device,drive=hd0" in command and "virtio-rng-device,rng=rng0" in command
    assert "-snapshot" in command
    assert "-snapshot" not in qemu.command("q", [], "r", 1, snapshot=False)


def test_guest_net_lifts_the_restriction_only():
    command = qemu.command(QEMU, [], "rootfs.ext4", 2222, guest_net=True)
    assert option(command, "-netdev") == "user,id=net0,hostfwd=tcp:127.0.0.1:2222-:22"


def test_commas_in_paths_are_doubled_and_qemu_takes_them(tmp_path):
    directory = tmp_path / "check,out"
    directory.mkdir()
    image, log = directory / "rootfs.ext4", directory / "console,log"
    image.write_bytes(bytes(1 << 20))
    command = qemu.command(QEMU, ["-bios", "none"], str(image), 2222, console_log=str(log))
    assert option(command, "-drive").startswith(f"file={tmp_path}/check,,out/rootfs.ext4,format=raw,")
    assert option(command, "-chardev").endswith(f",logfile={tmp_path}/check,,out/console,,log")
    assert boots_paused(command) == (True, "")
    assert log.exists()


def ssh_settings(command):
    """What ssh makes of `command`'s options (ssh -G), as {name: [values]}."""
    result = subprocess.run(["ssh", "-G", *command[1:]], capture_output=True, text=True, check=True)
    settings = {}
    for line in result.stdout.splitlines():
        name, _, value = line.partition(" ")
        settings.setdefault(name, []).append(value)
    return settings


def test_ssh_trusts_only_the_build_host_key_and_offers_only_the_build_key(tmp_path):
    directory = tmp_path / "my project, 100%"
    directory.mkdir()
    key, known_hosts = directory / "id_ed25519", directory / "known_hosts"
    key.touch()
    command = qemu.ssh_command(str(key), str(known_hosts), 2222, "uname")
    assert command[-2:] == ["root@127.0.0.1", "uname"] and command[1:3] == ["-F", "none"]
    settings = ssh_settings(command)
    assert settings["userknownhostsfile"] == [str(known_hosts)]
    assert settings["globalknownhostsfile"] == ["/dev/null"]
    assert settings["hostkeyalias"] == [qemu.HOST_KEY_ALIAS]
    assert settings["stricthostkeychecking"] == ["true"]
    assert settings["identityfile"] == [str(key).replace("%", "%%")]  # ssh expands %% when it loads it
    for name, value in {
        "identitiesonly": "yes",
        "identityagent": "none",
        "forwardagent": "no",
        "batchmode": "yes",
        "updatehostkeys": "false",
        "port": "2222",
        "preferredauthentications": "publickey",
        "user": "root",
    }.items():
        assert settings[name] == [value], name


def test_known_hosts_line_names_the_alias_not_the_port():
    public = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDi2tlVEPpn0 rvbuild\n"
    assert qemu.known_hosts_line(public) == f"{qemu.HOST_KEY_ALIAS} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDi2tlVEPpn0\n"


def write_on_disk(disk, pattern):
    subprocess.run(["qemu-io", "-f", "qcow2", "-c", f"write -P {pattern} 0 4k", disk], check=True, capture_output=True)


def first_byte(raw_image):
    with open(raw_image, "rb") as f:
        return f.read(1)[0]


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "rootfs,1" / "rootfs.ext4"
    path.parent.mkdir()
    path.write_bytes(b"\x01" * (1 << 20))
    return path


def test_persistent_disk_keeps_what_the_guest_wrote_across_boots(image, tmp_path):
    persist = str(tmp_path / "persist")
    overlay, message = qemu.persistent_disk(str(image), persist)
    assert message is None and overlay == f"{persist}/rootfs.qcow2"
    write_on_disk(overlay, "0xab")
    assert qemu.persistent_disk(str(image), persist) == (overlay, None)
    subprocess.run(["qemu-img", "convert", "-O", "raw", overlay, str(tmp_path / "now.raw")], check=True)
    assert first_byte(tmp_path / "now.raw") == 0xAB and first_byte(image) == 0x01
    command = qemu.command(QEMU, ["-bios", "none"], overlay, 2222, snapshot=False, disk_format="qcow2")
    assert boots_paused(command) == (True, "")


def test_rebuilt_image_sets_the_old_disk_aside_whole_and_says_so(image, tmp_path):
    persist = str(tmp_path / "persist")
    overlay, _ = qemu.persistent_disk(str(image), persist)
    write_on_disk(overlay, "0xab")
    image.write_bytes(b"\x02" * (1 << 20))  # the image is rebuilt
    now = datetime.datetime(2024, 5, 6, 7, 8, 9)
    new_overlay, message = qemu.persistent_disk(str(image), persist, now=now)
    old = f"{persist}.20240506-070809.old"
    assert new_overlay == overlay
    assert f"{image} was rebuilt" in message and f"kept in {old}/" in message
    assert sorted(os.listdir(old)) == ["rootfs.base.ext4", "rootfs.base.sha256", "rootfs.qcow2"]
    # The set-aside disk still reads as what the guest wrote over the image it ran on.
    subprocess.run(["qemu-img", "convert", "-O", "raw", f"{old}/rootfs.qcow2", str(tmp_path / "old.raw")], check=True)
    assert first_byte(tmp_path / "old.raw") == 0xAB
    assert os.path.getsize(tmp_path / "old.raw") == 1 << 20
    subprocess.run(["qemu-img", "convert", "-O", "raw", new_overlay, str(tmp_path / "new.raw")], check=True)
    assert first_byte(tmp_path / "new.raw") == 0x02
    # A second rebuild in the same second does not overwrite the first disk set aside.
    image.write_bytes(b"\x03" * (1 << 20))
    _, message = qemu.persistent_disk(str(image), persist, now=now)
    assert f"kept in {persist}.20240506-070809-2.old/" in message and os.path.exists(f"{old}/rootfs.qcow2")
