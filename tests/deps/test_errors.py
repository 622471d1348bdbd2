"""Bad input from the command line or the host ends in one clear line with the fix."""
import os
import re
import subprocess
import sys


def run(project, *args, env=None):
    return subprocess.run([sys.executable, "-m", "SCons", "-Q", *args, *project.options], cwd=project.path,
                          capture_output=True, text=True, env=env)


def test_unknown_variant_lists_the_variants(project):
    result = run(project, "variant=rv65")
    assert result.returncode == 2
    assert "rvbuild: error: unknown variant 'rv65'; choose one of: rv32, rv64, rv64-linux6.12" in result.stderr


def test_unknown_option_points_at_help(project):
    result = run(project, "kernal=6.12")
    assert result.returncode == 2
    assert "unknown option(s) kernal; `scons -h` lists the options" in result.stderr


def test_missing_cross_compiler_names_its_debian_package(project, tmp_path):
    # A PATH with everything /usr/bin has, except the cross compiler.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in os.listdir("/usr/bin"):
        if name != "riscv64-linux-gnu-gcc":
            os.symlink(f"/usr/bin/{name}", bin_dir / name)
    result = run(project, "image", env=dict(os.environ, PATH=str(bin_dir)))
    assert result.returncode == 2
    assert ("missing host tool riscv64-linux-gnu-gcc: run ./setup, or apt-get install gcc-riscv64-linux-gnu"
            in result.stderr)


def test_boot_takes_one_variant(project):
    result = run(project, "boot", "variant=rv64,rv32")
    assert result.returncode == 2
    assert "boot and ssh take one variant" in result.stderr


def test_unusable_host_key_names_itself_and_the_fix(project):
    key = project.file("build/rv64/ssh/host_ed25519_key")
    original = open(key).read()
    with open(key, "w") as f:
        f.write("not a key\n")
    result = run(project, "image")
    with open(key, "w") as f:
        f.write(original)
    assert result.returncode == 2
    # Whichever of its two readers fails first says so, in its own words between the parentheses.
    assert re.search(r"the host key build/rv64/ssh/host_ed25519_key is unusable \(.*(key|format).*\): "
                     r"fix it, or delete it and its \.pub to have a new one made", result.stderr)
    assert "Traceback" not in result.stderr
    assert run(project, "image").returncode == 0
    assert project.up_to_date()
