"""SftpTransport throughput against OpenSSH's own client, both on a local sshd.

    .venv/bin/python -m benchmarks.sftp [--files 1000] [--size 102400] [--target 0.5]

Uploads and downloads N files with ``SftpTransport`` (temp name + rename, existence
checks; downloads size-checked and flushed to disk) and with ``sftp -b`` (plain put/get,
same key and known_hosts), and prints files/s and MB/s for each.  Our download is timed
on the fetcher's own path: ``fetch_batches`` of the listing, ``download_many`` per batch,
each batch flushed (files and folder) before it returns.  Two reference rows are not
compared: the same without the flush, and ``download`` one file at a time (an fsync
each).  Exits 1 if our upload or download rate is below ``--target`` times OpenSSH's.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from outbox.fetcher import fetch_batches  # noqa: E402
from outbox.sftp import SftpSettings, SftpTransport  # noqa: E402
from outbox.transport import RemoteFile  # noqa: E402
from tests.sshd_server import SshdServer, start_sshd, stop_sshd  # noqa: E402


def _make_files(folder: Path, count: int, size: int) -> list[str]:
    folder.mkdir(parents=True)
    names = [f"B{i:06d}.x12" for i in range(count)]
    for name in names:
        (folder / name).write_bytes(os.urandom(size))
    return names


def _clear(folder: Path) -> None:
    for entry in folder.iterdir():
        entry.unlink()


def _openssh_batch(server: SshdServer, commands: list[str], workdir: Path) -> float:
    batch = workdir / "batch.txt"
    batch.write_text("\n".join(commands) + "\n")
    args = [
        "sftp", "-q", "-b", str(batch), "-F", "/dev/null", "-P", str(server.port),
        "-i", str(server.client_key),
        "-o", f"UserKnownHostsFile={server.known_hosts}", "-o", "StrictHostKeyChecking=yes",
        "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
        f"{server.user}@{server.host}",
    ]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def _ours_upload(transport: SftpTransport, src: Path, names: list[str]) -> float:
    started = time.perf_counter()
    for name in names:
        transport.upload(src / name, name)
    return time.perf_counter() - started


def _ours_fetch_path(transport: SftpTransport, dest: Path, listing: list[RemoteFile]) -> float:
    """What ``fetch_files`` asks of the transport: batches, each downloaded and flushed."""
    started = time.perf_counter()
    for batch in fetch_batches(listing):
        got = transport.download_many([remote.name for remote in batch], dest)
        if len(got.done) != len(batch):
            raise SystemExit(f"download failed: {got.failed[:1]}")
    return time.perf_counter() - started


def _ours_one_by_one(transport: SftpTransport, dest: Path, listing: list[RemoteFile]) -> float:
    started = time.perf_counter()
    for remote in listing:
        transport.download(remote.name, dest / remote.name)
    return time.perf_counter() - started


def _row(label: str, count: int, size: int, seconds: float) -> str:
    return f"{label:<28} {count / seconds:9.1f} files/s {count * size / seconds / 1e6:8.1f} MB/s  ({seconds:.2f} s)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--size", type=int, default=100 * 1024)
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds; best time kept")
    parser.add_argument("--target", type=float, default=0.5, help="minimum ratio to sftp -b")
    args = parser.parse_args(argv)

    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

    work = Path(tempfile.mkdtemp(prefix="bhclaims-bench-sftp-"))
    server = start_sshd(work / "sshd")
    try:
        src = work / "src"
        names = _make_files(src, args.files, args.size)
        settings = SftpSettings(**server.settings_kwargs(), op_timeout=120, stable_interval=0.0)  # type: ignore[arg-type]
        no_fsync = dataclasses.replace(settings, fsync_downloads=False)
        for name in names:
            shutil.copyfile(src / name, server.inbound / name)
        with SftpTransport(settings) as transport:
            listing = transport.list_inbound()  # the fetcher lists before it downloads; not timed
        assert [remote.name for remote in listing] == names
        best: dict[str, float] = {}

        def record(label: str, seconds: float) -> None:
            best[label] = min(seconds, best.get(label, seconds))

        for round_no in range(args.repeat):  # interleaved, best of N: the machine is shared
            _clear(server.outbound)
            with SftpTransport(settings) as transport:
                transport.remote_state(names[0])  # log in outside the timing; sftp -b's login is inside
                record("up_ours", _ours_upload(transport, src, names))
            _clear(server.outbound)
            commands = [f"put {src / n} {server.outbound / n}" for n in names]
            record("up_ssh", _openssh_batch(server, commands, work))
            for label, cfg, how in (
                ("down_ours", settings, _ours_fetch_path),
                ("down_nosync", no_fsync, _ours_fetch_path),
                ("down_each", settings, _ours_one_by_one),
            ):
                dest = work / f"{label}-{round_no}"
                dest.mkdir(mode=0o700)
                with SftpTransport(cfg) as transport:
                    transport.remote_state(names[0])
                    record(label, how(transport, dest, listing))
                shutil.rmtree(dest)
            dest = work / f"down-ssh-{round_no}"
            dest.mkdir()
            record(
                "down_ssh",
                _openssh_batch(server, [f"get {server.inbound / n} {dest / n}" for n in names], work),
            )
            shutil.rmtree(dest)
        up_ours, up_ssh = best["up_ours"], best["up_ssh"]
        down_ours, down_nosync, down_ssh = best["down_ours"], best["down_nosync"], best["down_ssh"]
        down_each = best["down_each"]

        n, size = args.files, args.size
        print(f"{n} files of {size} bytes, best of {args.repeat}, sshd {server.host}:{server.port}")
        print(_row("upload   SftpTransport", n, size, up_ours))
        print(_row("upload   sftp -b (put)", n, size, up_ssh))
        print(_row("download SftpTransport", n, size, down_ours))
        print(_row("  reference: no flush", n, size, down_nosync))
        print(_row("  reference: fsync each", n, size, down_each))
        print(_row("download sftp -b (get)", n, size, down_ssh))
        up_ratio, down_ratio = up_ssh / up_ours, down_ssh / down_ours
        print(
            f"ratio to sftp -b: upload {up_ratio:.0%}, download {down_ratio:.0%} (target {args.target:.0%})"
        )
        missed = [what for what, r in (("upload", up_ratio), ("download", down_ratio)) if r < args.target]
        if missed:
            print(f"MISSED target for {', '.join(missed)}", file=sys.stderr)
            return 1
        return 0
    finally:
        stop_sshd(server)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
