"""`make test` on a fresh machine: the Chromium/CJK-font check, exercised with PATH and the browser
path overridden (fake `id`, `sudo` and `apt-get`), never by uninstalling anything."""

import os
import shutil
import subprocess
from pathlib import Path

from .conftest import ROOT

SCRIPT = ROOT / ".ci" / "ensure-browser"


def fake_bin(tmp_path: Path, uid: int, sudo: str | None) -> Path:
    """A PATH holding only fakes (and `env`): apt-get logs its arguments and, on install,
    creates the browser binary the way the real package would."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    scripts = {
        "id": f"#!/bin/sh\necho {uid}\n",
        "apt-get": ('#!/bin/sh\necho "apt-get $*" >> "$LOG"\n'
                    'case "$*" in *install*) printf "#!/bin/sh\\n" > "$REGQA_CHROMIUM";'
                    ' /bin/chmod +x "$REGQA_CHROMIUM";; esac\n'),
    }
    if sudo == "works":
        scripts["sudo"] = ('#!/bin/sh\n[ "$1" = -n ] && shift\n[ "$1" = true ] && exit 0\n'
                           'echo "sudo $*" >> "$LOG"\nexec "$@"\n')
    elif sudo == "asks-password":
        scripts["sudo"] = "#!/bin/sh\necho 'sudo: a password is required' >&2\nexit 1\n"
    for name, body in scripts.items():
        (bin_dir / name).write_text(body)
        (bin_dir / name).chmod(0o755)
    os.symlink(shutil.which("env"), bin_dir / "env")
    return bin_dir


def run(tmp_path: Path, uid: int, sudo: str | None, browser_exists: bool = False,
        fonts_exist: bool = True):
    browser = tmp_path / "chromium"
    if browser_exists:
        browser.write_text("#!/bin/sh\n")
        browser.chmod(0o755)
    fonts = tmp_path / "fonts"
    fonts.mkdir()
    if fonts_exist:
        (fonts / "NotoSansCJK-Regular.ttc").write_text("")
    log = tmp_path / "log"
    env = {"PATH": str(fake_bin(tmp_path, uid, sudo)), "REGQA_CHROMIUM": str(browser),
           "REGQA_CJK_FONTS": str(fonts), "LOG": str(log)}
    result = subprocess.run(["/bin/sh", str(SCRIPT)], env=env, capture_output=True, text=True,
                            timeout=30)
    return result, (log.read_text() if log.exists() else ""), browser


def test_nothing_to_do_when_chromium_and_fonts_are_there(tmp_path):
    result, log, _ = run(tmp_path, uid=1000, sudo=None, browser_exists=True)
    assert result.returncode == 0, result.stderr
    assert log == "" and result.stderr == ""


def test_without_root_or_sudo_stops_with_one_line_giving_the_command(tmp_path):
    result, log, _ = run(tmp_path, uid=1000, sudo=None)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "apt-get install -y chromium fonts-noto-cjk" in lines[0]
    assert log == ""  # nothing was attempted


def test_sudo_that_asks_for_a_password_is_not_used(tmp_path):
    result, log, _ = run(tmp_path, uid=1000, sudo="asks-password")
    assert result.returncode != 0
    assert "apt-get install -y chromium fonts-noto-cjk" in result.stderr
    assert "apt-get" not in log


def test_root_installs_chromium_and_cjk_fonts(tmp_path):
    result, log, browser = run(tmp_path, uid=0, sudo=None)
    assert result.returncode == 0, result.stderr
    assert "install -y -qq chromium fonts-noto-cjk" in log
    assert "sudo" not in log
    assert browser.exists()


def test_passwordless_sudo_installs_through_sudo(tmp_path):
    result, log, _ = run(tmp_path, uid=1000, sudo="works")
    assert result.returncode == 0, result.stderr
    assert "sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk" in log


def test_missing_cjk_fonts_alone_triggers_the_install(tmp_path):
    result, log, _ = run(tmp_path, uid=0, sudo=None, browser_exists=True, fonts_exist=False)
    assert result.returncode == 0, result.stderr
    assert "fonts-noto-cjk" in log


def test_make_test_stops_before_the_tests_when_the_browser_is_missing(tmp_path):
    """`make test` runs the check first: with no way to install, it fails with the command and
    never reaches pytest."""
    bin_dir = fake_bin(tmp_path, uid=1000, sudo=None)
    for tool in ("sh", "make"):
        os.symlink(shutil.which(tool), bin_dir / tool)
    fonts = tmp_path / "fonts"
    fonts.mkdir()
    env = {"PATH": str(bin_dir), "REGQA_CHROMIUM": str(tmp_path / "missing"),
           "REGQA_CJK_FONTS": str(fonts), "LOG": str(tmp_path / "log")}
    result = subprocess.run(["make", "-s", "-C", str(ROOT), "test"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0
    assert "run: sudo apt-get update && sudo apt-get install -y chromium fonts-noto-cjk" in result.stderr
    assert "pytest" not in result.stdout + result.stderr


def test_ci_only_calls_make_test():
    commands = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    assert commands[-1] == "exec make test"
    assert not any("apt-get" in line for line in commands)
