"""A real IMAP server for tests and the demo: Debian's Dovecot, configured and started here.

`make mail-deps` installs `dovecot-imapd` (never started as a system service); `Dovecot(root)`
writes a configuration under `root` (inside the project: `var/...`), listening on 127.0.0.1 on a
free port, plaintext (loopback only), Maildir storage under `root`, users in a passwd-file, and
runs its own master process, which `stop()` ends (only that one, by its pid file).

    with Dovecot(Path("var/dovecot-test")) as server:
        server.add_user("pengaduan@lapor.test", "rahasia")
        ... IMAP on 127.0.0.1:server.port

Run as root, mail processes use Debian's `dovecot` system user; otherwise the calling user
(Dovecot's unprivileged mode). `python -m channels.fakes.mailserver` starts the demo mailbox.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

DOVECOT = "dovecot"


def dovecot_binary() -> str | None:
    return shutil.which(DOVECOT) or (
        "/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Dovecot:
    def __init__(self, root: Path, port: int | None = None) -> None:
        binary = dovecot_binary()
        if binary is None:
            raise RuntimeError("dovecot is not installed (make mail-deps)")
        self.binary = binary
        self.root = root.resolve()
        self.port = port or _free_port()
        self.config = self.root / "dovecot.conf"
        self.passwd = self.root / "passwd.d"
        self.mail_root = self.root / "mail"
        self.log = self.root / "dovecot.log"

    def _mail_user(self) -> pwd.struct_passwd:
        if os.geteuid() == 0:
            return pwd.getpwnam("dovecot")
        return pwd.getpwuid(os.geteuid())

    def _write_config(self) -> None:
        user = self._mail_user()
        run = self.root / "run"
        for folder in (run, self.root / "state", self.mail_root):
            folder.mkdir(parents=True, exist_ok=True)
        os.chown(self.mail_root, user.pw_uid, user.pw_gid)
        self.passwd.mkdir(parents=True, exist_ok=True)
        unprivileged = ""
        if os.geteuid() != 0:
            me = user.pw_name
            unprivileged = (
                f"default_internal_user = {me}\ndefault_login_user = {me}\n"
                f"default_internal_group = {user.pw_gid}\n"
            )
        self.config.write_text(
            f"""# Written by channels/fakes/mailserver.py: a throwaway IMAP server on 127.0.0.1.
base_dir = {run}
state_dir = {self.root / "state"}
instance_name = lapor-{self.port}
log_path = {self.log}
listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
{unprivileged}first_valid_uid = {user.pw_uid}
last_valid_uid = {user.pw_uid}
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.passwd}/%u
}}
userdb {{
  driver = static
  args = uid={user.pw_uid} gid={user.pw_gid} home={self.mail_root}/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""
        )

    def add_user(self, name: str, password: str) -> None:
        if ":" in name or ":" in password or "\n" in name + password:
            raise ValueError("user names and passwords may not contain ':' or newlines")
        if "/" in name:
            raise ValueError("user names may not contain '/'")
        # One passwd-file per user: Dovecot caches a passwd-file by its mtime and size, so a
        # user appended to a shared file within the same second could go unseen.
        self.passwd.mkdir(parents=True, exist_ok=True)
        (self.passwd / name).write_text(f"{name}:{{PLAIN}}{password}\n")

    def start(self) -> Dovecot:
        self.stop()
        self._write_config()
        subprocess.run([self.binary, "-c", str(self.config)], check=True)  # noqa: S603
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"dovecot did not listen on 127.0.0.1:{self.port}; see {self.log}")

    def stop(self) -> None:
        """End the master process this configuration started (it ends its children)."""
        pid_file = self.root / "run" / "master.pid"
        if not pid_file.exists():
            return
        try:
            pid = int(pid_file.read_text().strip())
            os.kill(pid, signal.SIGTERM)
        except (ValueError, ProcessLookupError, PermissionError):
            pid_file.unlink(missing_ok=True)
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        pid_file.unlink(missing_ok=True)

    def __enter__(self) -> Dovecot:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def main() -> None:
    """The demo mailbox: Dovecot under var/mailbox with one user, until Ctrl-C."""
    server = Dovecot(Path("var/mailbox"), port=int(os.environ.get("DEMO_IMAP_PORT", "14300")))
    server.start()
    server.add_user("pengaduan@lapor.test", "demo-mailbox")
    print(
        f"IMAP on 127.0.0.1:{server.port}, user pengaduan@lapor.test / demo-mailbox\n"
        f"IMAP_HOST=127.0.0.1 IMAP_PORT={server.port} IMAP_SECURITY=none "
        "IMAP_USER=pengaduan@lapor.test IMAP_PASSWORD=demo-mailbox"
    )
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        sys.exit(0)


if __name__ == "__main__":
    main()
